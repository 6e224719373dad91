//! Realistic inputs shared by the cases: a mainnet-sized merkle path and coinbase outputs.

/// Levels of the coinbase's merkle path in a block of about 4 000 transactions.
pub const MERKLE_DEPTH: usize = 12;

/// A merkle path of [`MERKLE_DEPTH`] distinct hashes.
pub fn merkle_path() -> Vec<[u8; 32]> {
    (0..MERKLE_DEPTH).map(|i| core::array::from_fn(|j| (i * 32 + j) as u8 ^ 0xa5)).collect()
}

/// Script of the segwit witness commitment: OP_RETURN, push 36, 0xaa21a9ed and a commitment.
pub fn witness_commitment_script() -> Vec<u8> {
    let mut s = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    s.extend_from_slice(&[0x3c; 32]);
    s
}

/// The witness commitment as one serialized output of value zero (what NewTemplate carries).
pub fn witness_commitment_output() -> Vec<u8> {
    let script = witness_commitment_script();
    let mut out = 0u64.to_le_bytes().to_vec();
    out.push(script.len() as u8);
    out.extend_from_slice(&script);
    out
}

/// A pool's P2WPKH payout script.
pub fn payout_script() -> Vec<u8> {
    let mut s = vec![0x00, 0x14];
    s.extend_from_slice(&[0x77; 20]);
    s
}

/// The coinbase after its extranonce: sequence, a payout and the witness commitment, locktime.
pub fn coinbase_suffix() -> Vec<u8> {
    let mut s = 0xffff_ffffu32.to_le_bytes().to_vec();
    s.push(2);
    s.extend_from_slice(&312_500_000u64.to_le_bytes());
    let payout = payout_script();
    s.push(payout.len() as u8);
    s.extend_from_slice(&payout);
    s.extend_from_slice(&witness_commitment_output());
    s.extend_from_slice(&0u32.to_le_bytes());
    s
}

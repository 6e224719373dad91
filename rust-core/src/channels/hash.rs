//! SHA-256d, merkle roots from a coinbase and its path, and block header hashes.

use sha2::{Digest, Sha256};

/// SHA-256 applied twice (raw digest, internal byte order).
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// The merkle root of a block whose coinbase has txid `coinbase_txid`, folding in `path`
/// (leaf-level sibling first). The coinbase is always the leftmost leaf.
pub fn merkle_root_from_path<'p>(coinbase_txid: [u8; 32], path: impl IntoIterator<Item = &'p [u8; 32]>) -> [u8; 32] {
    let mut buf = [0u8; 64];
    path.into_iter().fold(coinbase_txid, |acc, sibling| {
        buf[..32].copy_from_slice(&acc);
        buf[32..].copy_from_slice(sibling);
        sha256d(&buf)
    })
}

/// The merkle root of a block with this (witness-stripped) coinbase and path.
pub fn merkle_root<'p>(coinbase: &[u8], path: impl IntoIterator<Item = &'p [u8; 32]>) -> [u8; 32] {
    merkle_root_from_path(sha256d(coinbase), path)
}

/// The merkle path of the first leaf (the coinbase) of a tree over `txids` (coinbase txid
/// first): the sibling at each level, leaf level first.
pub fn coinbase_merkle_path(txids: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let mut level: Vec<[u8; 32]> = txids.to_vec();
    let mut path = Vec::new();
    while level.len() > 1 {
        path.push(level[1]);
        level = level
            .chunks(2)
            .map(|pair| {
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(&pair[0]);
                buf[32..].copy_from_slice(pair.get(1).unwrap_or(&pair[0]));
                sha256d(&buf)
            })
            .collect();
    }
    path
}

/// The 80-byte block header.
pub fn header_bytes(
    version: u32,
    prev_hash: &[u8; 32],
    merkle_root: &[u8; 32],
    ntime: u32,
    nbits: u32,
    nonce: u32,
) -> [u8; 80] {
    let mut h = [0u8; 80];
    h[..4].copy_from_slice(&version.to_le_bytes());
    h[4..36].copy_from_slice(prev_hash);
    h[36..68].copy_from_slice(merkle_root);
    h[68..72].copy_from_slice(&ntime.to_le_bytes());
    h[72..76].copy_from_slice(&nbits.to_le_bytes());
    h[76..].copy_from_slice(&nonce.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash as _;

    #[test]
    fn path_reproduces_the_tree_root() {
        for n in 1..10usize {
            let txids: Vec<[u8; 32]> = (0..n).map(|i| sha256d(&[i as u8])).collect();
            let path = coinbase_merkle_path(&txids);
            let expected = bitcoin::merkle_tree::calculate_root(
                txids.iter().map(|t| bitcoin::hashes::sha256d::Hash::from_byte_array(*t)),
            )
            .map(|h| h.to_byte_array());
            assert_eq!(Some(merkle_root_from_path(txids[0], &path)), expected, "{n} leaves");
        }
    }

    #[test]
    fn genesis_header_hash() {
        // Internal byte order (the explorer shows it reversed).
        let merkle = hex_bytes("3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a");
        let h = header_bytes(1, &[0; 32], &merkle, 1_231_006_505, 0x1d00_ffff, 2_083_236_893);
        let mut hash = sha256d(&h);
        hash.reverse();
        assert_eq!(hash, hex_bytes("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"));
    }

    fn hex_bytes(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        out
    }
}

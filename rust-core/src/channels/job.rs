//! Jobs from the Template Distribution Protocol: each NewTemplate becomes one [`Job`] with the
//! pool's payout output and an extranonce hole, and each SetNewPrevHash names the future job
//! that every channel switches to.

use std::collections::VecDeque;
use std::sync::Arc;

use super::coinbase::{serialize_output, CoinbaseSpec};
use super::server::{Job, PrevHash};
use super::ChannelError;
use crate::messages::{CoinbaseOutputConstraints, NewTemplate, SetNewPrevHashTdp};

/// Future templates kept while waiting for their SetNewPrevHash; older ones are dropped.
pub const MAX_FUTURE_TEMPLATES: usize = 16;

/// A job made from a NewTemplate.
#[derive(Debug, Clone)]
pub struct TemplateJob {
    /// The job id every channel gets it under.
    pub job_id: u32,
    /// The job.
    pub job: Arc<Job>,
    /// None: a future job (wait for its SetNewPrevHash); Some: minable now from this nTime.
    pub active_ntime: Option<u32>,
}

/// A new tip: the future job that becomes the one to mine, and the previous hash it is mined
/// on. Every job made before it is stale.
#[derive(Debug, Clone)]
pub struct TipJob {
    /// The job to activate.
    pub job_id: u32,
    /// The job.
    pub job: Arc<Job>,
    /// The tip.
    pub prev: PrevHash,
}

/// Turns templates into jobs for one pool payout script, and tracks which job is current.
///
/// Job ids are unique across all channels for the life of the factory, so one id names one
/// job on every channel and group.
#[derive(Debug)]
pub struct JobFactory {
    payout_output: Vec<u8>,
    payout_script: Vec<u8>,
    tag: Vec<u8>,
    extranonce_len: usize,
    version_rolling: bool,
    next_job_id: u32,
    future: VecDeque<(u64, TemplateJob)>,
    current: Option<TipJob>,
    latest: Option<TemplateJob>,
}

impl JobFactory {
    /// A factory paying every block to `payout_script` (a scriptPubKey), with `tag` pushed in
    /// the coinbase scriptSig and an extranonce hole of `extranonce_len` bytes. Fails when the
    /// tag and extranonce cannot fit in a scriptSig next to a BIP34 height.
    pub fn new(payout_script: &[u8], tag: &[u8], extranonce_len: usize) -> Result<Self, ChannelError> {
        if payout_script.len() > 10_000 {
            return Err(ChannelError::InvalidCoinbaseOutputs);
        }
        // A BIP34 height push takes at most 5 bytes (plus the 8 the template may use).
        let tag_push = if tag.is_empty() { 0 } else { 1 + tag.len() };
        if extranonce_len == 0 || extranonce_len > 32 || tag.len() > 75 || 8 + tag_push + 1 + extranonce_len > 100 {
            return Err(ChannelError::ScriptSigTooLong);
        }
        Ok(JobFactory {
            payout_output: Vec::new(),
            payout_script: payout_script.to_vec(),
            tag: tag.to_vec(),
            extranonce_len,
            version_rolling: true,
            next_job_id: 1,
            future: VecDeque::new(),
            current: None,
            latest: None,
        })
    }

    /// Whether jobs let miners roll the BIP323 version bits (default true; false for a server
    /// that sets REQUIRES_FIXED_VERSION).
    pub fn with_version_rolling(mut self, allowed: bool) -> Self {
        self.version_rolling = allowed;
        self
    }

    /// What to send the template provider: the size and sigops of the payout output.
    pub fn coinbase_output_constraints(&self) -> CoinbaseOutputConstraints {
        let size = serialize_output(0, &self.payout_script).len();
        CoinbaseOutputConstraints {
            coinbase_output_max_additional_size: size as u32,
            coinbase_output_max_additional_sigops: legacy_sigops(&self.payout_script).saturating_mul(4),
        }
    }

    /// Forgets every template and tip (a new template provider session starts over: its
    /// template ids may repeat the old session's). Job ids keep increasing.
    pub fn reset(&mut self) {
        self.future.clear();
        self.current = None;
        self.latest = None;
    }

    /// The job to mine now and its tip, once a SetNewPrevHash has arrived.
    pub fn current(&self) -> Option<&TipJob> {
        self.current.as_ref()
    }

    /// The newest job on the current tip (the activated one, or a later non-future one).
    pub fn latest(&self) -> Option<&TemplateJob> {
        self.latest.as_ref()
    }

    /// Future jobs waiting for their previous hash, oldest first.
    pub fn future_jobs(&self) -> impl Iterator<Item = &TemplateJob> {
        self.future.iter().map(|(_, j)| j)
    }

    /// Makes the job for a NewTemplate. A future template waits for its SetNewPrevHash; any
    /// other is minable at once on the current tip (and fails with
    /// [`ChannelError::NoPrevHash`] before the first tip).
    pub fn on_new_template(&mut self, t: &NewTemplate<'_>) -> Result<TemplateJob, ChannelError> {
        let active_ntime = if t.future_template {
            None
        } else {
            Some(self.current.as_ref().ok_or(ChannelError::NoPrevHash)?.prev.min_ntime)
        };
        self.payout_output = serialize_output(t.coinbase_tx_value_remaining, &self.payout_script);
        let coinbase = CoinbaseSpec {
            version: t.coinbase_tx_version,
            script_prefix: t.coinbase_prefix.as_bytes(),
            tag: &self.tag,
            sequence: t.coinbase_tx_input_sequence,
            pool_outputs: &self.payout_output,
            pool_outputs_count: 1,
            template_outputs: t.coinbase_tx_outputs.as_bytes(),
            template_outputs_count: t.coinbase_tx_outputs_count,
            locktime: t.coinbase_tx_locktime,
            extranonce_len: self.extranonce_len,
        }
        .build()?;
        // Checked once here, so that no channel has to refuse the job later.
        if coinbase.prefix.len() > 0xFFFF || coinbase.suffix.len() > 0xFFFF || t.merkle_path.len() > 0xFF {
            return Err(ChannelError::JobTooLarge);
        }
        let job = Arc::new(Job {
            template_id: Some(t.template_id),
            version: t.version,
            version_rolling_allowed: self.version_rolling,
            coinbase,
            merkle_path: t.merkle_path.to_vec(),
        });
        let job_id = self.next_job_id;
        self.next_job_id = self.next_job_id.wrapping_add(1).max(1);
        let made = TemplateJob { job_id, job, active_ntime };
        if t.future_template {
            // Template ids start over when a template provider restarts: the newest template
            // with an id is the one its SetNewPrevHash will name.
            self.future.retain(|(id, _)| *id != t.template_id);
            self.future.push_back((t.template_id, made.clone()));
            if self.future.len() > MAX_FUTURE_TEMPLATES {
                self.future.pop_front();
            }
        } else {
            self.latest = Some(made.clone());
        }
        Ok(made)
    }

    /// A new tip: the future job made from the named template becomes current, and every
    /// other job (future ones included) is dropped. Fails with [`ChannelError::UnknownJob`]
    /// when no future template with that id is kept.
    pub fn on_set_new_prev_hash(&mut self, p: &SetNewPrevHashTdp) -> Result<TipJob, ChannelError> {
        let pos = self.future.iter().position(|(id, _)| *id == p.template_id).ok_or(ChannelError::UnknownJob)?;
        let (_, made) = self.future.remove(pos).ok_or(ChannelError::UnknownJob)?;
        self.future.clear();
        let prev = PrevHash::from(p);
        let tip = TipJob { job_id: made.job_id, job: made.job.clone(), prev };
        self.latest = Some(TemplateJob { active_ntime: Some(prev.min_ntime), ..made });
        self.current = Some(tip.clone());
        Ok(tip)
    }
}

/// Legacy sigops of a script: 1 per CHECKSIG(VERIFY), 20 per CHECKMULTISIG(VERIFY), counting
/// opcodes only (push data skipped).
fn legacy_sigops(script: &[u8]) -> u16 {
    let mut n: u16 = 0;
    let mut i = 0;
    while let Some(&op) = script.get(i) {
        i += 1;
        let skip = match op {
            0x01..=0x4b => usize::from(op),
            0x4c => script.get(i).map_or(0, |l| 1 + usize::from(*l)),
            0x4d => script.get(i..i + 2).map_or(0, |l| 2 + usize::from(u16::from_le_bytes([l[0], l[1]]))),
            0x4e => script.get(i..i + 4).map_or(0, |l| 4 + u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize),
            0xac | 0xad => {
                n = n.saturating_add(1);
                0
            }
            0xae | 0xaf => {
                n = n.saturating_add(20);
                0
            }
            _ => 0,
        };
        i = i.saturating_add(skip);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Bytes, Seq};

    fn template(id: u64, future: bool) -> NewTemplate<'static> {
        NewTemplate {
            template_id: id,
            future_template: future,
            version: 0x2000_0000,
            coinbase_tx_version: 2,
            coinbase_prefix: Bytes::new(&[0x01, 0x65]).unwrap(),
            coinbase_tx_input_sequence: 0xffff_ffff,
            coinbase_tx_value_remaining: 50_0000_0000,
            coinbase_tx_outputs_count: 0,
            coinbase_tx_outputs: Bytes::EMPTY,
            coinbase_tx_locktime: 0,
            merkle_path: Seq::EMPTY,
        }
    }

    fn prev_hash(template_id: u64) -> SetNewPrevHashTdp {
        SetNewPrevHashTdp {
            template_id,
            prev_hash: [7; 32],
            header_timestamp: 1000,
            nbits: 0x207f_ffff,
            target: [0xff; 32],
        }
    }

    #[test]
    fn future_jobs_wait_for_their_tip_and_later_templates_are_active() {
        let mut f = JobFactory::new(&[0x51], b"pool", 16).unwrap();
        assert_eq!(f.on_new_template(&template(1, false)).unwrap_err(), ChannelError::NoPrevHash);
        let a = f.on_new_template(&template(2, true)).unwrap();
        let b = f.on_new_template(&template(3, true)).unwrap();
        assert_eq!(a.active_ntime, None);
        assert_ne!(a.job_id, b.job_id);
        assert_eq!(f.future_jobs().count(), 2);
        assert_eq!(f.on_set_new_prev_hash(&prev_hash(9)).unwrap_err(), ChannelError::UnknownJob);
        f.on_new_template(&template(4, true)).unwrap();
        let tip = f.on_set_new_prev_hash(&prev_hash(3)).unwrap();
        assert_eq!(tip.job_id, b.job_id);
        assert_eq!(tip.prev.min_ntime, 1000);
        assert_eq!(f.future_jobs().count(), 0);
        let c = f.on_new_template(&template(5, false)).unwrap();
        assert_eq!(c.active_ntime, Some(1000));
        assert_eq!(f.latest().unwrap().job_id, c.job_id);
        assert_eq!(c.job.coinbase.extranonce_len, 16);
        assert_eq!(c.job.template_id, Some(5));
    }

    #[test]
    fn constraints_count_the_payout_output() {
        let p2pkh = [[0x76, 0xa9, 0x14].as_slice(), &[0; 20], &[0x88, 0xac]].concat();
        let f = JobFactory::new(&p2pkh, b"", 8).unwrap();
        let c = f.coinbase_output_constraints();
        assert_eq!(c.coinbase_output_max_additional_size, 8 + 1 + 25);
        assert_eq!(c.coinbase_output_max_additional_sigops, 4);
        assert!(JobFactory::new(&[0x51], &[0; 75], 32).is_err());
        assert!(JobFactory::new(&[0x51], b"", 0).is_err());
    }
}

//! What the farm mines: the farm's templates as they arrive, and the jobs made from them (the
//! declared ones paying the pool, or solo ones paying the farm), published to the devices as
//! one [`JobState`] and kept by id for the shares found on them.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use sv2::channels::coinbase::{serialize_output, CoinbaseSpec};
use sv2::channels::hash::{header_bytes, merkle_root};
use sv2::channels::job::{TemplateJob, TipJob, MAX_FUTURE_TEMPLATES};
use sv2::channels::server::{Job, PrevHash};
use sv2::channels::ChannelError;
use sv2::endpoint::server::JobState;
use sv2::jd::client::CustomJobRequest;
use sv2::jd::server::JdBlock;
use sv2::messages::{NewTemplate, OwnedTemplate};

/// Jobs kept for the shares found on them (each with its template's transactions, up to a
/// block's worth); older ones, and every job of an earlier tip, are forgotten.
const KEPT_JOBS: usize = 16;

/// A NewTemplate kept past its frame, with its transactions once asked for.
#[derive(Debug, Clone)]
pub(super) struct Template {
    pub msg: OwnedTemplate,
    /// The template's transactions in block order (RequestTransactionData).
    pub txs: Option<Arc<Vec<Vec<u8>>>>,
}

impl Template {
    pub fn from_msg(t: &NewTemplate<'_>) -> Self {
        Template { msg: OwnedTemplate::from(t), txs: None }
    }

    /// The job paying everything to `payout` (solo mining), with the farm's `tag`.
    pub fn solo_job(&self, payout: &[u8], tag: &[u8], extranonce_len: usize) -> Result<Job, ChannelError> {
        let output = serialize_output(self.msg.value, payout);
        let coinbase = CoinbaseSpec {
            version: self.msg.coinbase_version,
            script_prefix: &self.msg.prefix,
            tag,
            sequence: self.msg.sequence,
            pool_outputs: &output,
            pool_outputs_count: 1,
            template_outputs: &self.msg.outputs,
            template_outputs_count: self.msg.outputs_count,
            locktime: self.msg.locktime,
            extranonce_len,
        }
        .build()?;
        Ok(Job {
            template_id: Some(self.msg.id),
            version: self.msg.version,
            version_rolling_allowed: true,
            coinbase,
            merkle_path: self.msg.path.clone(),
        })
    }
}

/// The job of a declaration: the coinbase the pool checks, mined as it was declared.
pub(super) fn declared_job(req: &CustomJobRequest) -> Option<Job> {
    Some(Job {
        template_id: Some(req.template_id),
        version: req.version,
        version_rolling_allowed: true,
        coinbase: req.coinbase.parts()?,
        merkle_path: req.merkle_path.clone(),
    })
}

/// The farm's template provider as last heard: future templates, the tip and its template.
#[derive(Debug, Default)]
pub(super) struct Templates {
    future: VecDeque<Template>,
    /// The template to mine now (the tip's, or a later one on the same tip).
    pub current: Option<Template>,
    pub tip: Option<PrevHash>,
}

impl Templates {
    /// A new template provider session: its ids may repeat the last one's.
    pub fn reset(&mut self) {
        *self = Templates::default();
    }

    /// A NewTemplate: future ones wait for their tip; others replace the current template
    /// (true: it needs its transactions).
    pub fn on_template(&mut self, t: Template) -> bool {
        if t.msg.future {
            self.future.retain(|f| f.msg.id != t.msg.id);
            self.future.push_back(t);
            if self.future.len() > MAX_FUTURE_TEMPLATES {
                self.future.pop_front();
            }
            false
        } else if self.tip.is_some() {
            self.current = Some(t);
            true
        } else {
            false
        }
    }

    /// A SetNewPrevHash naming a future template: it becomes current (false: unknown).
    pub fn on_tip(&mut self, template_id: u64, tip: PrevHash) -> bool {
        let Some(pos) = self.future.iter().position(|f| f.msg.id == template_id) else { return false };
        let mut t = self.future.remove(pos).expect("position is in range");
        self.future.clear();
        t.msg.future = false;
        self.current = Some(t);
        self.tip = Some(tip);
        true
    }

    /// The transactions of a template arrived (kept when it is still the current one).
    pub fn on_transactions(&mut self, template_id: u64, txs: Vec<Vec<u8>>) -> bool {
        match &mut self.current {
            Some(t) if t.msg.id == template_id => {
                t.txs = Some(Arc::new(txs));
                true
            }
            _ => false,
        }
    }

    /// The current template once its transactions are known, with the tip.
    pub fn ready(&self) -> Option<(&Template, PrevHash)> {
        let t = self.current.as_ref().filter(|t| t.txs.is_some())?;
        Some((t, self.tip?))
    }
}

/// Who a published job pays.
#[derive(Debug)]
pub(super) enum Payout {
    /// The farm's own payout script (no pool).
    Solo,
    /// The pool's outputs, declared (Full-Template) or built from a token (Coinbase-only).
    Declared {
        /// The pool it was declared to.
        index: usize,
        /// The JD client's declaration id.
        declaration_id: u32,
        /// The job as the pool knows it (SetCustomMiningJob.Success), in the upstream's ids.
        pool_job: Option<u32>,
        /// SetCustomMiningJob refused or never accepted: shares stay at the proxy.
        refused: bool,
    },
}

/// A job devices mine.
#[derive(Debug)]
pub(super) struct MinedJob {
    pub template_id: u64,
    pub job: Arc<Job>,
    pub prev: PrevHash,
    pub txs: Arc<Vec<Vec<u8>>>,
    pub payout: Payout,
}

impl MinedJob {
    /// The block a share meeting the network target makes (`extranonce`: the full one).
    pub fn block(&self, extranonce: &[u8], nonce: u32, ntime: u32, version: u32) -> JdBlock {
        let coinbase = &self.job.coinbase;
        let root = merkle_root(&coinbase.stripped(extranonce), &self.job.merkle_path);
        JdBlock {
            header: header_bytes(version, &self.prev.prev_hash, &root, ntime, self.prev.nbits, nonce),
            coinbase: coinbase.full(extranonce),
            transactions: self.txs.iter().map(|t| Arc::from(&t[..])).collect(),
        }
    }
}

/// The jobs published to devices, by id.
#[derive(Debug)]
pub(super) struct Published {
    jobs: HashMap<u32, MinedJob>,
    order: VecDeque<u32>,
    next_id: u32,
    state: JobState,
}

impl Default for Published {
    fn default() -> Self {
        Published { jobs: HashMap::new(), order: VecDeque::new(), next_id: 1, state: JobState::default() }
    }
}

impl Published {
    /// Adds `job` as the one to mine now; returns its id and the state to publish. A job on
    /// another previous hash than the last one starts a new tip.
    pub fn add(&mut self, job: MinedJob) -> (u32, JobState) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let arc = job.job.clone();
        let new_tip = self.state.tip.as_ref().is_none_or(|t| t.prev.prev_hash != job.prev.prev_hash);
        if new_tip {
            // Shares on an earlier tip's jobs are stale: their jobs (and transactions) go.
            self.jobs.retain(|_, j| j.prev.prev_hash == job.prev.prev_hash);
            self.order.retain(|id| self.jobs.contains_key(id));
            self.state.tip_seq += 1;
            self.state.tip = Some(TipJob { job_id: id, job: arc.clone(), prev: job.prev });
        }
        self.state.latest = Some(TemplateJob { job_id: id, job: arc, active_ntime: Some(job.prev.min_ntime) });
        self.jobs.insert(id, job);
        self.order.push_back(id);
        while self.order.len() > KEPT_JOBS {
            if let Some(old) = self.order.pop_front() {
                self.jobs.remove(&old);
            }
        }
        (id, self.state.clone())
    }

    pub fn get(&self, id: u32) -> Option<&MinedJob> {
        self.jobs.get(&id)
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut MinedJob> {
        self.jobs.get_mut(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(id: u64, future: bool) -> Template {
        let msg = OwnedTemplate {
            id,
            future,
            version: 0x2000_0000,
            coinbase_version: 2,
            prefix: vec![0x01, 0x65],
            sequence: u32::MAX,
            value: 50_0000_0000,
            outputs_count: 0,
            outputs: Vec::new(),
            locktime: 0,
            path: Vec::new(),
        };
        Template { msg, txs: None }
    }

    fn tip(byte: u8) -> PrevHash {
        PrevHash { prev_hash: [byte; 32], nbits: 0x207f_ffff, min_ntime: 1, block_target: [0xff; 32] }
    }

    #[test]
    fn templates_wait_for_their_tip_and_transactions() {
        let mut t = Templates::default();
        assert!(!t.on_template(template(1, false)), "no tip yet");
        assert!(!t.on_template(template(2, true)));
        assert!(!t.on_tip(9, tip(1)), "unknown template");
        assert!(t.on_tip(2, tip(1)));
        assert!(t.ready().is_none(), "transactions not known yet");
        assert!(!t.on_transactions(1, Vec::new()), "not the current template");
        assert!(t.on_transactions(2, vec![vec![1, 2]]));
        let (current, prev) = t.ready().unwrap();
        assert_eq!((current.msg.id, current.msg.future, prev.prev_hash), (2, false, [1; 32]));
        assert!(t.on_template(template(3, false)), "a later template on the tip");
        assert!(t.ready().is_none());
    }

    #[test]
    fn a_new_tip_forgets_the_earlier_tips_jobs() {
        let mut p = Published::default();
        let job = |byte: u8| {
            let t = template(1, false);
            MinedJob {
                template_id: 1,
                job: Arc::new(t.solo_job(&[0x51], b"t", 8).unwrap()),
                prev: tip(byte),
                txs: Arc::default(),
                payout: Payout::Solo,
            }
        };
        let (a, s1) = p.add(job(1));
        let (b, s2) = p.add(job(1));
        assert_eq!(s1.tip_seq, s2.tip_seq, "same tip");
        assert_eq!(s2.latest.as_ref().unwrap().job_id, b);
        assert!(p.get(a).is_some());
        let (c, s3) = p.add(job(2));
        assert_eq!(s3.tip_seq, s2.tip_seq + 1);
        assert_eq!(s3.tip.as_ref().unwrap().job_id, c);
        assert!(p.get(a).is_none() && p.get(b).is_none() && p.get(c).is_some());
        for _ in 0..KEPT_JOBS + 4 {
            p.add(job(2));
        }
        assert!(p.get(c).is_none(), "bounded");
    }
}

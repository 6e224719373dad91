//! The pool side's jobs for C++: the job factory (templates in, jobs out) and the initial
//! target from a nominal hashrate. (The extranonce allocator is the C ABI's, see src/sv2.cpp.)

use std::sync::Arc;

use sv2::channels::job::{JobFactory, TemplateJob as CoreTemplateJob};
use sv2::channels::server::{Job, PrevHash};
use sv2::channels::vardiff::Vardiff;
use sv2::channels::ChannelError;
use sv2::codec::{Bytes, Seq};
use sv2::messages as core;

use crate::bridge::ffi::{
    CoinbaseOutputConstraints, ErrorCode, NewTemplate, OptionU32, SetNewPrevHashTdp, TemplateJob,
};
use crate::error::{guard, Error};

impl From<ChannelError> for Error {
    fn from(e: ChannelError) -> Self {
        let code = match e {
            ChannelError::InvalidCoinbaseOutputs => ErrorCode::InvalidCoinbaseOutputs,
            ChannelError::ScriptSigTooLong => ErrorCode::ScriptSigTooLong,
            ChannelError::ExtranonceLayout => ErrorCode::ExtranonceLayout,
            ChannelError::ExtranonceExhausted => ErrorCode::ExtranonceExhausted,
            ChannelError::ExtranonceMismatch => ErrorCode::ExtranonceMismatch,
            ChannelError::UnknownJob => ErrorCode::UnknownJob,
            ChannelError::NoPrevHash => ErrorCode::NoPrevHash,
            ChannelError::JobTooLarge => ErrorCode::JobTooLarge,
            ChannelError::InvalidHashrate => ErrorCode::InvalidNominalHashrate,
            ChannelError::UnknownChannel => ErrorCode::InvalidChannelId,
            _ => ErrorCode::Internal,
        };
        Error::new(code, e.to_string())
    }
}

/// Turns templates into jobs paying one pool script, and tracks the tip.
pub struct JobFactoryImpl {
    factory: JobFactory,
}

fn template_job(job_id: u32, min_ntime: Option<u32>, new_tip: bool) -> TemplateJob {
    TemplateJob {
        job_id,
        min_ntime: OptionU32 { has_value: min_ntime.is_some(), value: min_ntime.unwrap_or(0) },
        new_tip,
    }
}

/// A factory paying `payout_script`, with `pool_tag` in the scriptSig and an extranonce hole of
/// `extranonce_len` bytes.
pub(crate) fn job_factory_new(
    payout_script: &[u8],
    pool_tag: &[u8],
    extranonce_len: usize,
    version_rolling: bool,
) -> Result<Box<JobFactoryImpl>, Error> {
    guard(|| {
        let f = JobFactory::new(payout_script, pool_tag, extranonce_len)?.with_version_rolling(version_rolling);
        Ok(Box::new(JobFactoryImpl { factory: f }))
    })
}

impl JobFactoryImpl {
    /// The job `job_id`, if the factory still keeps it (the tip's, the newest, or a future one).
    pub(crate) fn job(&self, job_id: u32) -> Result<Arc<Job>, Error> {
        fn made(t: &CoreTemplateJob, job_id: u32) -> Option<&Arc<Job>> {
            (t.job_id == job_id).then_some(&t.job)
        }
        let f = &self.factory;
        f.current()
            .filter(|t| t.job_id == job_id)
            .map(|t| &t.job)
            .or_else(|| f.latest().and_then(|t| made(t, job_id)))
            .or_else(|| f.future_jobs().find_map(|t| made(t, job_id)))
            .cloned()
            .ok_or_else(|| ChannelError::UnknownJob.into())
    }

    /// The current tip's job id and previous hash.
    pub(crate) fn tip(&self) -> Result<(u32, PrevHash), Error> {
        self.factory.current().map(|t| (t.job_id, t.prev)).ok_or_else(|| ChannelError::NoPrevHash.into())
    }

    pub(crate) fn coinbase_output_constraints(&self) -> CoinbaseOutputConstraints {
        let c = self.factory.coinbase_output_constraints();
        CoinbaseOutputConstraints {
            coinbase_output_max_additional_size: c.coinbase_output_max_additional_size,
            coinbase_output_max_additional_sigops: c.coinbase_output_max_additional_sigops,
        }
    }

    pub(crate) fn on_new_template(&mut self, m: &NewTemplate) -> Result<TemplateJob, Error> {
        guard(|| {
            let path: Vec<[u8; 32]> = m.merkle_path.iter().map(|h| h.bytes).collect();
            let t = core::NewTemplate {
                template_id: m.template_id,
                future_template: m.future_template,
                version: m.version,
                coinbase_tx_version: m.coinbase_tx_version,
                coinbase_prefix: Bytes::new(&m.coinbase_prefix)?,
                coinbase_tx_input_sequence: m.coinbase_tx_input_sequence,
                coinbase_tx_value_remaining: m.coinbase_tx_value_remaining,
                coinbase_tx_outputs_count: m.coinbase_tx_outputs_count,
                coinbase_tx_outputs: Bytes::new(&m.coinbase_tx_outputs)?,
                coinbase_tx_locktime: m.coinbase_tx_locktime,
                merkle_path: Seq::new(&path)?,
            };
            let j = self.factory.on_new_template(&t)?;
            Ok(template_job(j.job_id, j.active_ntime, false))
        })
    }

    pub(crate) fn on_set_new_prev_hash(&mut self, m: &SetNewPrevHashTdp) -> Result<TemplateJob, Error> {
        guard(|| {
            let p = core::SetNewPrevHashTdp {
                template_id: m.template_id,
                prev_hash: m.prev_hash,
                header_timestamp: m.header_timestamp,
                nbits: m.nbits,
                target: m.target,
            };
            let tip = self.factory.on_set_new_prev_hash(&p)?;
            Ok(template_job(tip.job_id, Some(tip.prev.min_ntime), true))
        })
    }

    /// Every job a channel opened now needs, in order: the tip's, the newest on the tip if
    /// another, then the future ones.
    pub(crate) fn jobs(&self) -> Vec<TemplateJob> {
        let f = &self.factory;
        let tip = f.current().map(|t| template_job(t.job_id, Some(t.prev.min_ntime), true));
        let latest = f
            .latest()
            .filter(|l| tip.is_some_and(|t| t.job_id != l.job_id))
            .map(|l| template_job(l.job_id, l.active_ntime, false));
        let future = f.future_jobs().map(|j| template_job(j.job_id, None, false));
        tip.into_iter().chain(latest).chain(future).collect()
    }
}

/// The target for `hashrate` h/s to find `shares_per_minute` shares a minute, never easier
/// than `max_target`.
pub(crate) fn target_for_hashrate(
    hashrate: f64,
    shares_per_minute: f64,
    max_target: &[u8; 32],
) -> Result<[u8; 32], Error> {
    guard(|| {
        if !hashrate.is_finite() || hashrate < 0.0 {
            return Err(ChannelError::InvalidHashrate.into());
        }
        if !shares_per_minute.is_finite() || shares_per_minute <= 0.0 {
            return Err(Error::new(ErrorCode::InvalidArgument, "shares per minute must be positive and finite"));
        }
        Ok(Vardiff::new(shares_per_minute, 1, 0).initial_target(hashrate, *max_target))
    })
}

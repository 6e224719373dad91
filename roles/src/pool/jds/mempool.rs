//! The JDS's mempool: the transactions of the pool's own templates, which the pool asks its
//! template provider for (RequestTransactionData) as each template arrives, so it works with
//! either node behind the template provider. A declared transaction the pool's templates
//! never carried is asked of the JDC (ProvideMissingTransactions).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sv2::jd::coinbase::tx_ids;
use sv2::jd::server::{Mempool, MempoolTx};

/// Transactions of the newest template and of the one before (a JDC may declare from a
/// template a little older than the pool's), by wtxid.
#[derive(Debug, Default)]
pub struct TemplateMempool {
    current: HashMap<[u8; 32], MempoolTx>,
    previous: HashMap<[u8; 32], MempoolTx>,
}

/// The mempool shared by the template client (which fills it) and the JD connections.
pub type SharedMempool = Arc<RwLock<TemplateMempool>>;

impl TemplateMempool {
    /// A template's transactions (serialized with witness): they become the current set, the
    /// current one the previous. Bytes that do not parse as one transaction are skipped.
    pub fn replace<'a>(&mut self, transactions: impl Iterator<Item = &'a [u8]>) {
        let mut next = HashMap::new();
        for data in transactions {
            let Some((txid, wtxid)) = tx_ids(data) else { continue };
            // Shared with the previous set when the same transaction is there already.
            let tx = match self.current.get(&wtxid) {
                Some(known) => known.clone(),
                None => MempoolTx { txid, data: Arc::from(data) },
            };
            next.insert(wtxid, tx);
        }
        self.previous = std::mem::replace(&mut self.current, next);
    }

    /// Transactions held (both sets; one in both counts twice).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether no transaction is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Mempool for TemplateMempool {
    fn get(&self, wtxid: &[u8; 32]) -> Option<MempoolTx> {
        self.current.get(wtxid).or_else(|| self.previous.get(wtxid)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(n: u8) -> Vec<u8> {
        // version 1, one input (prevout n:0, empty scriptSig), one output of 0 to OP_TRUE.
        let mut t = vec![1, 0, 0, 0, 1];
        t.extend([n; 32]);
        t.extend([0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1]);
        t.extend([0; 8]);
        t.extend([1, 0x51, 0, 0, 0, 0]);
        t
    }

    #[test]
    fn keeps_two_templates_and_skips_garbage() {
        let mut m = TemplateMempool::default();
        let (a, b, c) = (tx(1), tx(2), tx(3));
        let id = |t: &[u8]| tx_ids(t).unwrap().1;
        m.replace([&a[..], &b[..], &[1, 2, 3][..]].into_iter());
        assert_eq!(m.len(), 2);
        m.replace([&c[..]].into_iter());
        assert!(m.get(&id(&a)).is_some() && m.get(&id(&c)).is_some());
        m.replace(std::iter::empty());
        assert!(m.get(&id(&a)).is_none(), "two templates back is forgotten");
        assert_eq!(m.get(&id(&c)).unwrap().data.as_ref(), &c[..]);
    }
}

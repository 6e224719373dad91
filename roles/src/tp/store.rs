//! Templates handed out, by id: what RequestTransactionData and SubmitSolution look up. Clients
//! whose constraints select the same transactions share one template (and one id).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::template::{BlockTemplate, ServedTemplate};

/// How many tips' worth of templates are kept: a solution for the previous tip may still be
/// a valid (competing) block.
const KEPT_TIPS: usize = 3;
/// Upper bound on templates kept, whatever the tips.
const MAX_TEMPLATES: usize = 4096;
/// Upper bound on source templates kept (each may hold megabytes of transactions on mainnet;
/// fee-driven templates add one every interval).
const MAX_BASES: usize = 16;

/// A template that the manager published: a source template and its sequence number.
#[derive(Debug, Clone)]
pub struct Published {
    /// Increases with each publication.
    pub seq: u64,
    /// The source template.
    pub template: Arc<BlockTemplate>,
}

/// What a template id refers to.
pub enum Lookup {
    /// A template on the current tip.
    Current(Arc<ServedTemplate>),
    /// A template on an older tip, still kept.
    Stale(Arc<ServedTemplate>),
    /// Never issued, or dropped.
    NotFound,
}

/// The store.
pub struct TemplateStore {
    next_id: u64,
    by_id: BTreeMap<u64, Arc<ServedTemplate>>,
    shared: HashMap<(u64, usize), Arc<ServedTemplate>>,
    tips: Vec<[u8; 32]>,
    bases: Vec<Arc<BlockTemplate>>,
}

impl TemplateStore {
    /// An empty store whose ids start at `first_id`.
    pub fn new(first_id: u64) -> Self {
        TemplateStore {
            next_id: first_id.max(1),
            by_id: BTreeMap::new(),
            shared: HashMap::new(),
            tips: Vec::new(),
            bases: Vec::new(),
        }
    }

    /// The served template with the first `tx_count` transactions of `p`, reusing one built
    /// for another client unless its id is not above `after` (ids a client sees must
    /// increase).
    pub fn get_or_build(&mut self, p: &Published, tx_count: usize, after: u64) -> Arc<ServedTemplate> {
        if let Some(t) = self.shared.get(&(p.seq, tx_count)) {
            if t.id > after {
                return t.clone();
            }
        }
        self.note_tip(p.template.prev_hash);
        self.note_base(&p.template);
        let t = Arc::new(ServedTemplate::build(self.next_id, p.template.clone(), tx_count));
        self.next_id += 1;
        self.by_id.insert(t.id, t.clone());
        self.shared.insert((p.seq, tx_count), t.clone());
        while self.by_id.len() > MAX_TEMPLATES {
            self.by_id.pop_first();
        }
        t
    }

    fn note_tip(&mut self, tip: [u8; 32]) {
        if self.tips.last() == Some(&tip) {
            return;
        }
        self.tips.retain(|t| *t != tip);
        self.tips.push(tip);
        if self.tips.len() > KEPT_TIPS {
            self.tips.remove(0);
            let kept = &self.tips;
            self.by_id.retain(|_, t| kept.contains(&t.base.prev_hash));
        }
        // Sharing only matters for the newest publication.
        self.shared.retain(|_, t| t.base.prev_hash == tip);
    }

    fn note_base(&mut self, base: &Arc<BlockTemplate>) {
        if self.bases.iter().any(|b| Arc::ptr_eq(b, base)) {
            return;
        }
        self.bases.push(base.clone());
        if self.bases.len() > MAX_BASES {
            self.bases.remove(0);
            let kept = &self.bases;
            self.by_id.retain(|_, t| kept.iter().any(|b| Arc::ptr_eq(b, &t.base)));
            self.shared.retain(|_, t| kept.iter().any(|b| Arc::ptr_eq(b, &t.base)));
        }
    }

    /// Finds a template; `tip` is the node's current tip.
    pub fn lookup(&self, id: u64, tip: &[u8; 32]) -> Lookup {
        match self.by_id.get(&id) {
            Some(t) if t.base.prev_hash == *tip => Lookup::Current(t.clone()),
            Some(t) => Lookup::Stale(t.clone()),
            None => Lookup::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(seq: u64, tip: u8) -> Published {
        Published {
            seq,
            template: Arc::new(BlockTemplate {
                height: 200,
                prev_hash: [tip; 32],
                version: 0x2000_0000,
                bits: 0x207f_ffff,
                time: 0,
                subsidy: 1,
                txs: Vec::new(),
            }),
        }
    }

    #[test]
    fn shares_ids_and_keeps_them_increasing_per_client() {
        let mut s = TemplateStore::new(100);
        let p = published(1, 1);
        let a = s.get_or_build(&p, 0, 0);
        assert_eq!(a.id, 100);
        assert_eq!(s.get_or_build(&p, 0, 0).id, 100);
        // A client that already saw id 100 gets a fresh one for the same content.
        assert_eq!(s.get_or_build(&p, 0, 100).id, 101);
        assert!(matches!(s.lookup(100, &[1; 32]), Lookup::Current(_)));
        assert!(matches!(s.lookup(100, &[2; 32]), Lookup::Stale(_)));
        assert!(matches!(s.lookup(7, &[1; 32]), Lookup::NotFound));
    }

    #[test]
    fn old_tips_are_forgotten() {
        let mut s = TemplateStore::new(1);
        let first = s.get_or_build(&published(1, 1), 0, 0).id;
        for tip in 2..=4 {
            s.get_or_build(&published(u64::from(tip), tip), 0, 0);
        }
        assert!(matches!(s.lookup(first, &[4; 32]), Lookup::NotFound));
        let second = s.get_or_build(&published(9, 4), 0, 0).id;
        assert!(matches!(s.lookup(second, &[4; 32]), Lookup::Current(_)));
    }

    #[test]
    fn old_source_templates_on_the_same_tip_are_forgotten() {
        let mut s = TemplateStore::new(1);
        let first = s.get_or_build(&published(1, 1), 0, 0).id;
        for seq in 2..=MAX_BASES as u64 {
            s.get_or_build(&published(seq, 1), 0, 0);
        }
        assert!(matches!(s.lookup(first, &[1; 32]), Lookup::Current(_)));
        s.get_or_build(&published(100, 1), 0, 0);
        assert!(matches!(s.lookup(first, &[1; 32]), Lookup::NotFound));
        assert!(matches!(s.lookup(first + 1, &[1; 32]), Lookup::Current(_)));
    }
}

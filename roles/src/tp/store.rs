//! Templates handed out, by id: what RequestTransactionData and SubmitSolution look up. Clients
//! whose constraints select the same transactions share one template (and one id).
//!
//! What is kept, so that no client can make the server forget another client's templates:
//! - each connected client pins the templates it was sent most recently, up to
//!   [`PINNED_PER_CLIENT_PER_TIP`] on each kept tip; another client's traffic never unpins them;
//! - templates no client pins any more (pushed out of their clients' windows, or their
//!   clients left) stay for late solutions until [`MAX_UNPINNED`] newer ones replace them;
//! - only templates on the last [`KEPT_TIPS`] tips, built from the last [`MAX_BASES`] source
//!   templates, are kept at all (the node, not a client, moves these).
//!
//! So at most `clients × KEPT_TIPS × PINNED_PER_CLIENT_PER_TIP + MAX_UNPINNED` templates are
//! kept (48 256 with the default 1000 clients, a few hundred bytes each besides the shared
//! source templates), whatever the clients send.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use super::template::{BlockTemplate, ServedTemplate};

/// How many tips' worth of templates are kept: a solution for the previous tip may still be
/// a valid (competing) block.
const KEPT_TIPS: usize = 3;
/// Upper bound on source templates kept (each may hold megabytes of transactions on mainnet;
/// fee-driven templates add one every interval).
const MAX_BASES: usize = 16;
/// Templates each client pins on each kept tip: its most recent ones. A client that keeps its
/// constraints gets one template per source template, so this covers every kept source
/// template.
pub const PINNED_PER_CLIENT_PER_TIP: usize = MAX_BASES;
/// Templates kept that no client pins, newest first: for a solution that arrives after its
/// client moved on or reconnected.
pub const MAX_UNPINNED: usize = 256;

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

/// A kept template.
struct Entry {
    template: Arc<ServedTemplate>,
    /// Its key in `shared`: (publication, transaction count).
    key: (u64, usize),
    /// How many client windows hold it.
    pins: usize,
}

/// The store.
pub struct TemplateStore {
    next_id: u64,
    by_id: BTreeMap<u64, Entry>,
    /// Kept ids that no window holds; the oldest (smallest) goes first.
    unpinned: BTreeSet<u64>,
    /// Per client: (tip, id) of the templates it was sent, oldest first.
    windows: HashMap<u64, VecDeque<([u8; 32], u64)>>,
    /// The template built for a publication and transaction count, for other clients to reuse.
    shared: HashMap<(u64, usize), u64>,
    tips: Vec<[u8; 32]>,
    bases: Vec<Arc<BlockTemplate>>,
}

impl TemplateStore {
    /// An empty store whose ids start at `first_id`.
    pub fn new(first_id: u64) -> Self {
        TemplateStore {
            next_id: first_id.max(1),
            by_id: BTreeMap::new(),
            unpinned: BTreeSet::new(),
            windows: HashMap::new(),
            shared: HashMap::new(),
            tips: Vec::new(),
            bases: Vec::new(),
        }
    }

    /// The served template with the first `tx_count` transactions of `p` for `client`, reusing
    /// one built for another client unless its id is not above `after` (ids a client sees must
    /// increase). The template is pinned for `client` (see the module docs).
    pub fn get_or_build(&mut self, client: u64, p: &Published, tx_count: usize, after: u64) -> Arc<ServedTemplate> {
        self.note_tip(p.template.prev_hash);
        self.note_base(&p.template);
        let key = (p.seq, tx_count);
        let reuse = self.shared.get(&key).and_then(|id| self.by_id.get(id)).map(|e| e.template.clone());
        let t = match reuse {
            Some(t) if t.id > after => t,
            _ => {
                // Same content under a new id: copy it rather than hash every transaction again
                // (a client changing its constraints back and forth would make us do that).
                let built = match reuse {
                    Some(t) => ServedTemplate { id: self.next_id, ..(*t).clone() },
                    None => ServedTemplate::build(self.next_id, p.template.clone(), tx_count),
                };
                let t = Arc::new(built);
                self.next_id += 1;
                self.by_id.insert(t.id, Entry { template: t.clone(), key, pins: 0 });
                self.shared.insert(key, t.id);
                t
            }
        };
        self.pin(client, &t);
        t
    }

    /// Unpins everything `client` pinned (it disconnected).
    pub fn release(&mut self, client: u64) {
        for (_, id) in self.windows.remove(&client).unwrap_or_default() {
            self.unpin(id);
        }
        self.trim_unpinned();
    }

    /// How many templates are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_id.len()
    }

    fn pin(&mut self, client: u64, t: &ServedTemplate) {
        let tip = t.base.prev_hash;
        if let Some(e) = self.by_id.get_mut(&t.id) {
            e.pins += 1;
            self.unpinned.remove(&t.id);
        }
        let window = self.windows.entry(client).or_default();
        window.push_back((tip, t.id));
        let mut pushed_out = None;
        if window.iter().filter(|(w, _)| *w == tip).count() > PINNED_PER_CLIENT_PER_TIP {
            if let Some(i) = window.iter().position(|(w, _)| *w == tip) {
                pushed_out = window.remove(i).map(|(_, id)| id);
            }
        }
        if let Some(id) = pushed_out {
            self.unpin(id);
            self.trim_unpinned();
        }
    }

    fn unpin(&mut self, id: u64) {
        if let Some(e) = self.by_id.get_mut(&id) {
            e.pins = e.pins.saturating_sub(1);
            if e.pins == 0 {
                self.unpinned.insert(id);
            }
        }
    }

    fn trim_unpinned(&mut self) {
        while self.unpinned.len() > MAX_UNPINNED {
            let Some(id) = self.unpinned.pop_first() else { break };
            if let Some(e) = self.by_id.remove(&id) {
                if self.shared.get(&e.key) == Some(&id) {
                    self.shared.remove(&e.key);
                }
            }
        }
    }

    /// Drops every template `keep` rejects, from every index (the node moved on; clients'
    /// pins do not hold these).
    fn drop_unless(&mut self, keep: impl Fn(&ServedTemplate) -> bool) {
        self.by_id.retain(|_, e| keep(&e.template));
        let by_id = &self.by_id;
        self.unpinned.retain(|id| by_id.contains_key(id));
        self.shared.retain(|_, id| by_id.contains_key(id));
        for window in self.windows.values_mut() {
            window.retain(|(_, id)| by_id.contains_key(id));
        }
    }

    fn note_tip(&mut self, tip: [u8; 32]) {
        if self.tips.last() == Some(&tip) {
            return;
        }
        self.tips.retain(|t| *t != tip);
        self.tips.push(tip);
        if self.tips.len() > KEPT_TIPS {
            self.tips.remove(0);
            let kept = self.tips.clone();
            self.drop_unless(|t| kept.contains(&t.base.prev_hash));
        }
        // Sharing only matters for the newest publication.
        let by_id = &self.by_id;
        self.shared.retain(|_, id| by_id.get(id).is_some_and(|e| e.template.base.prev_hash == tip));
    }

    fn note_base(&mut self, base: &Arc<BlockTemplate>) {
        if self.bases.iter().any(|b| Arc::ptr_eq(b, base)) {
            return;
        }
        self.bases.push(base.clone());
        if self.bases.len() > MAX_BASES {
            self.bases.remove(0);
            let kept = self.bases.clone();
            self.drop_unless(|t| kept.iter().any(|b| Arc::ptr_eq(b, &t.base)));
        }
    }

    /// Finds a template; `tip` is the node's current tip.
    pub fn lookup(&self, id: u64, tip: &[u8; 32]) -> Lookup {
        match self.by_id.get(&id) {
            Some(e) if e.template.base.prev_hash == *tip => Lookup::Current(e.template.clone()),
            Some(e) => Lookup::Stale(e.template.clone()),
            None => Lookup::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::template::TemplateTx;
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
                txs: (0..5u8)
                    .map(|i| TemplateTx {
                        data: vec![i],
                        txid: [i; 32],
                        wtxid: [i; 32],
                        fee: 1,
                        weight: 400,
                        sigops_cost: 0,
                    })
                    .collect(),
            }),
        }
    }

    #[test]
    fn shares_ids_and_keeps_them_increasing_per_client() {
        let mut s = TemplateStore::new(100);
        let p = published(1, 1);
        let a = s.get_or_build(1, &p, 0, 0);
        assert_eq!(a.id, 100);
        assert_eq!(s.get_or_build(1, &p, 0, 0).id, 100);
        // A client that already saw id 100 gets a fresh one for the same content.
        let b = s.get_or_build(1, &p, 0, 100);
        assert_eq!(b.id, 101);
        assert_eq!(
            (b.tx_count, &b.merkle_path, &b.coinbase_outputs),
            (a.tx_count, &a.merkle_path, &a.coinbase_outputs)
        );
        assert!(Arc::ptr_eq(&a.base, &b.base));
        assert!(matches!(s.lookup(100, &[1; 32]), Lookup::Current(_)));
        assert!(matches!(s.lookup(100, &[2; 32]), Lookup::Stale(_)));
        assert!(matches!(s.lookup(7, &[1; 32]), Lookup::NotFound));
    }

    #[test]
    fn old_tips_are_forgotten() {
        let mut s = TemplateStore::new(1);
        let first = s.get_or_build(1, &published(1, 1), 0, 0).id;
        for tip in 2..=4 {
            s.get_or_build(1, &published(u64::from(tip), tip), 0, 0);
        }
        assert!(matches!(s.lookup(first, &[4; 32]), Lookup::NotFound));
        let second = s.get_or_build(1, &published(9, 4), 0, 0).id;
        assert!(matches!(s.lookup(second, &[4; 32]), Lookup::Current(_)));
    }

    #[test]
    fn old_source_templates_on_the_same_tip_are_forgotten() {
        let mut s = TemplateStore::new(1);
        let first = s.get_or_build(1, &published(1, 1), 0, 0).id;
        for seq in 2..=MAX_BASES as u64 {
            s.get_or_build(1, &published(seq, 1), 0, 0);
        }
        assert!(matches!(s.lookup(first, &[1; 32]), Lookup::Current(_)));
        s.get_or_build(1, &published(100, 1), 0, 0);
        assert!(matches!(s.lookup(first, &[1; 32]), Lookup::NotFound));
        assert!(matches!(s.lookup(first + 1, &[1; 32]), Lookup::Current(_)));
    }

    #[test]
    fn churn_by_one_client_keeps_the_others_templates_and_stays_bounded() {
        let mut s = TemplateStore::new(1);
        let (pool, churn) = (1, 2);
        // The pool's templates: one on an older tip, three on the current one.
        let old = s.get_or_build(pool, &published(1, 1), 5, 0).id;
        let p = published(9, 2);
        let mut mine = Vec::new();
        for seq in 2..5 {
            let last = mine.last().copied().unwrap_or(0);
            mine.push(s.get_or_build(pool, &published(seq, 2), 5, last).id);
        }
        // The churner alternates between two transaction counts, far more often than
        // anything is kept.
        let mut last = 0;
        for i in 0..20_000 {
            last = s.get_or_build(churn, &p, i % 2 * 5, last).id;
            assert!(s.len() <= 2 * KEPT_TIPS * PINNED_PER_CLIENT_PER_TIP + MAX_UNPINNED, "{}", s.len());
        }
        assert!(matches!(s.lookup(old, &[2; 32]), Lookup::Stale(_)));
        for id in &mine {
            assert!(matches!(s.lookup(*id, &[2; 32]), Lookup::Current(_)), "{id}");
        }
        // The churner's own latest templates are kept too, its early ones are not.
        assert!(matches!(s.lookup(last, &[2; 32]), Lookup::Current(_)));
        assert!(matches!(s.lookup(mine[2] + 2, &[2; 32]), Lookup::NotFound));
    }

    #[test]
    fn a_client_that_leaves_unpins_its_templates() {
        let mut s = TemplateStore::new(1);
        let p = published(1, 1);
        let first = s.get_or_build(1, &p, 0, 0).id;
        s.release(1);
        // Still there for a late solution, until newer unpinned ones replace it.
        assert!(matches!(s.lookup(first, &[1; 32]), Lookup::Current(_)));
        let mut last = 0;
        for i in 0..=(MAX_UNPINNED + PINNED_PER_CLIENT_PER_TIP) {
            last = s.get_or_build(2, &p, 1 + i % 2, last).id;
        }
        assert!(matches!(s.lookup(first, &[1; 32]), Lookup::NotFound));
        s.release(2);
        assert_eq!(s.len(), MAX_UNPINNED);
        assert!(s.windows.is_empty() && s.unpinned.len() == MAX_UNPINNED);
    }

    #[test]
    fn shared_templates_stay_pinned_while_any_client_holds_them() {
        let mut s = TemplateStore::new(1);
        let p = published(1, 1);
        let a = s.get_or_build(1, &p, 0, 0);
        let b = s.get_or_build(2, &p, 0, 0);
        assert_eq!(a.id, b.id);
        // Client 2 moves on far enough to unpin it; client 1 still holds it.
        let mut last = b.id;
        for i in 0..(MAX_UNPINNED + 2 * PINNED_PER_CLIENT_PER_TIP) {
            last = s.get_or_build(2, &p, 1 + i % 2, last).id;
        }
        assert!(matches!(s.lookup(a.id, &[1; 32]), Lookup::Current(_)));
        // A new client with the same constraints is still given the shared one.
        assert_eq!(s.get_or_build(3, &p, 0, 0).id, a.id);
    }
}

//! Tail merging: identical blocks become one.

use sysfence_exact::store::FastMap;

use super::dead::remove_dead;
use crate::emit::code::{Acc, Body, Code, Exit, Label};

/// Sends every jump to a block identical (same entry assumption, body and
/// exit) to a later one straight to the last copy, and removes the earlier
/// copies, dead now. Keeping the last copy keeps every edge forward (a predecessor of an
/// earlier copy comes before it, hence before the later one), and equal entry
/// assumptions keep invariant 3.
///
/// The blocks are compared from the last one back, each with its exit's
/// targets already sent to their last copies, so blocks that become
/// identical only once their successors are merged (the two ends of
/// identical argument checks) merge in the same call: one call reaches
/// what calling it again until it finds nothing would, where that took a
/// round of every pass per level of such a cascade.
///
/// Deaf to [`remove_dead`]: two blocks the entry reaches are identical or
/// not whatever the unreachable ones are, and a reachable block never jumps
/// to an unreachable one.
pub fn merge_tails(code: &mut Code) -> bool {
    let entry = code.blocks().first().map(|b| b.label);
    let mut last: FastMap<Key, Label> =
        FastMap::with_capacity_and_hasher(code.blocks().len(), Default::default());
    // By label (labels are small numbers): the surviving copy, if any.
    let labels = code.blocks().iter().map(|b| b.label.0 as usize + 1).max();
    let mut redirect: Vec<Option<Label>> = vec![None; labels.unwrap_or(0)];
    let to = |redirect: &[Option<Label>], t: Label| redirect[t.0 as usize].unwrap_or(t);
    let mut merged = false;
    for b in code.blocks().iter().rev() {
        let mut exit = b.exit;
        exit.map_targets(|t| to(&redirect, t));
        let key = (b.entry, b.body, exit);
        match last.get(&key) {
            Some(&copy) => {
                redirect[b.label.0 as usize] = Some(copy);
                merged = true;
            }
            None if Some(b.label) != entry => {
                last.insert(key, b.label);
            }
            None => {}
        }
    }
    if !merged {
        return false;
    }
    let mut changed = false;
    for b in code.blocks_mut() {
        b.exit.map_targets(|t| {
            let copy = to(&redirect, t);
            changed |= copy != t;
            copy
        });
    }
    if changed {
        // The copies left behind: removed here, or every pass would run
        // again after [`remove_dead`] found them.
        remove_dead(code);
    }
    changed
}

/// What makes two blocks interchangeable.
type Key = (Option<Acc>, Body, Exit);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::code::Block;
    use crate::opt::testutil::{code, ret, test};

    /// Merges `blocks` once, which must change them and leave nothing to
    /// merge, and returns where the entry block's exit then leads.
    fn entry_targets_after_one_merge(blocks: Vec<Block>) -> Vec<Label> {
        let mut c = code(blocks);
        assert!(merge_tails(&mut c));
        assert!(!merge_tails(&mut c));
        c.blocks()[0].exit.targets().collect()
    }

    #[test]
    fn copies_jump_to_the_last() {
        let blocks = vec![
            test(0, 0, 1, 1, 2),
            ret(1, 5),
            test(2, 0, 2, 3, 4),
            ret(3, 5),
            ret(4, 6),
        ];
        assert_eq!(entry_targets_after_one_merge(blocks), [Label(3), Label(2)]);
    }

    /// Two copies of a test whose ends are copies too merge in one call.
    #[test]
    fn a_cascade_merges_in_one_call() {
        let blocks = vec![
            test(0, 0, 1, 1, 4),
            test(1, 16, 7, 2, 3),
            ret(2, 5),
            ret(3, 6),
            test(4, 16, 7, 5, 6),
            ret(5, 5),
            ret(6, 6),
        ];
        assert_eq!(entry_targets_after_one_merge(blocks), [Label(4), Label(4)]);
    }
}

//! Tail merging: identical blocks become one.

use sysfence_exact::store::FastMap;

use crate::emit::code::{Acc, Block, Code, Exit, Label, Op};

/// Sends every jump to a block identical (same entry assumption, body and
/// exit) to a later one straight to the last copy; the earlier copies become
/// dead. Keeping the last copy keeps every edge forward (a predecessor of an
/// earlier copy comes before it, hence before the later one), and equal entry
/// assumptions keep invariant 3.
pub fn merge_tails(code: &mut Code) -> bool {
    let mut last: FastMap<Key<'_>, Label> =
        FastMap::with_capacity_and_hasher(code.blocks().len(), Default::default());
    for b in code
        .blocks()
        .iter()
        .filter(|b| b.label != code.blocks()[0].label)
    {
        last.insert(key(b), b.label);
    }
    let redirect: FastMap<Label, Label> = code
        .blocks()
        .iter()
        .filter_map(|b| {
            last.get(&key(b))
                .filter(|&&l| l != b.label)
                .map(|&l| (b.label, l))
        })
        .collect();
    if redirect.is_empty() {
        return false;
    }
    let mut changed = false;
    for b in code.blocks_mut() {
        b.exit.map_targets(|t| match redirect.get(&t) {
            Some(&to) => {
                changed = true;
                to
            }
            None => t,
        });
    }
    changed
}

/// What makes two blocks interchangeable.
type Key<'a> = (Option<Acc>, &'a [Op], Exit);

fn key(b: &Block) -> Key<'_> {
    (b.entry, b.body.as_slice(), b.exit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testutil::{code, ret, test};

    #[test]
    fn copies_jump_to_the_last() {
        let mut c = code(vec![
            test(0, 0, 1, 1, 2),
            ret(1, 5),
            test(2, 0, 2, 3, 4),
            ret(3, 5),
            ret(4, 6),
        ]);
        assert!(merge_tails(&mut c));
        assert_eq!(
            c.blocks()[0].exit.targets().collect::<Vec<_>>(),
            [Label(3), Label(2)]
        );
        assert!(!merge_tails(&mut c));
    }
}

//! Dead code: blocks no path from the entry reaches.

use crate::emit::code::Code;

/// Removes every block the entry cannot reach. Keeps all invariants: removed
/// blocks are not targets of live ones.
///
/// Deaf to [`super::tails::merge_tails`], which removes what its merges
/// leave unreachable itself, and to [`super::loads::drop_redundant_loads`],
/// which changes no edge.
pub fn remove_dead(code: &mut Code) -> bool {
    let pos = code.positions();
    let mut live = vec![false; code.blocks().len()];
    if let Some(first) = live.first_mut() {
        *first = true;
    }
    // Edges go forward, so one pass in layout order sees every predecessor first.
    for i in 0..code.blocks().len() {
        if live[i] {
            for t in code.blocks()[i].exit.targets() {
                live[pos[&t]] = true;
            }
        }
    }
    let before = code.blocks().len();
    let mut keep = live.into_iter();
    code.retain_blocks(|_| keep.next().unwrap_or(false));
    code.blocks().len() != before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testutil::{code, ret, test};

    #[test]
    fn unreachable_blocks_go() {
        let mut c = code(vec![test(0, 0, 1, 2, 3), ret(1, 9), ret(2, 7), ret(3, 8)]);
        assert!(remove_dead(&mut c));
        let labels: Vec<u32> = c.blocks().iter().map(|b| b.label.0).collect();
        assert_eq!(labels, [0, 2, 3]);
        assert!(!remove_dead(&mut c));
    }
}

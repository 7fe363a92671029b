//! Redundant loads: drop `ld` (and `and`) when every predecessor already
//! leaves that value in the accumulator.

use crate::emit::code::{Acc, Code, Op, run_body};

/// Turns a leading `ld [o]` (with its `and #m`) into an entry assumption
/// when every predecessor ends with exactly that accumulator. One forward
/// sweep: a block's exit state does not change when its own loads go, so
/// states computed before and after agree.
pub fn drop_redundant_loads(code: &mut Code) -> bool {
    // The entry accumulator of every block; dropping a load that reloads it
    // leaves the block's exit state unchanged, so one forward walk suffices.
    let mut entries: Vec<Option<Acc>> = Vec::with_capacity(code.blocks().len());
    code.forward_states(|i, meet| {
        let b = &code.blocks()[i];
        let entry = if i == 0 { None } else { b.entry.or(meet) };
        entries.push(entry);
        run_body(entry, &b.body)
    });
    let mut changed = false;
    for (i, entry) in entries.into_iter().enumerate() {
        let Some(e) = entry else { continue };
        let b = code.block_mut(i);
        let drop = match b.body.as_slice() {
            [Op::Load(o), Op::And(m)]
                if e == (Acc {
                    offset: *o,
                    mask: Some(*m),
                }) =>
            {
                2
            }
            [Op::Load(o), ..]
                if e == (Acc {
                    offset: *o,
                    mask: None,
                }) =>
            {
                1
            }
            _ => 0,
        };
        if drop > 0 {
            b.body.drop_front(drop);
            b.entry = Some(e);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opt::testutil::{code, ret, test};

    #[test]
    fn reload_of_the_same_word_goes_but_a_join_keeps_it() {
        let mut c = code(vec![
            test(0, 0, 1, 1, 2),
            test(1, 0, 2, 3, 4),
            test(2, 16, 3, 3, 4),
            test(3, 0, 9, 5, 5),
            ret(4, 1),
            ret(5, 2),
        ]);
        assert!(drop_redundant_loads(&mut c));
        assert!(c.blocks()[1].body.is_empty());
        assert_eq!(
            c.blocks()[1].entry,
            Some(Acc {
                offset: 0,
                mask: None
            })
        );
        // Block 3 is reached with nr (from 1) and with args[0] (from 2).
        assert_eq!(c.blocks()[3].body.as_slice(), [Op::Load(0)]);
        assert!(!drop_redundant_loads(&mut c));
    }
}

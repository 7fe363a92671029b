//! Seccomp return values, actions and the stacking rule.
//!
//! The facts live in [`sysfence_abi::action`]; this module keeps the path
//! `sysfence_cbpf::action` for the instruction-set side and adds what needs
//! the interpreter: a whole stack of filters decided as the kernel does.

pub use sysfence_abi::action::*;

/// What a stack of filters does with one call, as the kernel decides it:
/// calls the kernel lets bypass every filter (`uretprobe` on x86_64, see
/// [`crate::interp::cache::kernel_bypass`]) are allowed; otherwise every
/// filter runs on `data` and the results are [`combine`]d, newest first.
/// `oldest_first` is the order `PTRACE_SECCOMP_GET_FILTER` hands them out.
pub fn decide_stack(
    oldest_first: &[crate::program::Program],
    data: &crate::data::SeccompData,
) -> Action {
    if crate::interp::cache::kernel_bypass(data.arch, data.nr) {
        return Action::Allow;
    }
    Action::from_raw(combine(
        oldest_first
            .iter()
            .rev()
            .map(|p| crate::interp::run(p, data).raw),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SeccompData;
    use crate::insn::Insn;
    use crate::program::Program;

    /// `ld [0]; jeq #nr, 0, 1; ret #hit; ret #ALLOW`.
    fn only(nr: u32, hit: u32) -> Program {
        Program::new(&[
            Insn::new(0x20, 0, 0, 0),
            Insn::new(0x15, 0, 1, nr),
            Insn::new(0x06, 0, 0, hit),
            Insn::new(0x06, 0, 0, 0x7fff_0000),
        ])
        .expect("valid")
    }

    #[test]
    fn stacked_filters_combine_as_the_kernel_does() {
        let x86_64 = 0xc000_003e;
        let call = |nr| SeccompData::new(x86_64, nr);
        // Oldest first: ERRNO(1) on chmod (90), then ERRNO(2) on chmod, then KILL on kill (62).
        let stack = [
            only(90, 0x0005_0001),
            only(90, 0x0005_0002),
            only(62, 0x8000_0000),
        ];
        assert_eq!(
            decide_stack(&stack, &call(90)),
            Action::Errno(2),
            "equal actions: the newest data wins"
        );
        assert_eq!(decide_stack(&stack[..1], &call(90)), Action::Errno(1));
        assert_eq!(decide_stack(&stack, &call(62)), Action::KillProcess);
        assert_eq!(decide_stack(&stack, &call(0)), Action::Allow);
        // uretprobe bypasses every filter on x86_64.
        assert_eq!(decide_stack(&[only(335, 0)], &call(335)), Action::Allow);
    }
}

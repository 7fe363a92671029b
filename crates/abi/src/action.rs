//! Seccomp return values (`include/uapi/linux/seccomp.h`), decoded exactly as
//! `__seccomp_filter` does, and the precedence that combines the results of
//! stacked filters (`seccomp_run_filters`).
//!
//! In: a raw 32-bit return value or an action name. Out: an [`Action`], or
//! the raw value the kernel acts on. Not checked: whether a program can
//! return a value (that is the validator's and the compiler's business).

use core::fmt;

/// `SECCOMP_RET_KILL_PROCESS`.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_KILL_THREAD` (alias `SECCOMP_RET_KILL`).
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
/// `SECCOMP_RET_TRAP`.
pub const RET_TRAP: u32 = 0x0003_0000;
/// `SECCOMP_RET_ERRNO`.
pub const RET_ERRNO: u32 = 0x0005_0000;
/// `SECCOMP_RET_USER_NOTIF`.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_RET_TRACE`.
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_LOG`.
pub const RET_LOG: u32 = 0x7ffc_0000;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_ACTION_FULL`: the action part of a return value.
pub const RET_ACTION_FULL: u32 = 0xffff_0000;
/// `SECCOMP_RET_DATA`: the data part of a return value.
pub const RET_DATA: u32 = 0x0000_ffff;
/// `MAX_ERRNO`: the kernel caps ERRNO data at this value
/// (`__seccomp_filter`: `if (data > MAX_ERRNO) data = MAX_ERRNO`).
pub const MAX_ERRNO: u16 = 4095;

/// What the kernel does with a filter's 32-bit return value.
///
/// Data bits are kept only where the kernel uses them (TRAP, ERRNO, TRACE).
/// A value whose action part is none of the eight known ones is
/// [`Action::Unknown`]; the kernel kills the process for it, but it still
/// takes part in the ordering by its raw value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Kill the whole process (SIGSYS, core dump).
    KillProcess,
    /// Kill the calling thread.
    KillThread,
    /// Send SIGSYS with `si_errno` = data.
    Trap(u16),
    /// Skip the syscall and return `-min(data, 4095)`.
    Errno(u16),
    /// Hand the syscall to the user-space notifier.
    UserNotif,
    /// Notify a ptrace tracer with data as the event message.
    Trace(u16),
    /// Log, then allow.
    Log,
    /// Run the syscall.
    Allow,
    /// An action value the kernel does not know; it kills the process.
    Unknown(u32),
}

impl Action {
    /// Decodes a raw return value as `__seccomp_filter` switches on it.
    pub const fn from_raw(raw: u32) -> Action {
        let data = (raw & RET_DATA) as u16;
        match raw & RET_ACTION_FULL {
            RET_KILL_PROCESS => Action::KillProcess,
            RET_KILL_THREAD => Action::KillThread,
            RET_TRAP => Action::Trap(data),
            RET_ERRNO => Action::Errno(data),
            RET_USER_NOTIF => Action::UserNotif,
            RET_TRACE => Action::Trace(data),
            RET_LOG => Action::Log,
            RET_ALLOW => Action::Allow,
            other => Action::Unknown(other),
        }
    }

    /// The canonical raw value (data 0 where the action carries none).
    pub const fn to_raw(self) -> u32 {
        match self {
            Action::KillProcess => RET_KILL_PROCESS,
            Action::KillThread => RET_KILL_THREAD,
            Action::Trap(d) => RET_TRAP | d as u32,
            Action::Errno(d) => RET_ERRNO | d as u32,
            Action::UserNotif => RET_USER_NOTIF,
            Action::Trace(d) => RET_TRACE | d as u32,
            Action::Log => RET_LOG,
            Action::Allow => RET_ALLOW,
            Action::Unknown(v) => v,
        }
    }

    /// Whether the syscall goes ahead (ALLOW or LOG).
    pub const fn runs_syscall(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }

    /// Whether the result kills (KILL_*, or an unknown action).
    pub const fn kills(self) -> bool {
        matches!(
            self,
            Action::KillProcess | Action::KillThread | Action::Unknown(_)
        )
    }

    /// Parses the names [`fmt::Display`] prints: `ALLOW`, `ERRNO(1)`,
    /// `KILL_PROCESS`, ..., in any case and with an optional `SECCOMP_RET_`
    /// prefix. Data that does not fit in 16 bits is refused.
    pub fn parse(text: &str) -> Option<Action> {
        let text = text.trim();
        let (name, data) = match text.split_once('(') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix(')')?.trim();
                let value = parse_u32(inner)?;
                (name.trim(), Some(u16::try_from(value).ok()?))
            }
            None => (text, None),
        };
        let name = strip_prefix_ignore_case(name, "SECCOMP_RET_");
        let is = |want: &str| name.eq_ignore_ascii_case(want);
        let action = match data {
            _ if is("TRAP") => Action::Trap(data.unwrap_or(0)),
            _ if is("ERRNO") => Action::Errno(data.unwrap_or(0)),
            _ if is("TRACE") => Action::Trace(data.unwrap_or(0)),
            Some(_) => return None,
            None if is("KILL_PROCESS") => Action::KillProcess,
            None if is("KILL_THREAD") || is("KILL") => Action::KillThread,
            None if is("USER_NOTIF") => Action::UserNotif,
            None if is("LOG") => Action::Log,
            None if is("ALLOW") => Action::Allow,
            None => return None,
        };
        Some(action)
    }

    /// Where this action stands in the kernel's precedence: lower wins when
    /// stacked filters disagree (see [`combine`]).
    pub const fn precedence(self) -> i32 {
        precedence(self.to_raw())
    }
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> &'t str {
    match text.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &text[prefix.len()..],
        _ => text,
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::KillProcess => f.write_str("KILL_PROCESS"),
            Action::KillThread => f.write_str("KILL_THREAD"),
            Action::Trap(d) => write!(f, "TRAP({d})"),
            Action::Errno(d) => write!(f, "ERRNO({d})"),
            Action::UserNotif => f.write_str("USER_NOTIF"),
            Action::Trace(d) => write!(f, "TRACE({d})"),
            Action::Log => f.write_str("LOG"),
            Action::Allow => f.write_str("ALLOW"),
            Action::Unknown(v) => write!(f, "UNKNOWN({v:#010x})"),
        }
    }
}

/// The precedence of a raw return value: its action part as a signed 32-bit
/// number, lower winning (`seccomp_run_filters`). KILL_PROCESS (negative)
/// beats everything; an unknown action ranks by its raw value.
pub const fn precedence(raw: u32) -> i32 {
    (raw & RET_ACTION_FULL) as i32
}

/// Combines the raw results of stacked filters as `seccomp_run_filters` does.
///
/// `newest_first` yields each filter's return value, newest filter first. The
/// running result starts at ALLOW and is replaced only by a value whose action
/// part is strictly lower as a signed 32-bit number, so the lowest action wins
/// and on a tie the newest filter's data is kept.
pub fn combine(newest_first: impl IntoIterator<Item = u32>) -> u32 {
    newest_first.into_iter().fold(RET_ALLOW, |cur, r| {
        if precedence(r) < precedence(cur) {
            r
        } else {
            cur
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn decode_known_and_unknown() {
        assert_eq!(Action::from_raw(0x0005_0001), Action::Errno(1));
        assert_eq!(Action::from_raw(0x7fff_0055), Action::Allow);
        assert_eq!(Action::from_raw(0x8000_0000), Action::KillProcess);
        assert_eq!(Action::from_raw(0), Action::KillThread);
        for raw in [0x0001_0000, 0x0004_0000, 0x7ffe_0000, 0xffff_0000] {
            assert!(Action::from_raw(raw).kills(), "{raw:#x}");
        }
    }

    #[test]
    fn display_and_parse_round_trip() {
        for a in [
            Action::KillProcess,
            Action::KillThread,
            Action::Trap(3),
            Action::Errno(1),
            Action::UserNotif,
            Action::Trace(7),
            Action::Log,
            Action::Allow,
        ] {
            assert_eq!(Action::parse(&a.to_string()), Some(a));
            assert_eq!(Action::from_raw(a.to_raw()), a);
        }
        assert_eq!(Action::parse("SECCOMP_RET_KILL"), Some(Action::KillThread));
        assert_eq!(Action::parse("ERRNO(65536)"), None);
        assert_eq!(
            Action::parse("seccomp_ret_errno(0x26)"),
            Some(Action::Errno(38))
        );
        assert_eq!(Action::parse("ALLOW(1)"), None);
        assert_eq!(Action::parse("SECCOMP_RET_"), None);
    }

    #[test]
    fn precedence_follows_the_kernel_order() {
        let order = [
            Action::KillProcess,
            Action::KillThread,
            Action::Trap(9),
            Action::Errno(9),
            Action::UserNotif,
            Action::Trace(9),
            Action::Log,
            Action::Allow,
        ];
        for w in order.windows(2) {
            assert!(w[0].precedence() < w[1].precedence(), "{} {}", w[0], w[1]);
        }
    }

    #[test]
    fn stacking_lowest_wins_newest_data_on_tie() {
        // Newest first: newer ERRNO(2) over older ERRNO(1) -> 2.
        assert_eq!(combine([RET_ERRNO | 2, RET_ERRNO | 1]), RET_ERRNO | 2);
        assert_eq!(combine([RET_ERRNO | 1, RET_ERRNO | 2]), RET_ERRNO | 1);
        assert_eq!(combine([RET_ERRNO | 1, RET_TRAP]), RET_TRAP);
        assert_eq!(combine([RET_ALLOW | 5]), RET_ALLOW);
        assert_eq!(combine([0x0001_0000, RET_ERRNO]), 0x0001_0000);
        assert_eq!(combine([0x7ffe_0000, RET_ERRNO]), RET_ERRNO);
        assert_eq!(
            combine([RET_KILL_PROCESS, RET_KILL_THREAD]),
            RET_KILL_PROCESS
        );
    }
}

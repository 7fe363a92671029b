//! Reading kernel audit records of seccomp events (`type=SECCOMP` or
//! `type=1326`, as `SCMP_ACT_LOG` and killed calls produce them, from
//! `/var/log/audit/audit.log`, `dmesg` or `journalctl -k`).
//!
//! In: the log text and a [`Select`] (`pid=`, `comm=`, and whether to
//! drop sysfence's own records). Out: an [`AuditLog`]: a [`Trace`] with
//! one count per record, keyed by its `arch=` (hex AUDIT_ARCH) and
//! `syscall=` (decimal) fields, and what says the log may be incomplete:
//! records the kernel's rate limit dropped (`N callbacks suppressed`,
//! `audit_lost=`, `rate limit exceeded`) and jumps in the audit serial
//! numbers (`audit(TIME:SERIAL)`; other audit events also take serials, so
//! a jump is a hint, not a proof).
//!
//! sysfence's own records (`comm="sysfence"`, made by `sysfence run`
//! between installing a LOG filter and `execve`) are left out, except the
//! `execve` itself, which starts the target.

use sysfence_cbpf::data::{AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};

use crate::record::Trace;

/// Which records to keep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Select {
    /// Only records with this `pid=`.
    pub pid: Option<u32>,
    /// Only records with this `comm=` (quotes left out).
    pub comm: Option<String>,
}

/// What a log held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditLog {
    /// The calls kept.
    pub trace: Trace,
    /// Seccomp records without `arch=` or `syscall=`.
    pub malformed: usize,
    /// Records left out by [`Select`] or as sysfence's own.
    pub left_out: usize,
    /// Messages the kernel says it dropped (`callbacks suppressed` counts);
    /// `Some(0)` when it says so without a count.
    pub suppressed: Option<u64>,
    /// How many times the serial number jumps by more than one.
    pub serial_gaps: usize,
}

impl AuditLog {
    /// Whether the log may be missing records.
    pub fn may_be_incomplete(&self) -> bool {
        self.suppressed.is_some()
    }
}

/// The value of `key=` in a record (`"..."` quotes removed).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .map(|v| v.trim_matches('"'))
}

/// The `comm=` of a record: quoted as is, or hex-encoded as the kernel
/// writes a name holding a space, a quote or a control character
/// (`audit_log_untrustedstring`).
fn comm(line: &str) -> Option<String> {
    let raw = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("comm="))?;
    if let Some(quoted) = raw.strip_prefix('"') {
        return Some(quoted.strip_suffix('"').unwrap_or(quoted).to_string());
    }
    let hex = raw.len() % 2 == 0 && !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex {
        return Some(raw.to_string());
    }
    let bytes: Vec<u8> = (0..raw.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&raw[i..i + 2], 16).ok())
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `SERIAL` of `audit(TIME:SERIAL)`.
fn serial(line: &str) -> Option<u64> {
    let (_, rest) = line.split_once("audit(")?;
    let (stamp, _) = rest.split_once(')')?;
    stamp.rsplit_once(':')?.1.parse().ok()
}

/// The kernel's word that messages were dropped, with the count if given.
fn dropped(line: &str) -> Option<u64> {
    if let Some((before, _)) = line.split_once(" callbacks suppressed") {
        return Some(
            before
                .rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        );
    }
    let lost = field(line, "audit_lost=").is_some_and(|v| v != "0");
    (lost || line.contains("rate limit exceeded")).then_some(0)
}

/// Reads a log; see the module docs.
pub fn read(text: &str, select: &Select) -> AuditLog {
    let mut log = AuditLog::default();
    let mut last_serial = None;
    for line in text.lines() {
        if let Some(n) = dropped(line) {
            *log.suppressed.get_or_insert(0) += n;
        }
        if !(line.contains("type=SECCOMP") || line.contains("type=1326")) {
            continue;
        }
        if let Some(s) = serial(line) {
            if last_serial.is_some_and(|l: u64| s > l + 1) {
                log.serial_gaps += 1;
            }
            last_serial = Some(s);
        }
        add(&mut log, line, select);
    }
    log
}

/// Counts one seccomp record, unless `select` or the own-record rule
/// leaves it out.
fn add(log: &mut AuditLog, line: &str, select: &Select) {
    let arch = field(line, "arch=").and_then(|v| u32::from_str_radix(v, 16).ok());
    let nr = field(line, "syscall=").and_then(|v| v.parse::<i64>().ok());
    let (Some(arch), Some(nr)) = (arch, nr) else {
        log.malformed += 1;
        return;
    };
    let pid = field(line, "pid=").and_then(|v| v.parse::<u32>().ok());
    let comm = comm(line);
    let wanted = select.pid.is_none_or(|p| pid == Some(p))
        && select
            .comm
            .as_deref()
            .is_none_or(|c| comm.as_deref() == Some(c));
    let own = comm.as_deref() == Some("sysfence") && !is_execve(arch, nr as u32);
    if wanted && !own {
        log.trace.add(arch, nr as u32, 1);
    } else {
        log.left_out += 1;
    }
}

/// `execve` or `execveat` on the arches sysfence runs on.
fn is_execve(arch: u32, nr: u32) -> bool {
    matches!(
        (arch, nr),
        (AUDIT_ARCH_X86_64, 59 | 322)
            | (AUDIT_ARCH_I386, 11 | 358)
            | (AUDIT_ARCH_AARCH64, 221 | 281)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_comm_is_decoded() {
        let line = "type=SECCOMP msg=audit(1.3:46): pid=80 comm=6C73206C73 arch=c000003e syscall=60 code=0x7ffc0000";
        assert_eq!(comm(line).as_deref(), Some("ls ls"));
        let quoted =
            "type=SECCOMP msg=audit(1.3:46): pid=80 comm=\"cafe\" arch=c000003e syscall=60";
        assert_eq!(comm(quoted).as_deref(), Some("cafe"));
        let select = Select {
            comm: Some("ls ls".into()),
            ..Select::default()
        };
        assert!(!read(line, &select).trace.is_empty());
    }

    const LOG: &str = r#"[  1.0] audit: type=1326 audit(1700000000.100:10): auid=0 uid=0 ses=1 pid=7 comm="sysfence" exe="/usr/bin/sysfence" sig=0 arch=c000003e syscall=1 compat=0 ip=0x1 code=0x7ffc0000
[  1.0] audit: type=1326 audit(1700000000.100:11): auid=0 uid=0 ses=1 pid=7 comm="sysfence" exe="/usr/bin/sysfence" sig=0 arch=c000003e syscall=59 compat=0 ip=0x1 code=0x7ffc0000
[  1.1] audit: type=1326 audit(1700000000.200:12): auid=0 uid=0 ses=1 pid=7 comm="python3" exe="/usr/bin/python3" sig=0 arch=c000003e syscall=39 compat=0 ip=0x1 code=0x7ffc0000
[  1.2] kauditd_printk_skb: 12 callbacks suppressed
[  1.3] audit: type=1326 audit(1700000000.300:30): auid=0 uid=0 ses=1 pid=8 comm="other" exe="/bin/other" sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000
"#;

    #[test]
    fn own_records_but_the_exec_are_left_out_and_loss_is_seen() {
        let log = read(LOG, &Select::default());
        assert_eq!(
            log.trace.count(0xc000_003e, 59),
            1,
            "the exec of the target"
        );
        assert_eq!(log.trace.count(0xc000_003e, 1), 0, "sysfence's own write");
        assert_eq!(log.trace.count(0xc000_003e, 39), 1);
        assert_eq!(log.left_out, 1);
        assert_eq!(log.suppressed, Some(12));
        assert_eq!(log.serial_gaps, 1);
        assert!(log.may_be_incomplete());
    }

    #[test]
    fn pid_and_comm_select_records() {
        let by_pid = read(
            LOG,
            &Select {
                pid: Some(8),
                comm: None,
            },
        );
        assert_eq!(by_pid.trace.total(), 1);
        let by_comm = read(
            LOG,
            &Select {
                pid: None,
                comm: Some("python3".into()),
            },
        );
        assert_eq!(by_comm.trace.count(0xc000_003e, 39), 1);
        assert_eq!(by_comm.trace.total(), 1);
    }
}

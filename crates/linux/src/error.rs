//! The one error type of this crate.

use core::fmt;

/// Why a kernel operation or an oracle query failed.
///
/// The kind is private; callers ask the questions they need answered:
/// [`Error::is_unavailable`] (skip a test), [`Error::errno`] (what the kernel
/// said), and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Not Linux on x86_64 (or not Linux, for the installer).
    Unsupported(&'static str),
    /// The host cannot run the oracle: no seccomp, or filters already stacked.
    Unavailable(String),
    /// A system call failed with this errno.
    Sys { call: &'static str, errno: i32 },
    /// The program is too long to be probed (or to be passed to the kernel).
    TooLong { len: usize, limit: usize },
    /// An input cannot be reproduced by a real syscall.
    Input { index: usize, reason: String },
    /// The kernel rejected the (rewritten) program the oracle loaded.
    Rejected { errno: i32 },
    /// The probe process did something the oracle cannot explain.
    Probe(String),
}

impl Error {
    #[cold]
    pub(crate) fn unsupported(what: &'static str) -> Error {
        Error {
            kind: Kind::Unsupported(what),
        }
    }

    #[cold]
    pub(crate) fn unavailable(reason: impl Into<String>) -> Error {
        Error {
            kind: Kind::Unavailable(reason.into()),
        }
    }

    #[cold]
    pub(crate) fn sys(call: &'static str, errno: i32) -> Error {
        Error {
            kind: Kind::Sys { call, errno },
        }
    }

    /// The failure of `call`, with the errno left by the last libc call.
    #[cold]
    pub(crate) fn last_os(call: &'static str) -> Error {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        Error::sys(call, errno)
    }

    #[cold]
    pub(crate) fn too_long(len: usize, limit: usize) -> Error {
        Error {
            kind: Kind::TooLong { len, limit },
        }
    }

    #[cold]
    pub(crate) fn input(index: usize, reason: impl Into<String>) -> Error {
        Error {
            kind: Kind::Input {
                index,
                reason: reason.into(),
            },
        }
    }

    #[cold]
    pub(crate) fn rejected(errno: i32) -> Error {
        Error {
            kind: Kind::Rejected { errno },
        }
    }

    #[cold]
    pub(crate) fn probe(what: impl Into<String>) -> Error {
        Error {
            kind: Kind::Probe(what.into()),
        }
    }

    /// Whether the platform has no support at all (not Linux, or not x86_64
    /// for the oracle).
    pub fn is_unsupported(&self) -> bool {
        matches!(self.kind, Kind::Unsupported(_))
    }

    /// Whether the oracle cannot run here: unsupported platform, no seccomp
    /// in the kernel, or seccomp filters already applied to this process.
    /// Tests skip (with this error's message) when this is `true`.
    pub fn is_unavailable(&self) -> bool {
        matches!(self.kind, Kind::Unsupported(_) | Kind::Unavailable(_))
    }

    /// The errno the kernel returned, for failed calls and rejected programs.
    pub fn errno(&self) -> Option<i32> {
        match self.kind {
            Kind::Sys { errno, .. } | Kind::Rejected { errno } => Some(errno),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Unsupported(what) => write!(f, "{what} is only supported on Linux x86_64"),
            Kind::Unavailable(reason) => write!(f, "live kernel oracle unavailable: {reason}"),
            Kind::Sys { call, errno } => {
                write!(
                    f,
                    "{call} failed: {} (errno {errno})",
                    std::io::Error::from_raw_os_error(*errno)
                )
            }
            Kind::TooLong { len, limit } => {
                write!(
                    f,
                    "program of {len} instructions is too long here (limit {limit})"
                )
            }
            Kind::Input { index, reason } => write!(f, "input {index} cannot be probed: {reason}"),
            Kind::Rejected { errno } => write!(
                f,
                "the kernel rejected the probe filter: {} (errno {errno})",
                std::io::Error::from_raw_os_error(*errno)
            ),
            Kind::Probe(what) => write!(f, "probe process failed: {what}"),
        }
    }
}

impl std::error::Error for Error {}

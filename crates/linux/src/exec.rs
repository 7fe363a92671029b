//! Replacing the calling process by a command under a filter, with nothing
//! between the install and `execve` that the filter could deny.
//!
//! In: an [`Exec`] (path, argv and environment, turned into C strings
//! before anything is installed), raw instructions and [`Flags`]. Steps:
//! `no_new_privs`, `seccomp(SECCOMP_SET_MODE_FILTER)`, then the raw
//! `execve` system call. Out: nothing when `execve` succeeds (the command
//! runs in place of the caller, same pid, stdio and environment); an
//! [`InstallError`] when the filter could not be installed (nothing is
//! installed then, so the caller may report it).
//!
//! Once the filter is in place the only calls made are `execve` and, when
//! it fails, `exit_group` with the status `env` and `docker run` use: 127
//! when the file is missing (`ENOENT`), 126 for any other failure (not
//! executable, or `execve` denied by the filter). No message is written,
//! no memory is freed: the filter may deny `write`, `munmap` or anything
//! else, and the exit status is the only report. A filter that also denies
//! `exit_group` ends the process with the kernel's answer (a signal).

#![allow(unsafe_code)]

use std::ffi::{CString, OsStr, OsString, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use sysfence_cbpf::Insn;

use crate::threads::{Flags, InstallError, install, set_no_new_privs};

/// Exit status when `execve` fails with `ENOENT`.
pub const EXIT_NOT_FOUND: i32 = 127;
/// Exit status for every other `execve` failure.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;

/// The arguments of `execve`, prepared in advance: the strings and the
/// NULL-terminated pointer arrays into them, so that the words `execve` is
/// called with are known before anything is installed
/// ([`Exec::call_args`]). The strings' buffers live on the heap and do not
/// move with the struct.
#[derive(Debug)]
pub struct Exec {
    path: CString,
    /// Owns the strings `argv_ptrs` points into.
    _argv: Vec<CString>,
    /// Owns the strings `envp_ptrs` points into.
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    envp_ptrs: Vec<*const c_char>,
}

impl Exec {
    /// `path` run with `arg0` and `args`, in the caller's environment.
    /// Fails when a string holds a NUL byte.
    pub fn new(path: &Path, arg0: &OsStr, args: &[OsString]) -> Result<Exec, String> {
        let c =
            |s: &OsStr| CString::new(s.as_bytes()).map_err(|_| format!("{:?} holds a NUL byte", s));
        let argv = std::iter::once(arg0)
            .chain(args.iter().map(OsString::as_os_str))
            .map(c)
            .collect::<Result<Vec<_>, _>>()?;
        let envp = std::env::vars_os()
            .map(|(k, v)| {
                let mut pair = k;
                pair.push("=");
                pair.push(v);
                c(&pair)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (argv_ptrs, envp_ptrs) = (pointers(&argv), pointers(&envp));
        Ok(Exec {
            path: c(path.as_os_str())?,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
        })
    }

    /// The six argument words of the `execve` call [`exec_confined`]
    /// makes: the path, argv and envp pointers, then zeros.
    pub fn call_args(&self) -> [u64; 6] {
        [
            self.path.as_ptr() as u64,
            self.argv_ptrs.as_ptr() as u64,
            self.envp_ptrs.as_ptr() as u64,
            0,
            0,
            0,
        ]
    }
}

/// NULL-terminated pointer arrays into `strings`.
fn pointers(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Sets `no_new_privs`, installs `insns` and executes `exec`. Returns only
/// when the filter could not be installed; see the module docs for what
/// happens when `execve` fails afterwards.
pub fn exec_confined(exec: &Exec, insns: &[Insn], flags: Flags) -> InstallError {
    if let Err(e) = set_no_new_privs().and_then(|()| install(insns, flags)) {
        return e;
    }
    let [path, argv, envp, ..] = exec.call_args();
    // SAFETY: every pointer refers to a NUL-terminated string owned by
    // `exec`, and both arrays end with NULL, all alive for the call.
    // `libc::syscall` makes exactly the one system call (errno is a
    // thread-local write, not a call). The three unused argument words are
    // passed as 0, as `call_args` says, so a filter sees what was checked.
    let rc = unsafe { libc::syscall(libc::SYS_execve, path, argv, envp, 0u64, 0u64, 0u64) };
    let errno = if rc < 0 {
        std::io::Error::last_os_error().raw_os_error()
    } else {
        None
    };
    let status = match errno {
        Some(libc::ENOENT) => EXIT_NOT_FOUND,
        _ => EXIT_CANNOT_EXECUTE,
    };
    // SAFETY: exit_group takes an integer and does not return; nothing of
    // this process (buffers, destructors) needs to run after a failed exec.
    unsafe {
        libc::syscall(libc::SYS_exit_group, status);
    }
    // exit_group returned: the filter answered it with an errno. Nothing
    // else can be asked of the kernel; stop without another call.
    std::process::abort()
}

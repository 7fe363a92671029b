//! The flags that say how to read a profile, shared by every verb that
//! takes one (`lint`, `explain`, and the compiler's verbs, which flatten
//! [`ContextArgs`] into their own arguments).
//!
//! In: `--format`, `--host-arch`, `--kernel X.Y`, `--caps`, `--runtime`,
//! `--no-enosys-stub`, `--strict`, `--filter NAME`, and for minijail
//! policies `--include-dir DIR` and `--constants FILE`. Out: a loaded profile
//! ([`ContextArgs::load`]); unset flags come from the running host
//! ([`HostContext::detect`]) and Docker's defaults. Errors are exit status
//! 2 with the source excerpt.

use std::path::{Path, PathBuf};

use sysfence_profile::{
    Arch, DOCKER_DEFAULT_CAPS, Format, HostContext, LoadOptions, Loaded, Runtime, load,
    parse_kernel,
};

use crate::failure::Failure;
use crate::io::{display_name, read_input};

/// How to read a profile.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ContextArgs {
    /// Profile format: docker, oci, podman, containerd, seccompiler, spo,
    /// gadget, minijail (default: detected; `.policy` files are minijail).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Host architecture, in Docker's or any other spelling (amd64, arm64,
    /// x86_64, ...). Default: this machine's.
    #[arg(long, value_name = "ARCH")]
    pub host_arch: Option<String>,
    /// Host kernel version X.Y for `minKernel` (default: the running kernel).
    #[arg(long, value_name = "X.Y")]
    pub kernel: Option<String>,
    /// The container's capabilities, comma-separated (`CAP_SYS_ADMIN,...`;
    /// the prefix may be left out); `none` for none. Default: Docker's 14.
    #[arg(long, value_name = "CAPS")]
    pub caps: Option<String>,
    /// The runtime that loads the profile: runc, crun or containerd
    /// (default runc).
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// Leave runc's ENOSYS stub out of the policy.
    #[arg(long)]
    pub no_enosys_stub: bool,
    /// Make unknown syscall names errors.
    #[arg(long)]
    pub strict: bool,
    /// seccompiler thread category, SPO resource name or gadget container.
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// minijail: where absolute `@include` paths are looked up by file name
    /// (default: the policy's folder).
    #[arg(long, value_name = "DIR")]
    pub include_dir: Option<PathBuf>,
    /// minijail: the arch's `constants.json` (default: beside the policy).
    #[arg(long, value_name = "FILE")]
    pub constants: Option<PathBuf>,
}

impl ContextArgs {
    /// The host context the flags describe.
    pub fn host_context(&self) -> Result<HostContext, Failure> {
        let mut ctx = HostContext::detect();
        if let Some(a) = &self.host_arch {
            ctx.host_arch =
                Arch::parse(a).map_err(|e| Failure::input(format!("--host-arch: {e}")))?;
        }
        if let Some(k) = &self.kernel {
            ctx.kernel = parse_kernel(k)
                .ok_or_else(|| Failure::input(format!("--kernel: \"{k}\" is not X.Y")))?;
        }
        if let Some(c) = &self.caps {
            ctx.caps = parse_caps(c);
        }
        if let Some(r) = &self.runtime {
            ctx.runtime = Runtime::from_name(r).ok_or_else(|| {
                Failure::input(format!(
                    "--runtime: unknown runtime \"{r}\" (runc, crun, containerd)"
                ))
            })?;
        }
        ctx.enosys_stub = !self.no_enosys_stub;
        ctx.strict = self.strict;
        Ok(ctx)
    }

    /// The load options for a profile read from `path` (`-` = stdin).
    pub fn options(&self, path: &Path) -> Result<LoadOptions, Failure> {
        let format = match &self.format {
            Some(f) => Some(Format::from_name(f).ok_or_else(|| {
                let known: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                Failure::input(format!(
                    "--format: unknown format \"{f}\" ({})",
                    known.join(", ")
                ))
            })?),
            None => None,
        };
        Ok(LoadOptions {
            format,
            context: self.host_context()?,
            filter: self.filter.clone(),
            file_name: display_name(Some(path)),
            base_dir: path.parent().map(PathBuf::from),
            include_dir: self.include_dir.clone(),
            constants: self.constants.clone(),
        })
    }

    /// Reads and loads a profile; errors are rendered with their excerpt.
    #[allow(dead_code, reason = "the compiler's verbs load profiles through it")]
    pub fn load(&self, path: &Path) -> Result<Loaded, Failure> {
        self.load_with_source(path).map(|(l, _)| l)
    }

    /// Like [`ContextArgs::load`], also returning the source text.
    pub fn load_with_source(&self, path: &Path) -> Result<(Loaded, String), Failure> {
        let text = read_input(Some(path))?;
        let opts = self.options(path)?;
        let source = String::from_utf8_lossy(&text).into_owned();
        match load(&text, &opts) {
            Ok(l) => Ok((l, source)),
            Err(e) => Err(Failure::input(e.render(&source).trim_end())),
        }
    }
}

/// `CAP_A,B` → `["CAP_A", "CAP_B"]`; `none` → none; `default` → Docker's.
fn parse_caps(s: &str) -> Vec<String> {
    match s.trim() {
        "none" | "" => vec![],
        "default" => DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
        list => list
            .split(',')
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .map(|c| {
                if c.starts_with("CAP_") {
                    c
                } else {
                    format!("CAP_{c}")
                }
            })
            .collect(),
    }
}

//! The flags that say how to read a profile, shared by every verb that
//! takes one (`lint`, `explain`, and the compiler's verbs, which flatten
//! [`ContextArgs`] into their own arguments).
//!
//! In: `--format`, `--host-arch`, `--kernel X.Y`, `--caps`, `--runtime`,
//! `--no-enosys-stub`, `--strict`, `--libseccomp VERSION`, `--filter NAME`, for minijail policies
//! `--include-dir DIR` and `--constants FILE`, and the warning flags
//! `--quiet` and `--deny-warnings` (see [`crate::warnings`]). Out: a loaded
//! profile, its warnings printed on standard error
//! ([`ContextArgs::load`]); unset flags come from the running host
//! ([`HostContext::detect`]) and Docker's defaults. Errors are exit status
//! 2 with the source excerpt.

use std::path::{Path, PathBuf};

use sysfence_profile::{
    Arch, DOCKER_DEFAULT_CAPS, Format, HostContext, LINUX_CAPS, Libseccomp, LoadOptions, Loaded,
    Runtime, detect, load, parse_kernel,
};

use crate::failure::Failure;
use crate::io::{display_name, read_input};
use crate::warnings::{WarnArgs, report};

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
    /// the prefix may be left out); `none` for none, `all` for all 41 Linux
    /// capabilities, `default` for Docker's 14 (the default).
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
    /// The libseccomp release runc or crun links (2.5.4, 2.5.5, 2.5.6,
    /// 2.6.0, 2.6.1; default 2.6.1): which names resolve, and which of its
    /// defects the filter carries.
    #[arg(long, value_name = "VERSION")]
    pub libseccomp: Option<String>,
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
    #[command(flatten)]
    pub warn: WarnArgs,
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
            ctx.caps = parse_caps(c).map_err(|e| Failure::input(format!("--caps: {e}")))?;
        }
        if let Some(r) = &self.runtime {
            ctx.runtime = Runtime::from_name(r).ok_or_else(|| {
                Failure::input(format!(
                    "--runtime: unknown runtime \"{r}\" (runc, crun, containerd)"
                ))
            })?;
        }
        if let Some(v) = &self.libseccomp {
            ctx.libseccomp = Libseccomp::from_name(v).ok_or_else(|| {
                let known: Vec<&str> = Libseccomp::ALL.iter().map(|r| r.name()).collect();
                Failure::input(format!(
                    "--libseccomp: unknown release \"{v}\" ({})",
                    known.join(", ")
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

    /// Reads and loads a profile and prints its warnings (an error under
    /// `--deny-warnings`); errors are rendered with their excerpt.
    pub fn load(&self, path: &Path) -> Result<Loaded, Failure> {
        self.load_with_source(path).map(|(l, _)| l)
    }

    /// Like [`ContextArgs::load`], also returning the source text.
    pub fn load_with_source(&self, path: &Path) -> Result<(Loaded, String), Failure> {
        self.load_read(path, &read_input(Some(path))?)
    }

    /// Like [`ContextArgs::load_with_source`], for the bytes already read
    /// from `path` (standard input cannot be read twice).
    pub fn load_read(&self, path: &Path, text: &[u8]) -> Result<(Loaded, String), Failure> {
        let (loaded, source) = self.load_text(path, text, &[])?;
        report(
            &loaded.warnings,
            &source,
            &display_name(Some(path)),
            self.warn,
        )?;
        Ok((loaded, source))
    }

    /// Like [`ContextArgs::load_with_source`], printing no warnings (for
    /// `lint`, which prints them itself).
    pub fn load_silently(&self, path: &Path) -> Result<(Loaded, String), Failure> {
        self.load_narrowed(path, &[])
    }

    /// Like [`ContextArgs::load_silently`], built as the runtime would with
    /// only `arches` (`--arch`, [`HostContext::arches`]; none: every arch).
    /// A seccompiler file is built for one target: when one arch is asked
    /// for and `--host-arch` is not given, that arch is the target.
    pub fn load_narrowed(&self, path: &Path, arches: &[Arch]) -> Result<(Loaded, String), Failure> {
        self.load_text(path, &read_input(Some(path))?, arches)
    }

    /// Like [`ContextArgs::load_narrowed`], for the bytes read from `path`.
    fn load_text(
        &self,
        path: &Path,
        text: &[u8],
        arches: &[Arch],
    ) -> Result<(Loaded, String), Failure> {
        let mut opts = self.options(path)?;
        if !arches.is_empty() {
            opts.context.arches = Some(arches.to_vec());
        }
        let seccompiler = || opts.format.unwrap_or_else(|| detect(text)) == Format::Seccompiler;
        if let [one] = arches
            && self.host_arch.is_none()
            && seccompiler()
        {
            opts.context.host_arch = *one;
        }
        let source = String::from_utf8_lossy(text).into_owned();
        match load(text, &opts) {
            Ok(l) => {
                for why in self.unused(l.format) {
                    eprintln!("sysfence: warning: {why}");
                }
                Ok((l, source))
            }
            Err(e) => Err(Failure::input(e.render(&source).trim_end())),
        }
    }

    /// The options given that a profile of `format` does not use.
    fn unused(&self, format: Format) -> Vec<String> {
        let mut out = Vec::new();
        let minijail_only = [
            ("--constants", self.constants.is_some()),
            ("--include-dir", self.include_dir.is_some()),
        ];
        for (flag, given) in minijail_only {
            if given && format != Format::Minijail {
                out.push(format!(
                    "{flag} applies to minijail policies; this {format} profile does not use it"
                ));
            }
        }
        let picks = matches!(format, Format::Seccompiler | Format::Spo | Format::Gadget);
        if self.filter.is_some() && !picks {
            out.push(format!(
                "--filter picks a seccompiler filter, an SPO resource or a gadget container; this {format} profile holds one profile, and --filter is not used"
            ));
        }
        out
    }
}

/// `CAP_A,B` → `["CAP_A", "CAP_B"]`; `none` → none; `default` → Docker's;
/// `all` → every Linux capability. A name Linux does not have is an error.
pub fn parse_caps(s: &str) -> Result<Vec<String>, String> {
    let owned = |caps: &[&str]| caps.iter().map(|c| c.to_string()).collect();
    match s.trim() {
        "none" | "" => Ok(vec![]),
        "default" => Ok(owned(&DOCKER_DEFAULT_CAPS)),
        "all" => Ok(owned(&LINUX_CAPS)),
        list => list
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(cap_name)
            .collect(),
    }
}

/// One capability name, `CAP_` prefix optional, any case.
fn cap_name(text: &str) -> Result<String, String> {
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if LINUX_CAPS.contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(format!(
            "unknown capability \"{text}\" (a Linux capability such as CAP_SYS_ADMIN, or none, default, all)"
        ))
    }
}

//! The benchmark set: which profiles, which arch, which probes.
//!
//! In: the shared corpus directory (`../shared` next to the repository, or
//! `$SYSFENCE_SHARED`) and this repository's `corpus/profiles/`. Out:
//! [`Case`]s, each one arch of one loaded profile as a single-arch
//! [`Policy`] (every compiler gets exactly that arch), the seccompiler JSON
//! text where the profile is one, and the syscalls the kernel-time harness
//! runs under it.
//!
//! Profiles are read with a fixed host context (x86_64, kernel 6.1, Docker's
//! default capabilities, runc without its ENOSYS stub), so the figures do
//! not depend on the machine that computes them and every peer sees the
//! profile's own rules only.

use std::fmt;
use std::path::{Path, PathBuf};

use sysfence_linux::kernel_time::Probe;
use sysfence_profile::ir::{ArchPolicy, Policy};
use sysfence_profile::{Arch, HostContext, LoadOptions, load_file};

/// `AUDIT_ARCH_X86_64`.
pub use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

/// One arch of one profile.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name (`docker-default`, `firecracker-vcpu`).
    pub name: &'static str,
    /// Where it came from, for the docs.
    pub source: String,
    /// The arch.
    pub arch: Arch,
    /// The single-arch policy.
    pub policy: Policy,
    /// seccompiler JSON text and filter name, for profiles in that format.
    pub seccompiler_json: Option<(String, String)>,
    /// Kernel-time probes: argument-checked calls first, a denied call last.
    pub probes: Vec<Probe>,
}

impl Case {
    /// The policy's only arch.
    pub fn arch_policy(&self) -> &ArchPolicy {
        &self.policy.arches()[0]
    }
}

/// Why the set could not be loaded.
#[derive(Debug)]
pub struct SetError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for SetError {}

/// The repository root (the parent of `benches/`).
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The shared corpus directory, if present: `$SYSFENCE_SHARED`, else
/// `../shared` next to the repository.
pub fn shared_dir() -> Option<PathBuf> {
    sysfence_testkit::shared::locate()
}

/// The host context every profile is read with.
pub fn context() -> HostContext {
    HostContext {
        host_arch: Arch::X86_64,
        kernel: (6, 1),
        enosys_stub: false,
        strict: false,
        ..HostContext::default()
    }
}

/// Docker's default profile, x86_64 only.
pub fn docker(shared: &Path) -> Result<Case, SetError> {
    let path = shared.join("corpus/third-party/moby/default.json");
    Ok(Case {
        name: "docker-default",
        source: "moby default.json (profiles v0.2.3)".into(),
        arch: Arch::X86_64,
        policy: load(&path, None)?,
        seccompiler_json: None,
        probes: vec![
            probe("personality(0xffffffff)", 135, [0xffff_ffff, 0, 0]),
            denied(),
        ],
    })
}

/// One of Firecracker's x86_64 filters (`vmm`, `api`, `vcpu`).
pub fn firecracker(shared: &Path, filter: &'static str) -> Result<Case, SetError> {
    let path = shared.join("corpus/third-party/firecracker/x86_64-unknown-linux-musl.json");
    let text = read(&path)?;
    let (name, probes) = match filter {
        "vcpu" => ("firecracker-vcpu", vec![kvm_run(), futex_wake(), denied()]),
        "api" => ("firecracker-api", vec![futex_wake(), denied()]),
        _ => (
            "firecracker-vmm",
            vec![
                probe("ioctl(-1, FIONBIO)", 16, [u64::MAX, 0x5421, 0]),
                futex_wake(),
                denied(),
            ],
        ),
    };
    Ok(Case {
        name,
        source: format!("Firecracker x86_64-unknown-linux-musl.json, filter {filter}"),
        arch: Arch::X86_64,
        policy: load(&path, Some(filter))?,
        seccompiler_json: Some((text, filter.to_string())),
        probes,
    })
}

/// `corpus/profiles/vmm-args.json`.
pub fn vmm_args() -> Result<Case, SetError> {
    let path = repo_dir().join("corpus/profiles/vmm-args.json");
    Ok(Case {
        name: "vmm-args",
        source: "corpus/profiles/vmm-args.json".into(),
        arch: Arch::X86_64,
        policy: load(&path, None)?,
        seccompiler_json: None,
        probes: vec![kvm_run(), futex_wake(), denied()],
    })
}

/// The profiles of this repository's `corpus/profiles/` that the set uses
/// when the shared corpus is absent: file, case name, seccompiler filter.
const REPO_PROFILES: [(&str, &str, Option<&str>); 5] = [
    ("allow-list.json", "allow-list", None),
    ("deny-list.json", "deny-list", None),
    ("no-chmod.json", "no-chmod", None),
    ("no-debugging.json", "no-debugging", None),
    ("worker.seccompiler.json", "worker", Some("worker")),
];

/// What the repository alone has: `vmm-args` and the other profiles of
/// `corpus/profiles/`. Returns the cases and, for each profile that could
/// not be used, why.
pub fn repo_only() -> (Vec<Case>, Vec<String>) {
    let (mut cases, mut left_out) = (Vec::new(), Vec::new());
    let loaded = std::iter::once(vmm_args()).chain(
        REPO_PROFILES
            .iter()
            .map(|&(file, name, filter)| repo_case(file, name, filter)),
    );
    for case in loaded {
        match case {
            Ok(c) => cases.push(c),
            Err(e) => left_out.push(e.to_string()),
        }
    }
    (cases, left_out)
}

fn repo_case(file: &str, name: &'static str, filter: Option<&str>) -> Result<Case, SetError> {
    let path = repo_dir().join("corpus/profiles").join(file);
    let seccompiler_json = match filter {
        Some(f) => Some((read(&path)?, f.to_string())),
        None => None,
    };
    Ok(Case {
        name,
        source: format!("corpus/profiles/{file}"),
        arch: Arch::X86_64,
        policy: load(&path, filter)?,
        seccompiler_json,
        probes: vec![futex_wake(), denied()],
    })
}

fn read(path: &Path) -> Result<String, SetError> {
    std::fs::read_to_string(path).map_err(|e| SetError {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Every case, Docker first.
pub fn all(shared: &Path) -> Result<Vec<Case>, SetError> {
    Ok(vec![
        docker(shared)?,
        firecracker(shared, "vmm")?,
        firecracker(shared, "api")?,
        firecracker(shared, "vcpu")?,
        vmm_args()?,
    ])
}

fn load(path: &Path, filter: Option<&str>) -> Result<Policy, SetError> {
    let err = |message: String| SetError {
        path: path.to_path_buf(),
        message,
    };
    let opts = LoadOptions {
        // x86_64 alone, as libseccomp builds a filter with only that ABI:
        // x32 numbers (bit 30) get the bad-arch action.
        context: context().with_arches(&[Arch::X86_64]),
        filter: filter.map(str::to_string),
        ..LoadOptions::default()
    };
    let loaded = load_file(path, &opts).map_err(|e| err(e.to_string()))?;
    Ok(loaded.policy)
}

fn probe(name: &str, nr: i64, first: [u64; 3]) -> Probe {
    Probe {
        name: name.into(),
        nr,
        args: [first[0], first[1], first[2], 0, 0, 0],
    }
}

/// `ioctl(-1, KVM_RUN)`: argument-checked, fails fast with EBADF.
fn kvm_run() -> Probe {
    probe("ioctl(-1, KVM_RUN)", 16, [u64::MAX, 0xae80, 0])
}

/// `futex(NULL, FUTEX_WAKE_PRIVATE, 0)`: argument-checked, wakes nobody.
fn futex_wake() -> Probe {
    probe("futex(NULL, FUTEX_WAKE_PRIVATE, 0)", 202, [0, 129, 0])
}

/// `syslog(SYSLOG_ACTION_SIZE_BUFFER)`: denied by every profile here; only
/// reads a size when it runs unfiltered.
fn denied() -> Probe {
    probe("syslog(10) [denied]", 103, [10, 0, 0])
}

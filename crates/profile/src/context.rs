//! What a profile's meaning depends on besides its text: the format, the
//! host, the container's capabilities and the runtime.
//!
//! Docker and Podman resolve `archMap`, `includes` and `excludes` against
//! the host arch, the host kernel and the capability bounding set
//! (docs/profiles.md); runc and crun then differ in validation and in
//! runc's ENOSYS stub. Everything here is an explicit input so
//! results are reproducible; [`HostContext::detect`] is the one place that
//! looks at the running machine.

use std::path::PathBuf;

use crate::arch::Arch;
use crate::libseccomp::Libseccomp;

/// A profile dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Docker/moby JSON with `archMap`, `includes`, `excludes`, `name`.
    Docker,
    /// OCI runtime-spec `linux.seccomp`, alone or inside a `config.json`.
    Oci,
    /// The Podman / CRI-O / Buildah dialect (`errno` names, no `minKernel`).
    Containers,
    /// containerd's plain OCI reading of any file (extensions ignored).
    Containerd,
    /// seccompiler (Firecracker) JSON.
    Seccompiler,
    /// Kubernetes Security Profiles Operator `SeccompProfile` YAML.
    Spo,
    /// Inspektor Gadget `advise_seccomp` output (`// name` then JSON).
    Gadget,
    /// A minijail `.policy` file (crosvm, ChromeOS, Android).
    Minijail,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 8] = [
        Format::Docker,
        Format::Oci,
        Format::Containers,
        Format::Containerd,
        Format::Seccompiler,
        Format::Spo,
        Format::Gadget,
        Format::Minijail,
    ];

    /// The format's name as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Docker => "docker",
            Format::Oci => "oci",
            Format::Containers => "podman",
            Format::Containerd => "containerd",
            Format::Seccompiler => "seccompiler",
            Format::Spo => "spo",
            Format::Gadget => "gadget",
            Format::Minijail => "minijail",
        }
    }

    /// Reads a format name (`docker`, `moby`, `oci`, `podman`, `containers`,
    /// `crio`, `containerd`, `seccompiler`, `firecracker`, `spo`, `yaml`,
    /// `gadget`, `ig`).
    pub fn from_name(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "docker" | "moby" => Format::Docker,
            "oci" | "runtime-spec" | "config.json" => Format::Oci,
            "podman" | "containers" | "crio" | "cri-o" => Format::Containers,
            "containerd" => Format::Containerd,
            "seccompiler" | "firecracker" => Format::Seccompiler,
            "spo" | "yaml" | "seccompprofile" => Format::Spo,
            "gadget" | "ig" | "inspektor-gadget" => Format::Gadget,
            "minijail" | "policy" => Format::Minijail,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The OCI runtime that turns the profile into a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Runtime {
    /// runc: libseccomp plus its ENOSYS stub.
    #[default]
    Runc,
    /// crun: libseccomp, stricter validation, no stub.
    Crun,
    /// containerd reading the file (plain OCI), runc loading it.
    Containerd,
}

impl Runtime {
    /// Reads `runc`, `crun` or `containerd`.
    pub fn from_name(s: &str) -> Option<Runtime> {
        match s.to_ascii_lowercase().as_str() {
            "runc" => Some(Runtime::Runc),
            "crun" => Some(Runtime::Crun),
            "containerd" => Some(Runtime::Containerd),
            _ => None,
        }
    }

    /// The runtime's name.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
            Runtime::Containerd => "containerd",
        }
    }
}

/// Docker's default capability set (`daemon/pkg/oci/caps/defaults.go`).
pub const DOCKER_DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every Linux capability, by number (`include/uapi/linux/capability.h`,
/// `CAP_CHOWN` = 0 to `CAP_CHECKPOINT_RESTORE` = 40).
pub const LINUX_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The host and container facts a profile is resolved against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostContext {
    /// The host (daemon) architecture.
    pub host_arch: Arch,
    /// Host kernel `(kernel, major)`, as Docker reads `uname -r`.
    pub kernel: (u32, u32),
    /// The capability bounding set, `CAP_` names.
    pub caps: Vec<String>,
    /// The runtime.
    pub runtime: Runtime,
    /// Whether runc's ENOSYS stub is part of the policy (runc only).
    pub enosys_stub: bool,
    /// Unknown syscall names are errors rather than warnings.
    pub strict: bool,
    /// The libseccomp release runc or crun links: which names resolve, to
    /// which numbers, and which of its defects the filter carries.
    pub libseccomp: Libseccomp,
    /// Build as the runtime would with only these arches (`--arch`);
    /// `None` for every arch of the profile. Arches nobody asked for are
    /// left out with their refusals; asking for one the profile's filter
    /// would not hold is an error (docs/profiles.md, "Narrowing").
    pub arches: Option<Vec<Arch>>,
}

impl Default for HostContext {
    /// amd64, kernel 6.1, Docker's default capabilities, runc with its stub,
    /// libseccomp 2.6.1.
    fn default() -> HostContext {
        HostContext {
            host_arch: Arch::X86_64,
            kernel: (6, 1),
            caps: DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
            runtime: Runtime::Runc,
            enosys_stub: true,
            strict: false,
            libseccomp: Libseccomp::default(),
            arches: None,
        }
    }
}

impl HostContext {
    /// The running machine: host arch, kernel from `/proc/sys/kernel/osrelease`,
    /// Docker's default capabilities, runc.
    pub fn detect() -> HostContext {
        let mut ctx = HostContext::default();
        if let Some(a) = Arch::native() {
            ctx.host_arch = a;
        }
        if let Some(k) = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|r| parse_kernel(&r))
        {
            ctx.kernel = k;
        }
        ctx
    }
}

impl HostContext {
    /// This context, building as the runtime would with only `arches`.
    pub fn with_arches(mut self, arches: &[Arch]) -> HostContext {
        self.arches = Some(arches.to_vec());
        self
    }

    /// Why narrowing cannot keep a filter that holds the one arch `held`
    /// (named `name`, unknown to sysfence when `None`), if it cannot: an
    /// arch asked for that is not `held`, or no arch asked for at all.
    pub(crate) fn one_arch_refusal(
        &self,
        held: Option<Arch>,
        name: &str,
        what: &str,
    ) -> Option<String> {
        let asked = self.arches.as_ref()?;
        if asked.is_empty() {
            return Some(NO_ARCH_ASKED.to_string());
        }
        let other = asked.iter().find(|&&a| Some(a) != held)?;
        Some(format!(
            "{what} holds one arch, {name}; {other} is not in it"
        ))
    }
}

/// Narrowing to no arch at all.
pub(crate) const NO_ARCH_ASKED: &str = "no arch asked for: a filter holds at least one";

/// Reads a kernel release as Docker does (`%d.%d` prefix): "6.1.0-13-amd64",
/// "3.12-rc5" and "3.12" all give `(6, 1)` / `(3, 12)`.
pub fn parse_kernel(release: &str) -> Option<(u32, u32)> {
    let lead = |s: &str| -> Option<(u32, usize)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        Some((s[..n].parse().ok()?, n))
    };
    let s = release.trim();
    let (a, n) = lead(s)?;
    let rest = s[n..].strip_prefix('.')?;
    let (b, _) = lead(rest)?;
    Some((a, b))
}

/// How to read a profile.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The format; `None` detects it.
    pub format: Option<Format>,
    /// Host and runtime.
    pub context: HostContext,
    /// seccompiler thread category, SPO resource name or gadget container.
    pub filter: Option<String>,
    /// The file name to put in messages.
    pub file_name: String,
    /// Where to look for SPO base profiles (`baseProfileName`); the folder
    /// of a minijail policy.
    pub base_dir: Option<PathBuf>,
    /// Where a minijail policy's absolute `@include` paths are looked up
    /// by file name (default: `base_dir`).
    pub include_dir: Option<PathBuf>,
    /// A minijail policy's arch table (default: `constants.json` in
    /// `base_dir`).
    pub constants: Option<PathBuf>,
}

/// Docker's native arch string for the daemon's GOARCH; empty when
/// Docker has none.
pub(crate) fn docker_native(a: Arch) -> &'static str {
    match a {
        Arch::X86 => "x86",
        Arch::X86_64 => "amd64",
        Arch::Arm => "arm",
        Arch::Aarch64 => "arm64",
        Arch::Loongarch64 => "loongarch64",
        Arch::Mips64 => "mips64",
        Arch::Mips64n32 => "mips64n32",
        Arch::Mips64el => "mipsel64",
        Arch::Mipsel64n32 => "mips3l64n32",
        Arch::Mipsel => "mipsel",
        Arch::Ppc => "ppc",
        Arch::Ppc64 => "ppc64",
        Arch::Ppc64le => "ppc64le",
        Arch::Riscv64 => "riscv64",
        Arch::S390 => "s390",
        Arch::S390x => "s390x",
        _ => "",
    }
}

/// moby's `nativeToSeccomp`: the `SCMP_ARCH_*` an `archMap` entry must name
/// for a native string. loongarch64 and mipsel have no entry (keys differ).
pub(crate) fn docker_archmap_key(native: &str) -> Option<&'static str> {
    Some(match native {
        "x86" => "SCMP_ARCH_X86",
        "amd64" => "SCMP_ARCH_X86_64",
        "arm" => "SCMP_ARCH_ARM",
        "arm64" => "SCMP_ARCH_AARCH64",
        "loong64" => "SCMP_ARCH_LOONGARCH64",
        "mips64" => "SCMP_ARCH_MIPS64",
        "mips64n32" => "SCMP_ARCH_MIPS64N32",
        "mipsel64" => "SCMP_ARCH_MIPSEL64",
        "mips3l64n32" => "SCMP_ARCH_MIPSEL64N32",
        "mipsle" => "SCMP_ARCH_MIPSEL",
        "ppc" => "SCMP_ARCH_PPC",
        "ppc64" => "SCMP_ARCH_PPC64",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "s390" => "SCMP_ARCH_S390",
        "s390x" => "SCMP_ARCH_S390X",
        _ => return None,
    })
}

/// libseccomp-golang's native arch string, which the containers package uses.
pub(crate) fn libseccomp_native(a: Arch) -> &'static str {
    match a {
        Arch::X86 => "x86",
        Arch::X86_64 => "amd64",
        Arch::X32 => "x32",
        Arch::Arm => "arm",
        Arch::Aarch64 => "arm64",
        Arch::Mips => "mips",
        Arch::Mips64 => "mips64",
        Arch::Mips64n32 => "mips64n32",
        Arch::Mipsel => "mipsel",
        Arch::Mips64el => "mipsel64",
        Arch::Mipsel64n32 => "mipsel64n32",
        Arch::Ppc => "ppc",
        Arch::Ppc64 => "ppc64",
        Arch::Ppc64le => "ppc64le",
        Arch::S390 => "s390",
        Arch::S390x => "s390x",
        Arch::Riscv64 => "riscv64",
        Arch::Loongarch64 => "loong64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_release_like_docker() {
        assert_eq!(parse_kernel("3.12.25-gentoo"), Some((3, 12)));
        assert_eq!(parse_kernel("3.12-1-amd64"), Some((3, 12)));
        assert_eq!(parse_kernel("3.12-rc5"), Some((3, 12)));
        assert_eq!(parse_kernel("x.1"), None);
    }
}

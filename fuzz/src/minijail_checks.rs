//! What the `minijail_compile` fuzz target checks: any bytes, read as a
//! minijail policy against a fixed x86_64 `constants.json` (sysfence's own
//! syscall table and a few named constants), in a scratch folder that also
//! holds a policy to `@include` and a frequency file, never panic the
//! reader: they load or are refused with a located error; whatever loads
//! compiles with its proof (a program over 4096 instructions is a clear
//! error, not a bug).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sysfence_profile::arch::Arch;
use sysfence_profile::{Format, LoadOptions};

/// Named constants of the scratch `constants.json` (values as on x86_64).
const CONSTANTS: [(&str, u64); 9] = [
    ("PROT_READ", 1),
    ("PROT_WRITE", 2),
    ("PROT_EXEC", 4),
    ("MAP_PRIVATE", 2),
    ("O_RDWR", 2),
    ("CLONE_THREAD", 0x1_0000),
    ("FIONREAD", 0x541b),
    ("MADV_DONTNEED", 4),
    ("EPERM", 1),
];

/// Reads `bytes` as a minijail policy and compiles it if it loads.
pub fn minijail_compile(bytes: &[u8]) {
    let dir = scratch();
    let options = LoadOptions {
        format: Some(Format::Minijail),
        file_name: dir.join("fuzz.policy").display().to_string(),
        base_dir: Some(dir.to_path_buf()),
        ..Default::default()
    };
    crate::profile_checks::load_and_compile(bytes, &options);
}

/// The scratch folder, written once per process.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("sysfence-fuzz-minijail-{}", std::process::id()));
        let files = [
            ("constants.json", constants_json()),
            (
                "included.policy",
                "write: 1\nioctl: arg1 == FIONREAD\n".to_string(),
            ),
            ("calls.frequency", "read: 10\nwrite: 3\n".to_string()),
        ];
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("a scratch file");
        }
        dir
    })
}

/// minijail's arch file for x86_64, from sysfence's own table.
fn constants_json() -> String {
    let arch = Arch::X86_64;
    let syscalls: Vec<String> = (arch.table().iter())
        .map(|(name, nr)| format!("\"{name}\": {nr}"))
        .collect();
    let constants: Vec<String> = (CONSTANTS.iter())
        .map(|(name, v)| format!("\"{name}\": {v}"))
        .collect();
    format!(
        "{{\"arch_nr\": {}, \"arch_name\": \"x86_64\", \"bits\": 64, \"syscalls\": {{{}}}, \"constants\": {{{}}}}}",
        arch.audit_arch(),
        syscalls.join(", "),
        constants.join(", ")
    )
}

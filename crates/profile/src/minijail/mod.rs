//! minijail seccomp policies (crosvm, ChromeOS, Android), read with the
//! meaning minijail's policy compiler (`compile_seccomp_policy.py`) gives
//! them.
//!
//! In: the policy text, its folder (`LoadOptions::base_dir`), the include
//! folder (`LoadOptions::include_dir`, default the policy's folder) and the
//! arch table (`LoadOptions::constants`, default `constants.json` beside the
//! policy). Out: a [`Loaded`] with one arch, the table's `arch_nr`, and the
//! `@frequency` counts as [`Loaded::frequency`]; narrowing
//! ([`crate::HostContext::arches`]) to any other arch is an error.
//!
//! Stages: `lexer` (tokens, continuations) → [`parser`] (one statement)
//! → `files` (`@include`, `@frequency`, `@default`) → `lower` (the
//! IR). The arch check sends every other arch to KILL_THREAD, as
//! minijail's program does; there is no x32 check, so x32 numbers on x86_64
//! get the default action, as in minijail's program. Not supported (refused
//! with a located error): `@denylist` policies, `arg6`.

pub mod constants;
mod files;
mod lexer;
mod lower;
pub mod parser;

use std::path::{Path, PathBuf};

use crate::arch::Arch;
use crate::ir::{Origin, Policy};
use crate::{Format, LoadOptions, Loaded, ProfileError};
use files::origin;

pub use files::INCLUDE_DEPTH_LIMIT;
pub use lower::COMPILER_ATOMS;

/// Reads a minijail policy with the arch table `LoadOptions::constants`
/// names (default `constants.json` beside the policy).
pub fn load(text: &[u8], opts: &LoadOptions) -> Result<Loaded, ProfileError> {
    let table = read_table(opts, &origin(&opts.file_name, 1, 1))?;
    load_with_table(text, opts, &table)
}

/// Reads a minijail policy with the arch table `table` (for one built
/// without a file, [`constants::ArchTable::for_arch`]).
pub fn load_with_table(
    text: &[u8],
    opts: &LoadOptions,
    table: &constants::ArchTable,
) -> Result<Loaded, ProfileError> {
    let file = opts.file_name.as_str();
    let at = |line, column| origin(file, line, column);
    let text = crate::utf8(text, file)?;
    let include_dir = opts.include_dir.clone().or_else(|| opts.base_dir.clone());
    let shown_dir = match &opts.include_dir {
        Some(d) => Some(d.clone()),
        None => Path::new(file).parent().map(Path::to_path_buf),
    };
    let mut reader = files::Reader::new(table, include_dir, shown_dir);
    let read = reader.read(file, opts.base_dir.clone(), text);
    let sources = std::mem::take(&mut reader.sources);
    let located = |(msg, o): (String, Origin)| {
        let source = sources.get(&o.file).cloned();
        ProfileError::new(&o, msg).with_source(source)
    };
    read.map_err(located)?;
    let arch = Arch::all()
        .iter()
        .copied()
        .find(|a| a.audit_arch() == table.arch_nr);
    let name = arch.map_or_else(|| table.arch_name.clone(), |a| a.name().to_string());
    let refusal =
        opts.context
            .one_arch_refusal(arch, &name, "a minijail policy (its constants.json)");
    if let Some(msg) = refusal.or_else(|| big_endian_refusal(table, &name)) {
        return Err(ProfileError::new(&at(1, 1), msg));
    }
    let default = reader.default.unwrap_or(parser::KILL);
    let mut warnings = std::mem::take(&mut reader.warnings);
    let mut lowered = Vec::new();
    let mut ap =
        lower::lower(&reader.statements, default, table, &name, &mut lowered).map_err(located)?;
    // A rule of an `@include`d file is excerpted from that file.
    warnings.extend(lowered.into_iter().map(|w| {
        let source = sources.get(&w.origin.file).cloned();
        w.with_source(source)
    }));
    if let Some(a) = arch {
        ap.table_max = ap.table_max.max(a.max_nr());
    }
    let policy = Policy::new(vec![ap], parser::KILL)
        .map_err(|e| ProfileError::new(&at(1, 1), e.to_string()))?;
    let frequency = reader
        .frequency
        .iter()
        .map(|((n, _), c)| (n.clone(), *c))
        .collect();
    Ok(Loaded {
        policy,
        warnings,
        format: Format::Minijail,
        native_arches: arch.into_iter().collect(),
        flags: vec![],
        frequency,
    })
}

/// minijail's compiler reads an argument's words at their little-endian
/// offsets (the low word at `args[i]`, the high word 4 bytes on) on every
/// arch, so on a big-endian arch (no `__AUDIT_ARCH_LE` bit) its filters
/// compare other words than the policy names: `arg0 == 5` tests the high
/// word, and the policy means what no reading of it says. Refused.
fn big_endian_refusal(table: &constants::ArchTable, name: &str) -> Option<String> {
    (sysfence_abi::arch::arch_endian(table.arch_nr) == sysfence_abi::Endian::Big).then(|| {
        format!(
            "{name} (arch_nr {:#x}) is big-endian, and minijail's compiler reads argument words at little-endian offsets there: its filters would test other words than the policy names",
            table.arch_nr
        )
    })
}

/// The arch table: `--constants`, else `constants.json` beside the policy.
fn read_table(opts: &LoadOptions, at: &Origin) -> Result<constants::ArchTable, ProfileError> {
    let path: PathBuf = match (&opts.constants, &opts.base_dir) {
        (Some(p), _) => p.clone(),
        (None, Some(d)) => d.join("constants.json"),
        (None, None) => {
            return Err(ProfileError::new(
                at,
                "a minijail policy needs its arch's constants.json (give --constants)",
            ));
        }
    };
    let bytes = read_limited(&path).map_err(|m| ProfileError::new(at, m))?;
    // Its errors are excerpted from it, not from the policy.
    let text: std::sync::Arc<str> = String::from_utf8_lossy(&bytes).into();
    constants::parse(&bytes, &path.display().to_string()).map_err(|e| e.with_source(Some(text)))
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let hint = if path.exists() {
        ""
    } else {
        " (give --constants)"
    };
    crate::file::read_bounded(path)
        .map_err(|e| format!("constants table {}: {e}{hint}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, arch: Arch) -> Result<Loaded, ProfileError> {
        let opts = LoadOptions {
            file_name: "p.policy".into(),
            ..LoadOptions::default()
        };
        load_with_table(
            text.as_bytes(),
            &opts,
            &constants::ArchTable::for_arch(arch),
        )
    }

    #[test]
    fn a_big_endian_arch_is_refused() {
        let e = read("read: arg0 == 5\n", Arch::S390x).unwrap_err();
        assert!(e.to_string().contains("big-endian"), "{e}");
        assert!(read("read: arg0 == 5\n", Arch::Aarch64).is_ok());
    }

    /// minijail skips a statement for other arches before it looks for
    /// extra tokens: a warning, not an error.
    #[test]
    fn extra_tokens_of_a_statement_for_other_arches_are_a_warning() {
        let l = read(
            "read: allow\nwrite[arch=arm64]: allow allow\n",
            Arch::X86_64,
        )
        .unwrap();
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert_eq!(
            (l.warnings[0].origin.line, l.warnings[0].origin.column),
            (2, 26)
        );
        let e = read("write: allow allow\n", Arch::X86_64).unwrap_err();
        assert!(e.to_string().contains("extra tokens"), "{e}");
    }

    /// Repeated names in braces multiply a statement; past the bound the
    /// statement is an error, before memory grows with the copies.
    #[test]
    fn a_policy_expanding_past_the_bound_is_refused() {
        let names = vec!["read"; 300].join(", ");
        let clauses: Vec<String> = (0..1000).map(|i| format!("arg0 == {i}")).collect();
        let text = format!("{{{names}}}: {}\n", clauses.join(" || "));
        let e = read(&text, Arch::X86_64).unwrap_err();
        assert!(e.to_string().contains("expands to more than"), "{e}");
        let fewer = format!(
            "{{read, read}}: {}; return 1\n",
            clauses[..100].join(" || ")
        );
        assert!(read(&fewer, Arch::X86_64).is_ok());
    }
}

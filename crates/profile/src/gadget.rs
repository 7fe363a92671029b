//! Inspektor Gadget `advise_seccomp` output: one `// <container>` line
//! before each profile's JSON (docs/profiles.md).
//!
//! In: the gadget's text, possibly with several containers. Out: the
//! profile of the container picked with `--filter NAME` (the first one by
//! default), read as the plain OCI object it is. Line numbers stay those of
//! the whole file: the other sections are blanked, not cut out.

use crate::context::{Format, LoadOptions};
use crate::decode::Dec;
use crate::diag::{Diagnostic, ProfileError};
use crate::ir::Origin;
use crate::{Loaded, load_node, parse_json};

/// One container's section: its name and its line range (0-based, end exclusive).
struct Section {
    name: String,
    line: usize,
    lines: std::ops::Range<usize>,
}

pub(crate) fn load(text: &[u8], opts: &LoadOptions) -> Result<Loaded, ProfileError> {
    let file = &opts.file_name;
    let s = crate::utf8(text, file)?;
    let lines: Vec<&str> = s.split('\n').collect();
    let sections = sections(&lines);
    let pick = match &opts.filter {
        Some(name) => sections.iter().find(|c| c.name == *name).ok_or_else(|| {
            let known: Vec<&str> = sections.iter().map(|c| c.name.as_str()).collect();
            ProfileError::new(
                &Origin::start(file),
                format!(
                    "no container \"{name}\" in the gadget output (found: {})",
                    known.join(", ")
                ),
            )
        })?,
        None => sections
            .first()
            .ok_or_else(|| ProfileError::new(&Origin::start(file), "no `// name` line"))?,
    };
    let blanked: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if pick.lines.contains(&i) {
                (*l).to_string()
            } else {
                " ".repeat(l.len())
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let node = parse_json(blanked.as_bytes(), file)?;
    let mut dec = Dec::new(file);
    if sections.len() > 1 && opts.filter.is_none() {
        let o = Origin {
            file: file.clone(),
            line: pick.line as u32 + 1,
            column: 1,
            path: "$".into(),
        };
        dec.warnings.push(Diagnostic::note(
            &o,
            format!(
                "{} containers in the output; reading \"{}\" (choose with --filter)",
                sections.len(),
                pick.name
            ),
        ));
    }
    load_node(&node, "$", Format::Gadget, opts, dec)
}

fn sections(lines: &[&str]) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some(name) = l.trim_start().strip_prefix("//") {
            if let Some(last) = out.last_mut() {
                last.lines.end = i;
            }
            out.push(Section {
                name: name.trim().to_string(),
                line: i,
                lines: i + 1..lines.len(),
            });
        }
    }
    out
}

//! Syscall mixes: how often each syscall is called, for the weighted layout
//! and the cost model.
//!
//! In: text, either the output of `strace -c` (two header lines, one row per
//! syscall whose fourth column is `calls` and whose last column is the name,
//! a dashed line and a `total` row), plain `name count` lines, or minijail
//! frequency lines `name: count` (`#` starts a comment). Out: [`Weights`], a list of `(name, count)` in file order,
//! resolved to numbers per arch with [`Weights::for_arch`].
//!
//! Names the arch does not know are ignored when resolving (a mix recorded on
//! x86_64 still weights an aarch64 filter by the names they share); the
//! parser does not check names against any table.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use sysfence_profile::arch::Arch;

/// A syscall mix.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Weights {
    entries: Vec<(String, u64)>,
    /// The entries' indexes in name order, for [`Weights::for_arch`].
    by_name: Vec<usize>,
}

/// Why a mix could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsError {
    line: usize,
    text: String,
    overflow: bool,
}

impl WeightsError {
    /// The 1-based line of the offending text.
    pub fn line(&self) -> usize {
        self.line
    }
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.overflow {
            return write!(
                f,
                "line {}: the counts add up to more than 2^64-1 calls ({:?})",
                self.line, self.text
            );
        }
        write!(
            f,
            "line {}: expected `name count` or a `strace -c` row, found {:?}",
            self.line, self.text
        )
    }
}

impl std::error::Error for WeightsError {}

impl Weights {
    /// A mix from `(name, count)` pairs.
    pub fn from_pairs<S: Into<String>>(pairs: impl IntoIterator<Item = (S, u64)>) -> Weights {
        Weights::new(pairs.into_iter().map(|(n, c)| (n.into(), c)).collect())
    }

    fn new(entries: Vec<(String, u64)>) -> Weights {
        let mut by_name: Vec<usize> = (0..entries.len()).collect();
        by_name.sort_by(|&a, &b| entries[a].0.cmp(&entries[b].0));
        Weights { entries, by_name }
    }

    /// Reads `strace -c` output or `name count` lines. Counts whose sum
    /// does not fit in 64 bits are an error (every mean is taken over it).
    pub fn parse(text: &str) -> Result<Weights, WeightsError> {
        let mut entries = Vec::new();
        let mut total = 0u64;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if skip_line(line) {
                continue;
            }
            let cells: Vec<&str> = match line.split_once(':') {
                Some((name, count)) => vec![name.trim(), count.trim()],
                None => line.split_whitespace().collect(),
            };
            let parsed = match cells.as_slice() {
                [name, count] if !name.is_empty() => {
                    count.parse().ok().map(|c| (name.to_string(), c))
                }
                [_, _, _, calls, .., name] if cells.len() <= 6 => {
                    calls.parse().ok().map(|c| (name.to_string(), c))
                }
                _ => None,
            };
            let error = |overflow| WeightsError {
                line: i + 1,
                text: raw.to_string(),
                overflow,
            };
            match parsed {
                Some(entry) => {
                    total = total.checked_add(entry.1).ok_or_else(|| error(true))?;
                    entries.push(entry);
                }
                None => {
                    return Err(error(false));
                }
            }
        }
        Ok(Weights::new(entries))
    }

    /// The `(name, count)` pairs in file order.
    pub fn entries(&self) -> &[(String, u64)] {
        &self.entries
    }

    /// The total number of calls.
    pub fn total(&self) -> u64 {
        self.entries.iter().map(|(_, c)| c).sum()
    }

    /// Counts per syscall number for one AUDIT_ARCH value (the first table
    /// with that value: x86_64 before x32); names the table lacks are dropped
    /// and a name listed twice counts the sum. The names, kept in name
    /// order, are resolved in one merge with the table's name order (a
    /// binary search per name cost 500 instructions) and counted by table
    /// row, which is number order (sorting the numbers took a fifth of the
    /// time); only aliases, outside the table, are sorted in.
    pub fn for_arch(&self, audit_arch: u32) -> BTreeMap<u32, u64> {
        self.sorted_for_arch(audit_arch).into_iter().collect()
    }

    /// [`Weights::for_arch`] as a list in number order, each number once
    /// (what the compile walks; a map cost a tenth of a weighted compile).
    pub(crate) fn sorted_for_arch(&self, audit_arch: u32) -> Vec<(u32, u64)> {
        let Some(arch) = Arch::all()
            .iter()
            .copied()
            .find(|a| a.audit_arch() == audit_arch)
        else {
            return Vec::new();
        };
        let rows = arch.table();
        let mut by_row: Vec<Option<u64>> = vec![None; rows.len()];
        let mut aliases: Vec<(u32, u64)> = Vec::new();
        let mut table = arch.table_by_name().peekable();
        for &k in &self.by_name {
            let (name, count) = &self.entries[k];
            // One comparison per name when the mix lists the table's names;
            // a row is passed once found (a name listed again resolves as
            // an alias would, to the same number).
            let row = loop {
                let Some(&(t, row)) = table.peek() else {
                    break None;
                };
                match t.cmp(name.as_str()) {
                    Ordering::Less => table.next(),
                    Ordering::Equal => break table.next().map(|_| row),
                    Ordering::Greater => break None,
                };
            };
            match row {
                Some(row) => by_row[row] = Some(by_row[row].unwrap_or(0).saturating_add(*count)),
                // Not in the table: an alias, or unknown.
                None => aliases.extend(arch.syscall_nr(name).map(|nr| (nr, *count))),
            }
        }
        let mut counts: Vec<(u32, u64)> = rows
            .iter()
            .zip(by_row)
            .filter_map(|(&(_, nr), count)| Some((nr, count?)))
            .collect();
        if !aliases.is_empty() {
            counts.extend(aliases);
            counts.sort_by_key(|c| c.0);
            counts.dedup_by(|next, kept| {
                let same = next.0 == kept.0;
                if same {
                    kept.1 = kept.1.saturating_add(next.1);
                }
                same
            });
        }
        counts
    }
}

/// Header, separator and total lines of `strace -c`, and blank lines.
fn skip_line(line: &str) -> bool {
    line.is_empty()
        || line.starts_with('%')
        || line.starts_with("System call usage summary for")
        || line.starts_with('-')
        || line.ends_with(" total")
        || line.split_whitespace().last() == Some("total")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRACE: &str = "% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 25.97    0.229221          13     17194           newfstatat
  0.00    0.000000           0         1         1 access
------ ----------- ----------- --------- --------- ----------------
100.00    0.882625          14     61521        12 total
";

    #[test]
    fn reads_strace_and_pairs() {
        let w = Weights::parse(STRACE).unwrap();
        assert_eq!(
            w.entries(),
            &[("newfstatat".to_string(), 17194), ("access".to_string(), 1)]
        );
        let p = Weights::parse("read 10\n# comment\nwrite 5 # trailing\n").unwrap();
        let m = Weights::parse("ioctl: 754417\nwrite:5\n").unwrap();
        assert_eq!(m.entries()[0], ("ioctl".to_string(), 754417));
        assert_eq!(m.total(), 754422);
        assert_eq!(p.total(), 15);
        assert_eq!(p.for_arch(0xc000_003e).get(&1), Some(&5));
    }

    #[test]
    fn resolves_names_summing_repeats_and_dropping_unknown_ones() {
        let w = Weights::from_pairs([("write", 1), ("read", 2), ("nosuch", 9), ("read", 3)]);
        let counts: Vec<(u32, u64)> = w.for_arch(0xc000_003e).into_iter().collect();
        assert_eq!(counts, [(0, 5), (1, 1)]);
        assert!(w.for_arch(0x1234).is_empty());
        // arm: a header alias resolves to its row (341), as by name.
        let arm = Weights::from_pairs([("sync_file_range2", 4), ("arm_sync_file_range", 1)]);
        let arm: Vec<(u32, u64)> = arm.for_arch(0x4000_0028).into_iter().collect();
        assert_eq!(arm, [(341, 5)]);
    }

    #[test]
    fn rejects_counts_that_overflow() {
        let err = Weights::parse("read 18446744073709551615\nwrite 1\n").unwrap_err();
        assert_eq!(err.line(), 2);
        assert!(err.to_string().contains("more than 2^64-1"), "{err}");
    }

    #[test]
    fn rejects_garbage_with_its_line() {
        let err = Weights::parse("read 10\nwrite lots\n").unwrap_err();
        assert_eq!(err.line(), 2);
        assert!(err.to_string().contains("write lots"));
    }
}

//! `sysfence equiv`, `refines` and `diff` end to end on assembly programs:
//! the exit statuses, the witness and the regions.

use std::path::PathBuf;
use sysfence_testkit::Cli;

const SYSFENCE: Cli = Cli::new(env!("CARGO_BIN_EXE_sysfence"));

fn scratch(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("sysfence-exact-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write scratch file");
    path
}

const ALLOW_GETPID: &str = "ld [0]\njeq #39, ok, deny\nok: ret #0x7fff0000\ndeny: ret #0x50001\n";
const ALLOW_GETPID_GT: &str =
    "ld [0]\njgt #39, deny, ge\nge: jge #39, ok, deny\nok: ret #0x7fff0000\ndeny: ret #0x50001\n";
const DENY_ALL: &str = "ret #0x50026\n";

#[test]
fn equal_programs_are_proven_and_different_ones_get_a_witness() {
    let a = scratch("a.asm", ALLOW_GETPID);
    let b = scratch("b.asm", ALLOW_GETPID_GT);
    let c = scratch("c.asm", DENY_ALL);
    let (code, out, _) = SYSFENCE.status(&["equiv", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = SYSFENCE.status(&["equiv", a.to_str().unwrap(), c.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("A returns") && out.contains("ERRNO(38)"),
        "{out}"
    );
    let (code, out, _) = SYSFENCE.status(&["refines", c.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = SYSFENCE.status(&["refines", a.to_str().unwrap(), c.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("nr=0x27"), "{out}");
    let (code, out, _) = SYSFENCE.status(&[
        "refines",
        "--data",
        "exact",
        a.to_str().unwrap(),
        c.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    let (code, out, _) =
        SYSFENCE.status(&["diff", "--json", a.to_str().unwrap(), c.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("{\"regions\":[") && out.contains("\"truncated\":false"),
        "{out}"
    );
    let (code, _, err) = SYSFENCE.status(&["equiv", "/nonexistent", a.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
}

/// Two values with one action name (KILL_THREAD with other data bits)
/// are told apart by their raw values in `diff`'s text.
#[test]
fn diff_shows_raw_values_when_the_action_names_agree() {
    let a = scratch("k1.asm", "ret #1\n");
    let b = scratch("k2.asm", "ret #2\n");
    let (code, out, _) = SYSFENCE.status(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("A KILL_THREAD (0x00000001) / B KILL_THREAD (0x00000002)"),
        "{out}"
    );
}

/// A filter whose every syscall depends on an argument: the summary line
/// lists that alone, with no empty list of constant actions before it.
#[test]
fn count_summary_of_a_filter_that_always_reads_an_argument() {
    let p = scratch(
        "count.asm",
        "ld [4]\njne #0xc000003e, k\nld [16]\njeq #1, a\nret #0x50001\na: ret #0x7fff0000\nk: ret #0\n",
    );
    let (code, out, err) = SYSFENCE.status(&["count", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let first = out.lines().next().unwrap_or_default();
    let (total, rest) = first
        .strip_prefix("x86_64: ")
        .and_then(|l| l.split_once(" syscalls: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(rest, format!("{total} depend on arguments"), "{out}");
}

/// A `ret a` of 16 argument bits has 65,536 return values on every
/// syscall: each line lists the 16 largest and sums the rest, and `--json`
/// lists 256 with the rest in `actions_more` (counting once took minutes and
/// gigabytes here).
#[test]
fn count_of_many_return_values_lists_the_largest_and_sums_the_rest() {
    let p = scratch(
        "count-many.asm",
        "ld [16]\nand #0xffff\nor #0x50000\nret a\n",
    );
    let p = p.to_str().unwrap();
    let (code, out, err) = SYSFENCE.status(&["count", p, "--arch", "x86_64", "read"]);
    assert_eq!(code, 0, "{err}");
    let read = out
        .lines()
        .find(|l| l.starts_with("  read (0): "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(read.matches(" 1.526e-3 %").count(), 16, "{read}");
    assert!(
        read.ends_with(", 65520 more values 99.98 % of args[0] values"),
        "{read}"
    );
    let (code, out, err) = SYSFENCE.status(&["count", p, "--arch", "x86_64", "--json", "read"]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let read = &j["arches"][0]["syscalls"][0];
    assert_eq!(read["actions"].as_array().map(Vec::len), Some(256));
    assert_eq!(read["actions_more"]["values"], 65280);
    let f = read["actions_more"]["fraction"]
        .as_f64()
        .unwrap_or_default();
    assert!((f - 65280.0 / 65536.0).abs() < 1e-12, "{f}");
}

/// Regions that touch are merged: `jgt` against `jeq` on one word is two
/// ranges, not one region per bit prefix; JSON gives ranges as min/max.
#[test]
fn diff_merges_touching_regions_into_ranges() {
    let a = scratch(
        "gt.asm",
        "ld [16]\njgt #0x53fc, y, n\ny: ret #0x7fff0000\nn: ret #0x50001\n",
    );
    let b = scratch(
        "eq.asm",
        "ld [16]\njeq #0x5401, y, n\ny: ret #0x7fff0000\nn: ret #0x50001\n",
    );
    let (code, out, _) = SYSFENCE.status(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("e.g.").count(), 2, "{out}");
    assert!(out.contains("args[0]@16=0x53fd..=0x5400: A ALLOW"), "{out}");
    assert!(
        out.contains("args[0]@16=0x5402..=0xffffffff: A ALLOW"),
        "{out}"
    );
    let (_, out, _) =
        SYSFENCE.status(&["diff", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(
        out.contains("{\"word\":\"args[0]@16\",\"min\":21506,\"max\":4294967295}"),
        "{out}"
    );
}

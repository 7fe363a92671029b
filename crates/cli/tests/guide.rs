//! Runs every command of `docs/guide.md`, in order, in one shell, from an
//! empty directory holding only a link to `corpus/`, with the built
//! `sysfence` first on `PATH`; checks each exit status and the output shown
//! (`…` matches any text; a line that is only `…`, any lines). Needs root,
//! seccomp and an unfiltered test process, as the guide says; elsewhere it
//! prints why and passes.

mod support;

use std::path::Path;
use std::process::Command;

/// One `$ ` command of the guide, with what it shows.
#[derive(Debug)]
struct Step {
    command: String,
    expected: Vec<String>,
    status: i32,
}

/// The `$ ` commands of every fenced block, with output and `[exit N]`.
fn steps(guide: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_block = false;
    for line in guide.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: cmd.to_string(),
                expected: Vec::new(),
                status: 0,
            });
        } else if let Some(step) = steps.last_mut() {
            match line
                .strip_prefix("[exit ")
                .and_then(|l| l.strip_suffix(']'))
            {
                Some(n) => step.status = n.parse().expect("[exit N]"),
                None => step.expected.push(line.to_string()),
            }
        }
    }
    steps
}

/// Whether `line` matches `pattern`, where `…` matches any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == line;
    };
    if parts.len() == 1 {
        return pattern.trim_end() == line.trim_end();
    }
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.trim_end().ends_with(last.trim_end())
}

/// Whether `actual` lines match `expected`, with `…` lines as gaps.
fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((gap, rest)) if gap == "…" => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, more)| line_matches(first, line) && output_matches(rest, more)),
    }
}

/// The script: each command with its output and status between markers.
fn script(steps: &[Step]) -> String {
    let mut s = String::from("set +e\n");
    for (i, step) in steps.iter().enumerate() {
        s.push_str(&format!(
            "echo '@@step {i}'\n{{ {}\n}} 2>&1\necho \"@@exit $?\"\n",
            step.command
        ));
    }
    s
}

#[test]
fn matcher() {
    assert!(line_matches("process … (tar)", "process 12 (tar)"));
    assert!(!line_matches("process … (tar)", "process 12 (sh)"));
    assert!(line_matches("a … b … c", "a 1 b 2 c"));
    let lines = ["x", "y", "z"];
    assert!(output_matches(&["x".into(), "…".into()], &lines));
    assert!(output_matches(&["…".into(), "z".into()], &lines));
    assert!(!output_matches(&["x".into(), "z".into()], &lines));
    let s = steps("```\n$ a\nout\n[exit 3]\n```\n$ not\n");
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].status, s[0].expected.len()), (3, 1));
}

#[test]
fn every_command_of_the_guide_runs_as_shown() {
    if !support::is_root() || !support::has_seccomp() || support::is_filtered() {
        eprintln!("skipped: the guide needs root, seccomp and an unfiltered test process");
        return;
    }
    let guide = std::fs::read_to_string(support::repo("docs/guide.md")).expect("guide");
    let steps = steps(&guide);
    assert!(steps.len() > 20, "{} steps", steps.len());
    let dir = support::temp_dir("guide");
    std::os::unix::fs::symlink(support::repo("corpus"), dir.join("corpus")).expect("link");
    let bin_dir = Path::new(support::BIN).parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script(&steps))
        .current_dir(&dir)
        .env("PATH", path)
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut chunks = text.split("@@step ").skip(1);
    for (i, step) in steps.iter().enumerate() {
        let chunk = chunks
            .next()
            .unwrap_or_else(|| panic!("no output for step {i}: {text}"));
        let (body, status) = chunk.rsplit_once("@@exit ").expect("status marker");
        let lines: Vec<&str> = body.lines().skip(1).collect();
        let status: i32 = status.trim().parse().expect("status");
        assert_eq!(
            status,
            step.status,
            "`{}` exited {status}:\n{}",
            step.command,
            lines.join("\n")
        );
        assert!(
            output_matches(&step.expected, &lines),
            "`{}` printed:\n{}\nthe guide shows:\n{}",
            step.command,
            lines.join("\n"),
            step.expected.join("\n")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

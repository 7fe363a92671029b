//! `sysfence decompile`, `count` and `status`/`dump --against` end to end:
//! the profile printed is proven equal (and `equiv` under the flags it
//! states agrees), what no profile can say is refused with exit 1, counts
//! are exact, and a live process is compared with the profile it runs
//! under (as root with seccomp).

mod support;

use support::{SYSFENCE, has_seccomp, is_filtered, is_root, repo, temp_dir, write};

/// x86_64 only: getpid allowed, write allowed when fd <= 2, the rest
/// ERRNO(1); foreign arches killed, and x32 numbers (but -1) as libseccomp
/// guards them.
const SMALL: &str = "ld [4]\njeq #AUDIT_ARCH_X86_64, arch, kill\narch: ld [0]\njeq #0xffffffff, deny, guard\nguard: jge #0x40000000, kill, nr\nnr: jeq #39, allow, w\nw: jeq #1, fd, deny\nfd: ld [20]\njeq #0, lo, deny\nlo: ld [16]\njgt #2, deny, allow\nallow: ret #0x7fff0000\ndeny: ret #0x50001\nkill: ret #0\n";

/// Depends on the instruction pointer: no profile can say that.
const BY_IP: &str = "ld [4]\njeq #AUDIT_ARCH_X86_64, ip, kill\nkill: ret #0\nip: ld [8]\njeq #0, allow, deny\nallow: ret #0x7fff0000\ndeny: ret #0x50001\n";

/// The flags the proof holds under, from decompile's standard error.
fn stated_flags(err: &str) -> Vec<String> {
    let line = err
        .lines()
        .find_map(|l| l.split("when read with: ").nth(1))
        .unwrap_or_else(|| panic!("no context stated: {err}"));
    line.split_whitespace().map(String::from).collect()
}

/// Decompiles `prog` and checks `equiv` under the stated flags.
fn decompile_and_check(prog: &str, format: &str, dir: &std::path::Path) -> String {
    decompile_and_check_with(prog, format, dir, &[])
}

/// [`decompile_and_check`] with more decompile flags.
fn decompile_and_check_with(
    prog: &str,
    format: &str,
    dir: &std::path::Path,
    more: &[&str],
) -> String {
    // A minijail policy is told from assembly by its name.
    let ext = if format == "minijail" {
        "policy"
    } else {
        "json"
    };
    let out = dir
        .join(format!("out.{format}.{ext}"))
        .display()
        .to_string();
    let mut args = vec!["decompile", prog, "--format", format, "-o", &out];
    args.extend(more);
    let r = SYSFENCE.exec(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let flags = stated_flags(&r.stderr);
    let mut args = vec!["equiv", &out, prog];
    args.extend(flags.iter().map(String::as_str));
    args.push("--quiet");
    let e = SYSFENCE.exec(&args);
    assert_eq!(e.code, 0, "{} {}", e.stdout, e.stderr);
    std::fs::read_to_string(&out).unwrap()
}

#[test]
fn a_program_decompiles_into_each_format_with_equiv_holding() {
    let dir = temp_dir("decompile");
    let prog = write(&dir, "small.asm", SMALL);
    let docker = decompile_and_check(&prog, "docker", &dir);
    assert!(
        docker.contains("SCMP_CMP_LE") && docker.contains("getpid"),
        "{docker}"
    );
    let oci = decompile_and_check(&prog, "oci", &dir);
    assert!(oci.contains("\"linux\""), "{oci}");
    // seccompiler gives foreign arches KILL_PROCESS, this program KILL_THREAD.
    let r = SYSFENCE.exec(&["decompile", &prog, "--format", "seccompiler"]);
    r.assert_fails(1, &["seccompiler gives them KILL_PROCESS"], "");
    let compiled = dir.join("vmm.bpf").display().to_string();
    let c = SYSFENCE.exec(&[
        "compile",
        &repo("corpus/profiles/worker.seccompiler.json"),
        "--emit",
        "raw",
        "-o",
        &compiled,
        "--host-arch",
        "x86_64",
        "--quiet",
    ]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    decompile_and_check(&compiled, "seccompiler", &dir);
}

/// x86_64 only: getpid allowed, write allowed when fd <= 2, read
/// ERRNO(5), the rest and foreign arches KILL_THREAD: a minijail policy.
const KILLING: &str = "ld [4]\njeq #AUDIT_ARCH_X86_64, arch, kill\narch: ld [0]\njeq #39, allow, w\nw: jeq #1, fd, r\nr: jeq #0, errno, kill\nfd: ld [20]\njeq #0, lo, kill\nlo: ld [16]\njgt #2, kill, allow\nallow: ret #0x7fff0000\nerrno: ret #0x50005\nkill: ret #0\n";

#[test]
fn a_program_decompiles_into_a_minijail_policy_with_equiv_holding() {
    let Some(constants) =
        sysfence_testkit::shared::require("corpus/third-party/crosvm/x86_64/constants.json")
    else {
        return;
    };
    let constants = constants.display().to_string();
    let dir = temp_dir("decompile-minijail");
    let prog = write(&dir, "killing.asm", KILLING);
    let policy = decompile_and_check_with(&prog, "minijail", &dir, &["--constants", &constants]);
    for line in [
        "getpid: allow\n",
        "read: return 5\n",
        "write: arg0 <= 0x2; allow\n",
    ] {
        assert!(policy.contains(line), "{line:?} in\n{policy}");
    }
    // Without --constants the proof reads it with sysfence's own table.
    let r = SYSFENCE.exec(&["decompile", &prog, "--format", "minijail"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, policy);
    // ERRNO(1) for every other call: minijail's @default cannot say it.
    let small = write(&dir, "small.asm", SMALL);
    let r = SYSFENCE.exec(&["decompile", &small, "--format", "minijail"]);
    r.assert_fails(
        1,
        &["the default action is ERRNO(1); minijail's @default"],
        "",
    );
}

#[test]
fn what_no_profile_can_say_is_refused_with_the_reason() {
    let dir = temp_dir("decompile-ip");
    let prog = write(&dir, "ip.asm", BY_IP);
    let r = SYSFENCE.exec(&["decompile", &prog]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("instruction pointer"), "{}", r.stderr);
    assert!(
        r.stderr.contains("the nearest profile differs at"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(SYSFENCE.exec(&["decompile", "/nonexistent"]).code, 2);
    // Every number from bit 30 up killed, -1 included: libseccomp's x32
    // guard leaves -1 to the default.
    let guard = write(
        &dir,
        "guard.asm",
        "ld [4]\njne #0xc000003e, bad\nld [0]\njge #0x40000000, bad\nret #0x7fff0000\nbad: ret #0\n",
    );
    for (format, noun) in [("docker", "a Docker profile"), ("oci", "an OCI profile")] {
        let r = SYSFENCE.exec(&["decompile", &guard, "--format", format]);
        r.assert_fails(
            1,
            &[
                &format!("not expressible as {noun}\n"),
                "lost: x86_64: number 0xffffffff (-1) gets KILL_THREAD like the x32 numbers",
                "differs at arch=x86_64 nr=0xffffffff",
            ],
            format,
        );
    }
}

#[test]
fn counts_are_exact_shares_of_the_argument_space() {
    let dir = temp_dir("count");
    let prog = write(&dir, "small.asm", SMALL);
    let r = SYSFENCE.exec(&["count", &prog]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("x86_64: "), "{}", r.stdout);
    // write: fd in 0..=2 of 2^64 values.
    assert!(
        r.stdout.contains(
            "write (1): ERRNO(1) 100 % - 1.626e-17 %, ALLOW 1.626e-17 % of args[0] values"
        ),
        "{}",
        r.stdout
    );
    let j = SYSFENCE.exec(&["count", &prog, "--json", "write", "getpid"]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).expect("json");
    let write = &v["arches"][0]["syscalls"][0];
    assert_eq!(write["name"], "write", "{v:#}");
    let allow = write["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "ALLOW")
        .unwrap();
    assert_eq!(allow["count"], "3");
    assert_eq!(allow["of_bits"], 64);
    assert_eq!(
        v["arches"][0]["syscalls"][1]["depends_on"],
        serde_json::json!([])
    );
}

/// Runs `sleep` under `profiles` (stacked, the first installed first);
/// returns the child once its filters are on.
fn confined(profiles: &[&str]) -> Option<(std::process::Child, String)> {
    let mut args = Vec::new();
    for p in profiles {
        args.extend([support::BIN, "run", p, "--"]);
    }
    args.extend(["sleep", "10"]);
    let mut child = std::process::Command::new(args[0])
        .args(&args[1..])
        .spawn()
        .expect("spawn");
    let pid = child.id().to_string();
    let want = format!("{} filter(s), ", profiles.len());
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if SYSFENCE.exec(&["status", &pid]).stdout.contains(&want) {
            return Some((child, pid));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn a_live_process_is_proven_confined_by_its_profile_and_decompiles() {
    if !is_root() || !has_seccomp() || is_filtered() {
        eprintln!(
            "skipped: reading another process's filters needs root, seccomp and no filter on sysfence"
        );
        return;
    }
    let same = repo("corpus/profiles/no-chmod.json");
    let other = repo("corpus/profiles/deny-list.json");
    let (mut child, pid) = confined(&[&same]).expect("the filter is installed");
    let eq = SYSFENCE.exec(&["status", &pid, "--against", &same, "--quiet"]);
    let ne = SYSFENCE.exec(&["status", &pid, "--against", &other, "--quiet"]);
    let dump = SYSFENCE.exec(&["dump", &pid, "--against", &same]);
    let dir = temp_dir("decompile-live");
    let live = format!("pid:{pid}");
    let out = dir.join("live.json").display().to_string();
    let dec = SYSFENCE.exec(&["decompile", &live, "-o", &out]);
    let flags = stated_flags(&dec.stderr);
    let mut args = vec!["equiv", out.as_str(), live.as_str()];
    args.extend(flags.iter().map(String::as_str));
    args.push("--quiet");
    let back = SYSFENCE.exec(&args);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(eq.code, 0, "{} {}", eq.stdout, eq.stderr);
    assert!(eq.stdout.contains("proven on every input"), "{}", eq.stdout);
    assert_eq!(ne.code, 1, "{} {}", ne.stdout, ne.stderr);
    assert!(
        ne.stdout.contains("not confined by exactly"),
        "{}",
        ne.stdout
    );
    assert_eq!(dump.code, 0, "{} {}", dump.stdout, dump.stderr);
    assert_eq!(dec.code, 0, "{}", dec.stderr);
    assert_eq!(back.code, 0, "{} {}", back.stdout, back.stderr);
}

#[test]
fn a_stack_is_compared_as_the_kernel_combines_it() {
    if !is_root() || !has_seccomp() || is_filtered() {
        eprintln!(
            "skipped: reading another process's filters needs root, seccomp and no filter on sysfence"
        );
        return;
    }
    let outer = repo("corpus/profiles/deny-list.json");
    let inner = repo("corpus/profiles/no-chmod.json");
    let (mut child, pid) = confined(&[&outer, &inner]).expect("both filters are installed");
    let r = SYSFENCE.exec(&["status", &pid, "--against", &inner, "--quiet"]);
    let _ = child.kill();
    let _ = child.wait();
    // The stack kills what deny-list kills: stricter than no-chmod alone.
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("at least as strict as the profile everywhere"),
        "{}",
        r.stdout
    );
}

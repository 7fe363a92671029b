//! minijail's policy compiler (`compile_seccomp_policy.py`, Python 3) as a
//! peer, run from the shared corpus's `peers/minijail/tools`.
//!
//! In: a folder of crosvm policies for one arch. [`stage`] copies it to a
//! temporary folder with crosvm's absolute `@include` paths
//! (`/usr/share/policy/crosvm/NAME`) rewritten to `./NAME`, as minijail
//! resolves them relative to the including file. [`Minijail::compile`]
//! runs one Python process per policy (the compile time crosvm's build
//! pays); a [`Worker`] runs the same entry point for one policy after
//! another in one process ([`Minijail::compile_many`], for tests). Out: raw programs, native endian.
//! Not checked here: what the programs mean (the caller compares them).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The peer: the Python interpreter and minijail's tools folder.
#[derive(Clone, Debug)]
pub struct Minijail {
    tools: PathBuf,
}

/// Runs each `POLICY STRATEGY OUT` line of standard input through
/// `compile_seccomp_policy.main` and prints `ok` or `error MESSAGE`.
const DRIVER: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
import compile_seccomp_policy as peer
for line in sys.stdin:
    policy, strategy, out = line.split()
    try:
        peer.main(["--arch-json", "constants.json", "--optimization-strategy", strategy, policy, out])
        print("ok", flush=True)
    except BaseException as e:
        print("error", str(e).replace("\n", " "), flush=True)
"#;

impl Minijail {
    /// The peer under `shared`, if its tools and `python3` are there.
    pub fn find(shared: &Path) -> Result<Minijail, String> {
        let tools = shared.join("peers/minijail/tools");
        if !tools.join("compile_seccomp_policy.py").is_file() {
            return Err(format!(
                "{} has no compile_seccomp_policy.py",
                tools.display()
            ));
        }
        let ok = Command::new("python3")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Err("python3 is not installed".into());
        }
        Ok(Minijail { tools })
    }

    /// Compiles `policy` (a file name in the staged `dir`) in one Python
    /// process; returns the program bytes and the wall time of the process.
    pub fn compile(
        &self,
        dir: &Path,
        policy: &str,
        strategy: &str,
    ) -> Result<(Vec<u8>, Duration), String> {
        let out = dir.join(format!("{policy}.{strategy}.bpf"));
        let start = Instant::now();
        let run = Command::new("python3")
            .arg(self.tools.join("compile_seccomp_policy.py"))
            .args([
                "--arch-json",
                "constants.json",
                "--optimization-strategy",
                strategy,
                policy,
            ])
            .arg(&out)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("python3: {e}"))?;
        let took = start.elapsed();
        if !run.status.success() {
            return Err(String::from_utf8_lossy(&run.stderr).trim().to_string());
        }
        let bytes = std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok((bytes, took))
    }

    /// Compiles many `(policy, strategy)` pairs in one Python process.
    pub fn compile_many(
        &self,
        dir: &Path,
        jobs: &[(String, String)],
    ) -> Result<Vec<Result<Vec<u8>, String>>, String> {
        let mut worker = self.worker(dir)?;
        jobs.iter().map(|(p, s)| worker.compile(p, s)).collect()
    }

    /// A Python process that compiles policies of `dir` one job at a time.
    pub fn worker(&self, dir: &Path) -> Result<Worker, String> {
        let mut child = Command::new("python3")
            .args(["-c", DRIVER])
            .arg(&self.tools)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("python3: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("python3: no pipes".into());
        };
        Ok(Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            dir: dir.to_path_buf(),
        })
    }
}

/// One running peer process (see [`Minijail::worker`]).
#[derive(Debug)]
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    dir: PathBuf,
}

impl Worker {
    /// Compiles `policy` (a file name in the worker's folder) with
    /// `strategy`: the program, or minijail's message when it refuses the
    /// policy. The outer error: the process failed.
    pub fn compile(
        &mut self,
        policy: &str,
        strategy: &str,
    ) -> Result<Result<Vec<u8>, String>, String> {
        let out = format!("{policy}.{strategy}.bpf");
        writeln!(self.stdin, "{policy} {strategy} {out}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("the peer: {e}"))?;
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => return Err("the peer stopped".into()),
            Err(e) => return Err(format!("the peer: {e}")),
            Ok(_) => {}
        }
        Ok(match line.trim_end().strip_prefix("error") {
            Some(e) => Err(e.trim().to_string()),
            None => std::fs::read(self.dir.join(&out)).map_err(|e| format!("{out}: {e}")),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies an arch folder of crosvm policies to a fresh temporary folder,
/// rewriting absolute include paths to the folder itself.
pub fn stage(src: &Path, tag: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("sysfence-minijail-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(src)? {
        let path = entry?.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "policy") {
            let text = std::fs::read_to_string(&path)?;
            std::fs::write(
                dir.join(name),
                text.replace("/usr/share/policy/crosvm/", "./"),
            )?;
        } else if path.is_file() {
            std::fs::copy(&path, dir.join(name))?;
        }
    }
    Ok(dir)
}

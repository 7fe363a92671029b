//! A [`Plan`] as profile text: Docker/moby JSON, an OCI `config.json`
//! fragment, seccompiler JSON, or a minijail policy
//! ([`super::minijail`]).
//!
//! In: a plan. Out: the text, and notes for what the format cannot carry
//! (appended to the plan's losses by [`render`]): Docker and OCI give every
//! foreign arch KILL_THREAD and carry no TRAP data; seccompiler filters
//! hold one arch, one match action and one mismatch action, and give
//! foreign arches KILL_PROCESS. Actions are spelt as the formats spell
//! them; `errnoRet` carries ERRNO and TRACE data.

use serde_json::{Value, json};
use sysfence_cbpf::Action;

use super::{ArgTest, Dialect, Plan, TestOp, action_name};

/// The profile formats `decompile` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutFormat {
    /// Docker/moby `seccomp.json`.
    Docker,
    /// An OCI `config.json` holding `linux.seccomp`.
    Oci,
    /// seccompiler JSON, one thread category named `main`.
    Seccompiler,
    /// A minijail policy (`super::minijail`).
    Minijail,
}

impl OutFormat {
    /// What a text in the format is called, with its article, for
    /// messages: "an OCI profile", "a minijail policy".
    pub fn noun(self) -> &'static str {
        match self {
            OutFormat::Docker => "a Docker profile",
            OutFormat::Oci => "an OCI profile",
            OutFormat::Seccompiler => "a seccompiler profile",
            OutFormat::Minijail => "a minijail policy",
        }
    }

    /// The profile crate's format of the text.
    pub fn profile_format(self) -> sysfence_profile::Format {
        match self {
            OutFormat::Docker => sysfence_profile::Format::Docker,
            OutFormat::Oci => sysfence_profile::Format::Oci,
            OutFormat::Seccompiler => sysfence_profile::Format::Seccompiler,
            OutFormat::Minijail => sysfence_profile::Format::Minijail,
        }
    }

    /// What the format's rules can say.
    pub fn dialect(self) -> Dialect {
        match self {
            OutFormat::Minijail => Dialect::Ordered,
            _ => Dialect::Sets,
        }
    }
}

/// The plan as text in `format`, with the format's own losses added.
pub fn render(plan: &mut Plan, format: OutFormat) -> String {
    let value = match format {
        OutFormat::Docker => docker(plan),
        OutFormat::Oci => json!({"ociVersion": "1.0.2", "linux": {"seccomp": docker(plan)}}),
        OutFormat::Seccompiler => seccompiler(plan),
        OutFormat::Minijail => return super::minijail::render(plan),
    };
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// An action the value round-trips through, or a note why not.
fn checked(raw: u32, plan: &mut Plan) -> Action {
    let a = Action::from_raw(raw);
    if a.to_raw() != raw || matches!(a, Action::Unknown(_)) {
        plan.lost.push(format!(
            "return value {raw:#010x} is not an action a profile can name"
        ));
    }
    a
}

/// `SCMP_ACT_*` and the `errnoRet` it carries.
fn scmp_action(raw: u32, plan: &mut Plan) -> (&'static str, Option<u16>) {
    match checked(raw, plan) {
        Action::KillProcess => ("SCMP_ACT_KILL_PROCESS", None),
        Action::KillThread => ("SCMP_ACT_KILL_THREAD", None),
        Action::Trap(d) => {
            if d != 0 {
                plan.lost
                    .push(format!("TRAP data {d}: Docker and OCI profiles carry none"));
            }
            ("SCMP_ACT_TRAP", None)
        }
        Action::Errno(e) => ("SCMP_ACT_ERRNO", Some(e)),
        Action::Trace(d) => ("SCMP_ACT_TRACE", Some(d)),
        Action::UserNotif => ("SCMP_ACT_NOTIFY", None),
        Action::Log => ("SCMP_ACT_LOG", None),
        Action::Allow | Action::Unknown(_) => ("SCMP_ACT_ALLOW", None),
    }
}

fn docker(plan: &mut Plan) -> Value {
    if plan.bad_arch != Action::KillThread.to_raw() {
        plan.lost.push(format!(
            "foreign arches get {}; Docker and OCI profiles give them KILL_THREAD",
            action_name(plan.bad_arch)
        ));
    }
    let (default, errno) = scmp_action(plan.default, plan);
    let mut root = json!({"defaultAction": default});
    if let Some(e) = errno {
        root["defaultErrnoRet"] = json!(e);
    }
    let arches: Vec<&str> = plan.arches.iter().map(|a| a.scmp_name()).collect();
    root["architectures"] = json!(arches);
    let mut notify = false;
    let mut rules = Vec::new();
    for e in plan.entries.clone() {
        let (action, errno) = scmp_action(e.action, plan);
        notify |= action == "SCMP_ACT_NOTIFY";
        let mut r = json!({"names": e.names, "action": action});
        if let Some(n) = errno {
            r["errnoRet"] = json!(n);
        }
        if !e.tests.is_empty() {
            r["args"] = e.tests.iter().map(docker_arg).collect();
        }
        rules.push(r);
    }
    if !plan.stub_marks.is_empty() {
        let (action, errno) = scmp_action(plan.default, plan);
        let mut r = json!({"names": plan.stub_marks, "action": action});
        if let Some(n) = errno {
            r["errnoRet"] = json!(n);
        }
        rules.push(r);
    }
    if notify {
        root["listenerPath"] = json!("/run/seccomp-agent.socket");
    }
    root["syscalls"] = Value::Array(rules);
    root
}

fn docker_arg(t: &ArgTest) -> Value {
    let (op, value, two) = match t.op {
        TestOp::Eq => ("SCMP_CMP_EQ", t.value, 0),
        TestOp::MaskedEq => ("SCMP_CMP_MASKED_EQ", t.mask, t.value),
        TestOp::Le => ("SCMP_CMP_LE", t.value, 0),
        TestOp::Ge => ("SCMP_CMP_GE", t.value, 0),
    };
    json!({"index": t.arg, "value": value, "valueTwo": two, "op": op})
}

/// seccompiler's spelling of an action.
fn seccompiler_action(raw: u32, plan: &mut Plan) -> Value {
    match checked(raw, plan) {
        Action::KillProcess => json!("kill_process"),
        Action::KillThread => json!("kill_thread"),
        Action::Trap(d) => {
            if d != 0 {
                plan.lost
                    .push(format!("TRAP data {d}: seccompiler JSON carries none"));
            }
            json!("trap")
        }
        Action::Errno(e) => json!({"errno": e}),
        Action::Trace(d) => json!({"trace": d}),
        Action::Log => json!("log"),
        other => {
            if other != Action::Allow {
                plan.lost
                    .push(format!("{other}: seccompiler JSON has no such action"));
            }
            json!("allow")
        }
    }
}

fn seccompiler(plan: &mut Plan) -> Value {
    if plan.bad_arch != Action::KillProcess.to_raw() {
        plan.lost.push(format!(
            "foreign arches get {}; seccompiler gives them KILL_PROCESS",
            action_name(plan.bad_arch)
        ));
    }
    if plan.x32_guard {
        plan.lost.push(format!(
            "x32 numbers get {} (libseccomp's x32 guard); seccompiler has no guard and gives them the mismatch action",
            action_name(plan.bad_arch)
        ));
    }
    let mut audits: Vec<u32> = plan.arches.iter().map(|a| a.audit_arch()).collect();
    audits.dedup();
    if audits.len() > 1 {
        plan.lost.push("a seccompiler filter holds one arch".into());
    }
    let mut actions: Vec<u32> = plan.entries.iter().map(|e| e.action).collect();
    actions.dedup();
    actions.sort_unstable();
    actions.dedup();
    if actions.len() > 1 {
        plan.lost.push(format!(
            "{} actions besides the default; a seccompiler filter has one match action",
            actions.len()
        ));
    }
    // With no rule the match action is never taken; it must only differ.
    let unused = if plan.default == Action::Allow.to_raw() {
        Action::KillProcess
    } else {
        Action::Allow
    };
    let matched = actions.first().copied().unwrap_or(unused.to_raw());
    let mut filter = Vec::new();
    for e in &plan.entries {
        for name in &e.names {
            let mut r = json!({"syscall": name});
            if !e.tests.is_empty() {
                r["args"] = e.tests.iter().map(seccompiler_arg).collect();
            }
            filter.push(r);
        }
    }
    let mismatch = seccompiler_action(plan.default, plan);
    let matched = seccompiler_action(matched, plan);
    json!({"main": {"mismatch_action": mismatch, "match_action": matched, "filter": filter}})
}

fn seccompiler_arg(t: &ArgTest) -> Value {
    let op = match t.op {
        TestOp::Eq => json!("eq"),
        TestOp::MaskedEq => json!({"masked_eq": t.mask}),
        TestOp::Le => json!("le"),
        TestOp::Ge => json!("ge"),
    };
    json!({"index": t.arg, "type": "qword", "op": op, "val": t.value})
}

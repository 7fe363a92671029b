//! Random Docker/OCI seccomp profiles for property tests.
//!
//! In: a [`Shape`] (the syscall names rules may use, how many rules and
//! conditions). Out: a proptest strategy of [`Profile`]s, each printable as
//! the JSON text a runtime reads ([`Profile::json`]). What is drawn: every
//! default and rule action runc knows (`SCMP_ACT_ALLOW`, `ERRNO` with and
//! without `errnoRet`, `KILL`, `KILL_THREAD`, `KILL_PROCESS`, `TRAP`, `LOG`,
//! `TRACE`), `defaultErrnoRet`, the x86 family's `architectures` lists,
//! several rules per name, conditions with every `SCMP_CMP_*` operator
//! (`MASKED_EQ` included) on any argument (repeated indexes too), and
//! values around the interesting points of both 32-bit words ([`value`]).
//!
//! Not checked: that a profile is one a runtime accepts; errno values past
//! 4095 and names no table knows are drawn on purpose.

use proptest::prelude::*;

/// The comparison operators, as `SCMP_CMP_` suffixes.
pub const OPS: [&str; 7] = ["NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ"];

/// The actions runc reads, as `SCMP_ACT_` suffixes; `ERRNO` and `TRACE`
/// take `errnoRet`.
pub const ACTIONS: [&str; 8] = [
    "ALLOW",
    "ERRNO",
    "KILL",
    "KILL_THREAD",
    "KILL_PROCESS",
    "TRAP",
    "LOG",
    "TRACE",
];

/// The `architectures` lists drawn (an x86_64 host's family).
pub const ARCH_LISTS: [&[&str]; 5] = [
    &[],
    &["SCMP_ARCH_X86_64"],
    &["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
    &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    &["SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_X86"],
];

/// One condition: `{"index", "op", "value", "valueTwo"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// The argument, 0..=5.
    pub index: u8,
    /// An entry of [`OPS`].
    pub op: &'static str,
    /// `value` (the mask for `MASKED_EQ`).
    pub value: u64,
    /// `valueTwo` (the datum for `MASKED_EQ`).
    pub value_two: u64,
}

/// One entry of `syscalls`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `names`.
    pub names: Vec<&'static str>,
    /// An entry of [`ACTIONS`].
    pub action: &'static str,
    /// `errnoRet`, when present.
    pub errno_ret: Option<u64>,
    /// `args`.
    pub args: Vec<Arg>,
}

/// A whole profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// An entry of [`ACTIONS`].
    pub default_action: &'static str,
    /// `defaultErrnoRet`, when present.
    pub default_errno_ret: Option<u64>,
    /// `architectures`.
    pub architectures: Vec<&'static str>,
    /// `syscalls`.
    pub syscalls: Vec<Rule>,
}

/// What the strategy draws from.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// The syscall names rules use.
    pub names: &'static [&'static str],
    /// Rules per profile (at least 1).
    pub max_rules: usize,
    /// Conditions per rule.
    pub max_args: usize,
    /// Where condition values come from.
    pub values: Values,
}

/// Where condition values come from.
#[derive(Clone, Copy, Debug)]
pub enum Values {
    /// [`value`]: any 64-bit value, weighted toward word edges.
    Wide,
    /// A few values, so that rules share comparisons and word nodes (the
    /// shapes libseccomp's merge defects need).
    Pool(&'static [u64]),
}

impl Values {
    fn strategy(self) -> BoxedStrategy<u64> {
        match self {
            Values::Wide => value().boxed(),
            Values::Pool(pool) => prop::sample::select(pool.to_vec()).boxed(),
        }
    }
}

impl Arg {
    fn json(&self) -> String {
        format!(
            r#"{{"index":{},"op":"SCMP_CMP_{}","value":{},"valueTwo":{}}}"#,
            self.index, self.op, self.value, self.value_two
        )
    }
}

impl Rule {
    fn json(&self) -> String {
        let names: Vec<String> = self.names.iter().map(|n| format!("\"{n}\"")).collect();
        let args: Vec<String> = self.args.iter().map(Arg::json).collect();
        let errno = self
            .errno_ret
            .map_or(String::new(), |e| format!(r#","errnoRet":{e}"#));
        format!(
            r#"{{"names":[{}],"action":"SCMP_ACT_{}"{errno},"args":[{}]}}"#,
            names.join(","),
            self.action,
            args.join(",")
        )
    }
}

impl Profile {
    /// `syscalls` under the default action ERRNO, for x86_64 and x32 or, when
    /// not `x32`, with no `architectures` (the host's arch alone).
    pub fn errno_default(syscalls: Vec<Rule>, x32: bool) -> Profile {
        let architectures = match x32 {
            true => vec!["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
            false => vec![],
        };
        Profile {
            default_action: "ERRNO",
            default_errno_ret: None,
            architectures,
            syscalls,
        }
    }

    /// The profile as Docker/OCI JSON text.
    pub fn json(&self) -> String {
        let arches: Vec<String> = self
            .architectures
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect();
        let rules: Vec<String> = self.syscalls.iter().map(Rule::json).collect();
        let errno = self
            .default_errno_ret
            .map_or(String::new(), |e| format!(r#","defaultErrnoRet":{e}"#));
        format!(
            r#"{{"defaultAction":"SCMP_ACT_{}"{errno},"architectures":[{}],"syscalls":[{}]}}"#,
            self.default_action,
            arches.join(","),
            rules.join(",")
        )
    }

    /// Every constant the conditions name (values and masks).
    pub fn constants(&self) -> Vec<(u8, u64)> {
        let mut out = Vec::new();
        for a in self.syscalls.iter().flat_map(|r| &r.args) {
            out.extend([(a.index, a.value), (a.index, a.value_two)]);
        }
        out
    }
}

/// Rule sets on one or two syscalls with a few shared values: the shapes of
/// GHSA-4q85-33p6-j5g6, the stale accumulator and libseccomp's loops.
pub const MERGE_SHAPE: Shape = Shape {
    names: &["read", "write"],
    max_rules: 6,
    max_args: 3,
    values: Values::Pool(&[
        0,
        1,
        2,
        5,
        8,
        0x7fff_ffff,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        0x1_0000_0100,
        0x1_0000_0200,
    ]),
};

/// Values around the interesting points of both 32-bit words (0, 1, the
/// sign bit, all ones), and any value.
pub fn value() -> impl Strategy<Value = u64> + Clone {
    let word = prop_oneof![
        0u32..4,
        u32::MAX - 2..=u32::MAX,
        0x7fff_fffeu32..=0x8000_0001,
        any::<u32>(),
    ];
    prop_oneof![
        any::<u64>(),
        (0u64..3, word.clone()).prop_map(|(h, l)| (h << 32) | u64::from(l)),
        (word.clone(), word).prop_map(|(h, l)| (u64::from(h) << 32) | u64::from(l)),
    ]
}

/// `errnoRet`: absent mostly; small values, ENOSYS, the edges of libseccomp's
/// limit (4094, 4095), a value that the 16-bit cut brings back below it,
/// and `SCMP_ACT_ERRNO(ENOSYS)` (0x50026, runc's stub switch).
fn errno_ret() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        6 => Just(None),
        3 => (0u64..4).prop_map(Some),
        1 => prop::sample::select(vec![38u64, 4094, 4095, 0x1_0005, 0x5_0026]).prop_map(Some),
    ]
}

fn arg(values: Values) -> impl Strategy<Value = Arg> {
    let v = values.strategy();
    (0u8..6, prop::sample::select(OPS.to_vec()), v.clone(), v).prop_map(
        |(index, op, value, value_two)| Arg {
            index,
            op,
            value,
            value_two,
        },
    )
}

fn action() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just("ALLOW"),
        3 => Just("ERRNO"),
        4 => prop::sample::select(ACTIONS.to_vec()),
    ]
}

fn rule(shape: Shape) -> impl Strategy<Value = Rule> {
    let names = prop::collection::vec(prop::sample::select(shape.names.to_vec()), 1..=2);
    let args = prop::collection::vec(arg(shape.values), 0..=shape.max_args);
    (names, action(), errno_ret(), args).prop_map(|(names, action, errno_ret, args)| Rule {
        names,
        action,
        errno_ret,
        args,
    })
}

/// Random profiles of the given shape.
pub fn profile(shape: Shape) -> impl Strategy<Value = Profile> {
    let arches = prop::sample::select(ARCH_LISTS.to_vec());
    let rules = prop::collection::vec(rule(shape), 1..=shape.max_rules.max(1));
    (action(), errno_ret(), arches, rules).prop_map(
        |(default_action, default_errno_ret, arches, syscalls)| Profile {
            default_action,
            default_errno_ret,
            architectures: arches.to_vec(),
            syscalls,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn profiles_print_as_json_with_every_drawn_field() {
        let shape = Shape {
            names: &["read", "write"],
            max_rules: 4,
            max_args: 3,
            values: Values::Wide,
        };
        let mut runner = TestRunner::deterministic();
        let mut seen_masked = false;
        for _ in 0..200 {
            let p = profile(shape).new_tree(&mut runner).unwrap().current();
            let text = p.json();
            assert!(text.starts_with(r#"{"defaultAction":"SCMP_ACT_"#), "{text}");
            assert_eq!(text.matches(r#""names":"#).count(), p.syscalls.len());
            seen_masked |= text.contains("SCMP_CMP_MASKED_EQ");
        }
        assert!(seen_masked);
    }
}

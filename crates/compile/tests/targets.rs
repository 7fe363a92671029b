//! The size and speed targets on real profiles, measured with the cost
//! model. Figures are printed (`--nocapture`) and written to docs/compiler.md.

use std::path::PathBuf;
use std::time::Instant;

use sysfence_cbpf::{SeccompData, interp};
use sysfence_compile::cost::{ProgramCost, measure};
use sysfence_compile::{Config, Layout, Weights, compile};
use sysfence_profile::arch::Arch;
use sysfence_profile::ir::Policy;
use sysfence_profile::{HostContext, LoadOptions, load};

use sysfence_abi::arch::AUDIT_ARCH_X86_64 as X86_64;

fn shared(rel: &str) -> Option<PathBuf> {
    sysfence_testkit::shared::require(&format!("corpus/{rel}"))
}

fn policy(rel: &str, filter: Option<&str>) -> Option<Policy> {
    let path = shared(rel)?;
    let text = std::fs::read(&path).ok()?;
    let opts = LoadOptions {
        filter: filter.map(str::to_string),
        context: HostContext::default().with_arches(&[Arch::X86_64]),
        ..LoadOptions::default()
    };
    Some(load(&text, &opts).expect("corpus profile loads").policy)
}

fn mix(name: &str) -> Option<(String, Weights)> {
    let text = std::fs::read_to_string(shared(&format!("workloads/{name}.strace-c.txt"))?).ok()?;
    Some((name.to_string(), Weights::parse(&text).expect("mix parses")))
}

fn cost(
    p: &Policy,
    layout: Layout,
    weights: Option<&Weights>,
    mixes: &[(String, Weights)],
) -> ProgramCost {
    let mut config = Config::new().layout(layout).arches(vec![Arch::X86_64]);
    if let Some(w) = weights {
        config = config.weights(w.clone());
    }
    let c = compile(p, &config).unwrap();
    measure(c.policy(), c.program(), c.order(), mixes)
}

#[test]
fn docker_default_meets_the_targets() {
    let (Some(p), Some(nginx)) = (policy("third-party/moby/default.json", None), mix("nginx"))
    else {
        eprintln!("skipped: moby/default.json or the nginx mix is absent");
        return;
    };
    let mixes = vec![nginx.clone()];
    let tree = cost(&p, Layout::Tree, None, &mixes);
    let weighted = cost(&p, Layout::Weighted, Some(&nginx.1), &mixes);
    let linear = cost(&p, Layout::Linear, None, &mixes);
    for (name, c) in [
        ("linear", &linear),
        ("tree", &tree),
        ("weighted", &weighted),
    ] {
        let a = &c.arches[0];
        let m = &a.mixes[0];
        eprintln!(
            "docker x86_64 {name}: length {}, intervals {}, allowed worst {} mean {:.2}, denied worst {} mean {:.2}, \
             arg-checked worst {}, cached {:.3}, nginx mean {:.2} (entropy bound {:.2}, optimal tree {:.2})",
            c.length,
            a.intervals,
            a.allowed.worst,
            a.allowed.mean,
            a.denied.worst,
            a.denied.mean,
            a.arg_checked.worst,
            a.cached_share,
            m.mean,
            m.entropy_bound,
            m.optimal_tree
        );
    }
    assert!(tree.length <= 150, "tree length {}", tree.length);
    assert!(
        tree.arches[0].allowed.worst <= 13,
        "tree worst {}",
        tree.arches[0].allowed.worst
    );
    assert!(
        tree.arches[0].denied.worst <= 13,
        "tree denied worst {}",
        tree.arches[0].denied.worst
    );
    assert!(
        weighted.arches[0].mixes[0].mean <= 7.0,
        "weighted nginx mean {}",
        weighted.arches[0].mixes[0].mean
    );
    assert!(weighted.arches[0].allowed.worst <= tree.arches[0].allowed.worst + 2);

    let start = Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        compile(&p, &Config::new().arches(vec![Arch::X86_64])).unwrap();
    }
    eprintln!(
        "docker x86_64 tree compile + check: {:?} per compile (this build)",
        start.elapsed() / rounds
    );
    // `p` is read narrowed to x86_64: the whole policy is the program's.
    let narrowed = &p;
    let t = Instant::now();
    let tree = sysfence_compile::build_tree(narrowed, &Config::new()).unwrap();
    let t1 = t.elapsed();
    let (prog, _) = sysfence_compile::emit_from_tree(&tree).unwrap();
    let t2 = t.elapsed();
    let report = sysfence_compile::check::check(narrowed, &prog).unwrap();
    eprintln!(
        "build {t1:?} emit {:?} check {:?} ({} inputs)",
        t2 - t1,
        t.elapsed() - t2,
        report.inputs()
    );
}

#[test]
fn firecracker_kvm_run_is_seven_instructions_weighted() {
    let Some(p) = policy(
        "third-party/firecracker/x86_64-unknown-linux-musl.json",
        Some("vcpu"),
    ) else {
        eprintln!("skipped: the Firecracker filter is absent");
        return;
    };
    let mix = Weights::from_pairs([
        ("ioctl", 1_000_000u64),
        ("futex", 1000),
        ("write", 100),
        ("read", 100),
    ]);
    const KVM_RUN: u64 = 0xae80;
    let ioctl = 16;
    for (layout, bound) in [(Layout::Tree, 16), (Layout::Weighted, 7)] {
        let c = compile(
            &p,
            &Config::new()
                .layout(layout)
                .weights(mix.clone())
                .arches(vec![Arch::X86_64]),
        )
        .unwrap();
        let d = SeccompData {
            args: [3, KVM_RUN, 0, 0, 0, 0],
            ..SeccompData::new(X86_64, ioctl)
        };
        let out = interp::run(c.program(), &d);
        eprintln!(
            "firecracker vcpu {layout:?}: {} instructions, ioctl(KVM_RUN) {} instructions",
            c.program().len(),
            out.insns
        );
        assert_eq!(out.action, sysfence_cbpf::Action::Allow);
        assert!(out.insns <= bound, "{layout:?}: KVM_RUN took {}", out.insns);
    }
}

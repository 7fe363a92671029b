//! Differential test against the live kernel: the compiled Docker profile
//! (x86_64) runs in the kernel through the oracle of `sysfence-linux` and in
//! the interpreter on 100,000 inputs; the raw results must be equal.
//! Skipped, with the reason printed, where the oracle cannot run (not Linux,
//! not x86_64, seccomp unavailable) or the corpus is absent.

use sysfence_cbpf::interp;
use sysfence_compile::{Config, compile};
use sysfence_linux::oracle::Oracle;
use sysfence_profile::arch::Arch;
use sysfence_profile::eval::boundary_values;
use sysfence_profile::{HostContext, LoadOptions, load};

const INPUTS: usize = 100_000;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[(self.next() % from.len() as u64) as usize]
    }
}

#[test]
fn docker_profile_agrees_with_the_kernel() {
    let Some(text) = sysfence_testkit::shared::read("corpus/third-party/moby/default.json") else {
        return;
    };
    let oracle = match Oracle::new() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: the live-kernel oracle cannot run here: {e}");
            return;
        }
    };
    let opts = LoadOptions {
        context: HostContext::default().with_arches(&[Arch::X86_64]),
        ..LoadOptions::default()
    };
    let policy = load(&text, &opts).expect("docker profile loads").policy;
    let compiled = compile(&policy, &Config::new().arches(vec![Arch::X86_64])).expect("compiles");
    let ap = policy
        .arch(Arch::X86_64.audit_arch())
        .expect("x86_64 in the policy");
    let mut values: Vec<u64> = vec![0, 1, u64::MAX, 0xffff_ffff, 0x1_0000_0000];
    for c in ap.rules.values().flatten().flat_map(|r| &r.conds) {
        values.extend(boundary_values(c, ap.width));
    }
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let max = Arch::X86_64.max_nr() + 16;
    let inputs: Vec<_> = (0..INPUTS)
        .map(|_| {
            let nr = match rng.next() % 8 {
                0 => (rng.next() as u32 % max) | 0x4000_0000,
                1 => u32::MAX,
                _ => rng.next() as u32 % max,
            };
            let nr = if nr == 335 || nr == 336 { 0 } else { nr };
            let args = [0; 6].map(|_: u64| {
                if rng.next().is_multiple_of(4) {
                    rng.next()
                } else {
                    rng.pick(&values)
                }
            });
            oracle.data(nr, args)
        })
        .collect();
    let kernel = oracle
        .run(compiled.program().insns(), &inputs)
        .expect("the kernel runs the program");
    for (d, k) in inputs.iter().zip(&kernel) {
        assert_eq!(interp::run(compiled.program(), d).raw, *k, "{d:x?}");
    }
    eprintln!("{} inputs: interpreter and kernel agree", inputs.len());
}

//! Golden output for the programs in `corpus/programs`: the assembled bytes
//! (as a C array) and the disassembly in both styles, assuming x86_64 with a
//! small syscall table. Snapshots live in `tests/snapshots/`; after an
//! intended change, regenerate them with `INSTA_UPDATE=always cargo test -p
//! sysfence-cbpf --test asm_snapshots` and review the diff.

mod asm_common;

use asm_common::{TinyX86_64, X86_64, programs};
use sysfence_cbpf::asm::{AsmOptions, DisasmOptions, Style, assemble, disassemble, to_c_array};

#[test]
fn corpus_programs() {
    let r = TinyX86_64;
    let all = programs();
    assert!(all.len() >= 5, "corpus/programs has {} programs", all.len());
    for (name, text) in all {
        let insns = assemble(&text, &AsmOptions::new().syscalls(&r))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_snapshot!(format!("{name}.bytes"), to_c_array(&insns, "filter"));
        for (style, suffix) in [(Style::Asm, "asm"), (Style::C, "c")] {
            let opts = DisasmOptions::new()
                .style(style)
                .arch(Some(X86_64))
                .syscalls(&r);
            insta::assert_snapshot!(format!("{name}.{suffix}"), disassemble(&insns, &opts));
        }
        let plain = disassemble(&insns, &DisasmOptions::new());
        assert_eq!(
            assemble(&plain, &AsmOptions::new()).unwrap(),
            insns,
            "{name}"
        );
    }
}

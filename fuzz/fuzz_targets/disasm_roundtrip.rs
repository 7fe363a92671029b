//! Arbitrary instructions: disassemble, assemble, compare.
#![no_main]

use sysfence_cbpf::Insn;

libfuzzer_sys::fuzz_target!(|fields: Vec<(u16, u8, u8, u32)>| {
    let insns: Vec<Insn> = fields
        .into_iter()
        .map(|(code, jt, jf, k)| Insn::new(code, jt, jf, k))
        .collect();
    sysfence_fuzz::checks::disasm_roundtrip(&insns);
});

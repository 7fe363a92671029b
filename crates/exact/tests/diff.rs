//! `diff`'s merged areas against the raw regions they are built from, on
//! random programs and their one-instruction mutants: every raw region lies
//! in exactly one area with the same pair of values, every input drawn from
//! an area gets that pair from both diagrams, areas are disjoint, and no two
//! areas with the same pair are left touching in one word.

use sysfence_cbpf::generate::Rng;
use sysfence_cbpf::interp::ShiftMode;
use sysfence_cbpf::program::Program;
use sysfence_exact::diff::{Area, Word, areas, regions};
use sysfence_exact::program;
use sysfence_exact::store::{Store, WORDS};

fn holds(w: &Word, v: u32) -> bool {
    match *w {
        Word::Range(lo, hi) => (lo..=hi).contains(&v),
        Word::Bits(b) => v & b.mask == b.value,
    }
}

fn inside(area: &Area, words: &[u32; WORDS]) -> bool {
    area.words.iter().zip(words).all(|(w, &v)| holds(w, v))
}

fn draw(rng: &mut Rng, w: &Word) -> u32 {
    match *w {
        Word::Range(lo, hi) => lo + (rng.next_u64() % (u64::from(hi - lo) + 1)) as u32,
        Word::Bits(b) => (rng.next_u32() & !b.mask) | b.value,
    }
}

/// Whether two words share a value: ranges exactly, fixed bits by their
/// common bits, a range and fixed bits on the ends of the range and 64
/// values drawn from the bits.
fn meet(rng: &mut Rng, p: &Word, q: &Word) -> bool {
    match (*p, *q) {
        (Word::Range(a, b), Word::Range(c, d)) => a.max(c) <= b.min(d),
        (Word::Bits(x), Word::Bits(y)) => (x.value ^ y.value) & x.mask & y.mask == 0,
        (r @ Word::Range(lo, hi), w @ Word::Bits(_))
        | (w @ Word::Bits(_), r @ Word::Range(lo, hi)) => {
            holds(&w, lo) || holds(&w, hi) || (0..64).any(|_| holds(&r, draw(rng, &w)))
        }
    }
}

/// Two areas that differ in one slot only, with touching ranges there.
fn touching(p: &Area, q: &Area) -> bool {
    let apart: Vec<usize> = (0..WORDS).filter(|&i| p.words[i] != q.words[i]).collect();
    match apart[..] {
        [i] => match (p.words[i], q.words[i]) {
            (Word::Range(a, b), Word::Range(c, d)) => {
                b.checked_add(1) == Some(c) || d.checked_add(1) == Some(a)
            }
            _ => false,
        },
        _ => false,
    }
}

/// A random search over the number and three argument words (`jeq`,
/// `jgt`, `jge`, `jset` on constants from `pool`), as `bpf_asm` text.
fn search(rng: &mut Rng, pool: &[u32], depth: u32, label: &mut u32, out: &mut String) {
    if depth == 0 || rng.chance(1, 5) {
        let ret = [0x7fff_0000, 0x5_0001, 0x5_0026, 0][rng.below(4) as usize];
        out.push_str(&format!("ret #{ret:#x}\n"));
        return;
    }
    let word = [0, 16, 20, 24][rng.below(4) as usize];
    let jump = ["jeq", "jgt", "jge", "jset"][rng.below(4) as usize];
    let k = pool[rng.below(pool.len() as u64) as usize];
    *label += 1;
    let n = *label;
    out.push_str(&format!("ld [{word}]\n{jump} #{k:#x}, T{n}, F{n}\nF{n}: "));
    search(rng, pool, depth - 1, label, out);
    out.push_str(&format!("T{n}: "));
    search(rng, pool, depth - 1, label, out);
}

fn random_pair(rng: &mut Rng) -> (Program, Program) {
    let pool: Vec<u32> = (0..6)
        .map(|_| match rng.below(3) {
            0 => rng.below(64) as u32,
            1 => 0x5400 + rng.below(8) as u32,
            _ => rng.next_u32(),
        })
        .collect();
    let mut prog = || {
        let mut text = String::new();
        search(rng, &pool, 5, &mut 0, &mut text);
        let insns = sysfence_cbpf::asm::assemble(&text, &sysfence_cbpf::asm::AsmOptions::new())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        Program::new(&insns).unwrap()
    };
    (prog(), prog())
}

#[test]
fn areas_merge_regions_exactly() {
    let mut rng = Rng::new(2026);
    let (mut pairs, mut raw, mut merged) = (0, 0, 0);
    while pairs < 250 {
        let (prog, m) = random_pair(&mut rng);
        let mut s = Store::new(200_000);
        let (Ok(x), Ok(y)) = (
            program::diagram(&mut s, &prog, ShiftMode::Mask31),
            program::diagram(&mut s, &m, ShiftMode::Mask31),
        ) else {
            continue;
        };
        let (list, cut) = regions(&s, x, y, 20_000);
        if cut {
            continue;
        }
        pairs += 1;
        let (boxes, over) = areas(&s, x, y, list.len().max(1));
        assert!(!over);
        // A limit of exactly the areas' number lists them whole.
        if !boxes.is_empty() {
            let (fit, cut) = areas(&s, x, y, boxes.len());
            assert!(!cut);
            assert_eq!(fit, boxes);
        }
        assert!(boxes.len() <= list.len());
        raw += list.len();
        merged += boxes.len();
        for r in &list {
            let w = r.sample();
            let holders: Vec<&Area> = boxes.iter().filter(|a| inside(a, &w)).collect();
            assert_eq!(holders.len(), 1, "{r:?} in {holders:?}");
            assert_eq!((holders[0].a, holders[0].b), (r.a, r.b));
        }
        for a in &boxes {
            assert_eq!((s.eval(x, &a.sample()), s.eval(y, &a.sample())), (a.a, a.b));
            for _ in 0..20 {
                let w = a.words.map(|w| draw(&mut rng, &w));
                assert_eq!(
                    (s.eval(x, &w), s.eval(y, &w)),
                    (a.a, a.b),
                    "{a:?} at {w:x?}"
                );
            }
        }
        if boxes.len() <= 200 {
            for (i, p) in boxes.iter().enumerate() {
                for q in &boxes[i + 1..] {
                    let overlap = p
                        .words
                        .iter()
                        .zip(&q.words)
                        .all(|(u, v)| meet(&mut rng, u, v));
                    assert!(!overlap, "{p:?} and {q:?} overlap");
                    assert!(
                        (p.a, p.b) != (q.a, q.b) || !touching(p, q),
                        "{p:?} and {q:?} were left apart"
                    );
                }
            }
        }
    }
    eprintln!("{pairs} pairs: {raw} regions merged into {merged} areas");
    assert!(merged < raw, "nothing merged");
}

/// A limit below the number of areas cuts the list and says so.
#[test]
fn a_limit_below_the_areas_cuts_the_list() {
    let a = sysfence_cbpf::asm::assemble(
        "ld [16]\njgt #0x53fc, y, n\ny: ret #0x7fff0000\nn: ret #0x50001\n",
        &sysfence_cbpf::asm::AsmOptions::new(),
    )
    .unwrap();
    let b = sysfence_cbpf::asm::assemble(
        "ld [16]\njeq #0x5401, y, n\ny: ret #0x7fff0000\nn: ret #0x50001\n",
        &sysfence_cbpf::asm::AsmOptions::new(),
    )
    .unwrap();
    let mut s = Store::new(10_000);
    let x = program::diagram(&mut s, &Program::new(&a).unwrap(), ShiftMode::Mask31).unwrap();
    let y = program::diagram(&mut s, &Program::new(&b).unwrap(), ShiftMode::Mask31).unwrap();
    let (all, cut) = areas(&s, x, y, 100);
    assert!(!cut);
    let (raw, _) = regions(&s, x, y, 100);
    // 0x53fd..=0x5400 and 0x5402..=u32::MAX, from one region per bit prefix.
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(raw.len() > 20, "{}", raw.len());
    let (one, cut) = areas(&s, x, y, 1);
    assert!(cut);
    assert_eq!(one, all[..1]);
}

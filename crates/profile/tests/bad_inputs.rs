//! The table of bad profiles in `corpus/bad/`: each must be refused with
//! exactly the message `cases.txt` gives, and never panic.

use std::path::PathBuf;
use std::time::Instant;

use sysfence_profile::{Format, HostContext, Libseccomp, LoadOptions, Runtime, load};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpus/bad")
}

fn options(file: &str, spec: &str) -> LoadOptions {
    let mut o = LoadOptions {
        file_name: file.to_string(),
        context: HostContext::default(),
        ..LoadOptions::default()
    };
    for word in spec.split_whitespace().filter(|w| *w != "-") {
        match word.split_once('=') {
            Some(("format", f)) => o.format = Some(Format::from_name(f).expect("known format")),
            Some(("runtime", r)) => {
                o.context.runtime = Runtime::from_name(r).expect("known runtime")
            }
            Some(("filter", f)) => o.filter = Some(f.to_string()),
            Some(("libseccomp", v)) => {
                o.context.libseccomp = Libseccomp::from_name(v).expect("known release")
            }
            None if word == "strict" => o.context.strict = true,
            _ => panic!("unknown option {word}"),
        }
    }
    o
}

#[test]
fn every_bad_input_gives_its_message() {
    let table = std::fs::read_to_string(dir().join("cases.txt")).expect("cases.txt");
    let bless = std::env::var_os("SYSFENCE_BLESS").is_some();
    let mut count = 0;
    let mut failures = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut parts = line.splitn(3, " | ");
        let (Some(file), Some(spec), Some(want)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("malformed line: {line}");
        };
        let text = std::fs::read(dir().join(file)).expect("case file");
        let mut opts = options(file, spec);
        opts.base_dir = Some(dir());
        let got = match load(&text, &opts) {
            Ok(_) => "<loaded>".to_string(),
            Err(e) => e.to_string(),
        };
        if bless {
            println!("{file} | {spec} | {got}");
        } else if got != want {
            failures.push(format!("{file}:\n  want {want}\n  got  {got}"));
        }
        count += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(count >= 40, "only {count} cases");
}

#[test]
fn huge_input_is_refused_fast() {
    let mut big = b"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [".to_vec();
    big.resize(100 << 20, b' ');
    let t = Instant::now();
    let e = load(
        &big,
        &LoadOptions {
            file_name: "big.json".into(),
            ..LoadOptions::default()
        },
    )
    .expect_err("too big");
    assert_eq!(
        e.to_string(),
        "big.json:1:1: $: profile is 104857600 bytes; the limit is 16777216 bytes"
    );
    assert!(t.elapsed().as_secs() < 2);
}

#[test]
fn deep_nesting_is_refused_fast() {
    for text in ["[".repeat(100_000), "{\"a\":".repeat(100_000)] {
        let t = Instant::now();
        let e = load(
            text.as_bytes(),
            &LoadOptions {
                file_name: "deep.json".into(),
                ..LoadOptions::default()
            },
        )
        .expect_err("too deep");
        assert!(
            e.to_string().ends_with("nesting deeper than 64 levels"),
            "{e}"
        );
        assert!(t.elapsed().as_secs() < 2);
    }
    let yaml = "a:\n".to_string()
        + &(1..200)
            .map(|i| format!("{}- \n", "  ".repeat(i)))
            .collect::<String>();
    let opts = LoadOptions {
        file_name: "deep.yaml".into(),
        format: Some(Format::Spo),
        ..LoadOptions::default()
    };
    assert!(load(yaml.as_bytes(), &opts).is_err());
}

mod never_panics {
    use proptest::prelude::*;
    use sysfence_profile::{Format, LoadOptions, load};

    const SAMPLE: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
 "syscalls": [{"names": ["read", "socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 38, "valueTwo": 0, "op": "SCMP_CMP_LT"}],
 "includes": {"caps": ["CAP_SYS_ADMIN"], "minKernel": "4.8"}}, {"name": "ipc", "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}"#;

    fn all_formats(bytes: &[u8]) {
        for format in Format::ALL.iter().copied().map(Some).chain([None]) {
            let opts = LoadOptions {
                format,
                ..LoadOptions::default()
            };
            let _ = load(bytes, &opts);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            all_formats(&bytes);
        }

        #[test]
        fn mutated_profile(edits in proptest::collection::vec((0usize..SAMPLE.len(), any::<u8>()), 1..8)) {
            let mut bytes = SAMPLE.as_bytes().to_vec();
            for (at, b) in edits {
                bytes[at] = b;
            }
            all_formats(&bytes);
        }
    }
}

//! `corpus/profiles/README.md` lists every file of its folder.

mod support;

#[test]
fn the_profiles_readme_lists_every_file() {
    let dir = support::repo("corpus/profiles");
    let readme = std::fs::read_to_string(format!("{dir}/README.md")).expect("README");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("folder") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name != "README.md" && !readme.contains(&format!("| `{name}` |")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "not in corpus/profiles/README.md: {missing:?}"
    );
}

//! Test files that need a feature this build does not have (`--no-default-features`, or a subset): rather
//! than leave them out silently, `cargo test -p vana-ops` fails here and names them. The list is read from
//! the files themselves: each test file's `#![cfg(...)]` line.

/// This crate's features, and whether this build has each.
const FEATURES: [(&str, bool); 4] = [
    ("http", cfg!(feature = "http")),
    ("email", cfg!(feature = "email")),
    ("webhook", cfg!(feature = "webhook")),
    ("redis", cfg!(feature = "redis")),
];

/// The features a file's `#![cfg(feature = "x")]` or `#![cfg(all(feature = "x", feature = "y"))]` names.
fn required_features(source: &str) -> Vec<String> {
    let Some(line) = source.lines().find(|line| line.trim_start().starts_with("#![cfg(")) else {
        return Vec::new();
    };
    line.split("feature = \"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
}

#[test]
fn every_test_file_runs_in_this_build_or_is_named_here() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut left_out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for feature in required_features(&source) {
            let known = FEATURES.iter().find(|(name, _)| *name == feature);
            assert!(known.is_some(), "{} names the unknown feature `{feature}`", path.display());
            if known.is_some_and(|(_, enabled)| !enabled) {
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                left_out.push(format!("tests/{file} (needs `{feature}`)"));
            }
        }
    }
    left_out.sort();
    assert!(
        left_out.is_empty(),
        "left out of this build: {}; the default features run them",
        left_out.join(", ")
    );
}

#[test]
fn a_file_s_cfg_line_names_its_features() {
    assert_eq!(required_features("//! x\n\n#![cfg(feature = \"http\")]\n"), ["http"]);
    assert_eq!(
        required_features("#![cfg(all(feature = \"http\", feature = \"redis\"))]\nfn main() {}"),
        ["http", "redis"]
    );
    assert!(required_features("fn main() {}").is_empty());
}

//! Hostile documents get a clear error of the right kind: never a panic, never an unbounded expansion.

use vana_config::{ConfigError, ConfigLoader, Document, MAX_DOCUMENT_BYTES, ProblemKind};

fn load_bytes(bytes: &[u8]) -> Result<(), ConfigError> {
    let dir =
        std::env::temp_dir().join(format!("vana-config-hostile-{}-{}", std::process::id(), bytes.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("monitoring.yaml");
    std::fs::write(&path, bytes).unwrap();
    let result = ConfigLoader::new().file(&path).load().map(|_| ());
    std::fs::remove_dir_all(&dir).unwrap();
    result
}

fn only_problem(result: Result<(), ConfigError>) -> (ProblemKind, String) {
    let error = result.expect_err("hostile input must be refused");
    let problems = error.problems();
    assert_eq!(problems.len(), 1, "{error}");
    (problems[0].kind, problems[0].to_string())
}

#[test]
fn a_file_over_the_size_cap() {
    let mut bytes = b"logging:\n  level: INFO\n".to_vec();
    bytes.resize(MAX_DOCUMENT_BYTES + 10, b'#');
    let (kind, message) = only_problem(load_bytes(&bytes));
    assert_eq!(kind, ProblemKind::TooLarge);
    assert!(message.contains(&format!("the limit is {MAX_DOCUMENT_BYTES}")), "{message}");
}

#[test]
fn a_billion_laughs_alias_bomb() {
    let mut yaml = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (level, name) in "bcdefghij".chars().enumerate() {
        let previous = (b'a' + level as u8) as char;
        let refs = vec![format!("*{previous}"); 10].join(", ");
        yaml.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let (kind, message) = only_problem(load_bytes(yaml.as_bytes()));
    assert_eq!(kind, ProblemKind::TooComplex);
    assert!(message.contains("aliases expand to more than"), "{message}");
}

#[test]
fn deep_flow_and_block_nesting() {
    let flow = format!("logging: {}", "[".repeat(200_000));
    let (kind, message) = only_problem(load_bytes(flow.as_bytes()));
    assert!(matches!(kind, ProblemKind::TooComplex | ProblemKind::Syntax), "{message}");

    let mut block = String::new();
    for depth in 0..100 {
        block.push_str(&format!("{}k{depth}:\n", "  ".repeat(depth)));
    }
    let (kind, message) = only_problem(load_bytes(block.as_bytes()));
    assert_eq!(kind, ProblemKind::TooComplex, "{message}");
    assert!(message.contains("nesting deeper than"), "{message}");
}

#[test]
fn non_utf8_bytes_are_located() {
    let (kind, message) = only_problem(load_bytes(b"logging:\n  level: \xff\xfe\n"));
    assert_eq!(kind, ProblemKind::NotUtf8);
    assert!(message.ends_with("monitoring.yaml:2:10: the file is not valid UTF-8"), "{message}");
}

#[test]
fn empty_and_comment_only_files() {
    for bytes in [&b""[..], b"\n\n", b"# nothing here\n", b"---\n"] {
        let (kind, message) = only_problem(load_bytes(bytes));
        assert_eq!(kind, ProblemKind::Empty, "{message}");
        assert!(message.contains("the document is empty"), "{message}");
    }
}

#[test]
fn a_list_or_a_scalar_instead_of_a_mapping() {
    for (bytes, found) in
        [(&b"- a\n- b\n"[..], "a list"), (b"42\n", "a single value"), (b"!tag {a: 1}\n", "a tagged value")]
    {
        let (kind, message) = only_problem(load_bytes(bytes));
        assert_eq!(kind, ProblemKind::InvalidType, "{message}");
        assert!(message.contains(found), "{message}");
    }
}

#[test]
fn many_mistakes_are_capped() {
    let yaml: String = (0..500).map(|n| format!("unknown_{n}: 1\n")).collect();
    let error = ConfigLoader::new().document_str(Document::Security, "many.yaml", yaml).load().unwrap_err();
    assert_eq!(error.problems().len(), vana_config::limits::MAX_PROBLEMS_PER_DOCUMENT);
}

#[test]
fn a_missing_named_file_is_an_io_error_naming_it() {
    let error = ConfigLoader::new().file("/nonexistent/vana/monitoring.yaml").load().unwrap_err();
    assert!(matches!(error, ConfigError::Io { .. }));
    assert_eq!(error.to_string(), "cannot read /nonexistent/vana/monitoring.yaml: no such file");
}

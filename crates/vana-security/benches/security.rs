//! vana-security against its anchors, same run: validation against a loop over the specification's five
//! regexes and against its own pattern rules without the SQL and shell grammars, the keyed rate limiter against `governor`'s keyed limiter, and CSRF tokens.
//!
//! Run: `cargo bench -p vana-security --bench security`. Numbers go to docs/benchmarks.md. The corpus is
//! read from `../shared/corpus` (or `VANA_CORPUS`); without it, generated prose stands in and a note says so.

#![allow(missing_docs, clippy::print_stderr)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use regex::{Regex, RegexBuilder};
use vana_config::InputValidation;
use vana_security::InputValidator;

fn corpus_file(name: &str) -> Option<String> {
    let root = std::env::var_os("VANA_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    std::fs::read_to_string(root.join(name)).ok()
}

fn prose() -> String {
    corpus_file("benign/sherlock.txt").unwrap_or_else(|| {
        eprintln!("note: ../shared/corpus not found; generated prose stands in for sherlock.txt");
        "It was the best of times, it was the worst of times; and the detective said nothing. ".repeat(7000)
    })
}

/// The same prose in Cyrillic and Greek letters: two bytes a character, the shape of real non-ASCII text.
fn non_ascii_prose(ascii: &str) -> String {
    ascii
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            'a' => 'а',
            'e' => 'е',
            'o' => 'о',
            'p' => 'р',
            'c' => 'с',
            'x' => 'х',
            'y' => 'у',
            'i' => 'і',
            't' => 'τ',
            'n' => 'η',
            'h' => 'һ',
            's' => 'ѕ',
            'r' => 'г',
            'd' => 'δ',
            'l' => 'λ',
            'm' => 'м',
            'u' => 'υ',
            'w' => 'ω',
            other => other,
        })
        .collect()
}

/// The specification's `validate_input`: a loop over its five patterns, case-insensitive.
struct SeedValidator(Vec<Regex>);

impl SeedValidator {
    fn new() -> Self {
        let patterns =
            [r"<script[^>]*>.*?</script>", r"union\s+select", r"\.\./", r"eval\s*\(", r"exec\s*\("];
        Self(
            patterns
                .iter()
                .map(|p| RegexBuilder::new(p).case_insensitive(true).build().expect("seed regex"))
                .collect(),
        )
    }

    fn validate(&self, input: &str) -> bool {
        !self.0.iter().any(|regex| regex.is_match(input))
    }
}

/// The pattern pass of the validator before the SQL and shell grammars: every built-in pattern rule as
/// one alternation, compiled as the validator compiles it (the "any match?" question on clean text).
struct PatternRulesOnly(regex::bytes::Regex);

impl PatternRulesOnly {
    fn new() -> Self {
        let alternation = vana_security::BUILT_IN_RULES
            .iter()
            .map(|rule| format!("(?:{})", rule.pattern))
            .collect::<Vec<_>>()
            .join("|");
        let regex = regex::bytes::RegexBuilder::new(&alternation)
            .unicode(false)
            .case_insensitive(true)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .expect("rules compile");
        Self(regex)
    }

    fn validate(&self, input: &str) -> bool {
        !self.0.is_match(input.as_bytes())
    }
}

fn validation(c: &mut Criterion) {
    let mut config = InputValidation::default();
    config.max_input_length = u64::MAX;
    let ours = InputValidator::new(&config).expect("rules compile");
    let seed = SeedValidator::new();
    let patterns_only = PatternRulesOnly::new();
    let text = prose();
    let cyrillic = non_ascii_prose(&text);
    let mut group = c.benchmark_group("validate_long_input");
    for (name, input) in [("sherlock", &text), ("non_ascii_prose", &cyrillic)] {
        assert!(ours.validate(input).is_passed(), "{name} must pass");
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::new("vana_security", name), input, |b, input| {
            b.iter(|| ours.validate(black_box(input)))
        });
        group.bench_with_input(BenchmarkId::new("seed_five_regexes", name), input, |b, input| {
            b.iter(|| seed.validate(black_box(input)))
        });
        group.bench_with_input(BenchmarkId::new("pattern_rules_only", name), input, |b, input| {
            b.iter(|| patterns_only.validate(black_box(input)))
        });
    }
    group.finish();

    // Inputs built to make the tokenizers work: every quote, separator and comment a context start.
    let mebibyte = |unit: &str| unit.repeat((1 << 20) / unit.len());
    let hostile = [
        ("quotes", mebibyte("'")),
        ("separators", mebibyte(";a")),
        ("lines_of_commands", mebibyte("id -a\n")),
        ("substitutions", mebibyte("$(")),
        ("sql_conditions", mebibyte("1 OR ")),
        ("comments", mebibyte("/*")),
        ("globs", mebibyte(";/???/??")),
        ("backquotes", mebibyte("`")),
        ("code_fences", mebibyte("``` ")),
        ("value_then_lines", format!("x\n{}", mebibyte("id\n"))),
    ];
    let mut group = c.benchmark_group("validate_hostile_mebibyte");
    group.sample_size(10);
    for (name, input) in &hostile {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::new("vana_security", name), input, |b, input| {
            b.iter(|| ours.validate(black_box(input)))
        });
        group.bench_with_input(BenchmarkId::new("pattern_rules_only", name), input, |b, input| {
            b.iter(|| patterns_only.validate(black_box(input)))
        });
    }
    group.finish();

    let short: Vec<String> = corpus_file("benign/form_inputs.txt")
        .unwrap_or_else(|| "Dinner for two\nJACK-O'-LANTERN?\n3 BY 5 RECIPE CARDS\n".repeat(50))
        .lines()
        .filter(|line| line.len() < 64)
        .map(str::to_owned)
        .collect();
    let mut group = c.benchmark_group("validate_short_inputs");
    group.throughput(Throughput::Elements(short.len() as u64));
    group.bench_function("vana_security", |b| {
        b.iter(|| short.iter().filter(|s| ours.validate(s).is_passed()).count())
    });
    group.bench_function("seed_five_regexes", |b| {
        b.iter(|| short.iter().filter(|s| seed.validate(s)).count())
    });
    group.bench_function("pattern_rules_only", |b| {
        b.iter(|| short.iter().filter(|s| patterns_only.validate(s)).count())
    });
    group.finish();
    eprintln!("validate_short_inputs: {} inputs under 64 bytes per iteration", short.len());

    // What the HTTP layer validates on every request: a path, a query name and value, a user agent.
    let recurring = ["/agents/run", "msg", "hello", "Mozilla/5.0 (X11; Linux x86_64)"];
    let mut group = c.benchmark_group("validate_recurring_request_parts");
    group.throughput(Throughput::Elements(recurring.len() as u64));
    group.bench_function("validate", |b| {
        b.iter(|| recurring.iter().filter(|s| ours.validate(black_box(s)).is_passed()).count())
    });
    group.bench_function("validate_recurring", |b| {
        b.iter(|| recurring.iter().filter(|s| ours.validate_recurring(black_box(s)).is_passed()).count())
    });
    group.finish();
}

fn rate_limiting(c: &mut Criterion) {
    use std::num::NonZeroU32;
    use std::time::Duration;

    let keys: Vec<String> =
        (0..10_000u32).map(|n| std::net::Ipv4Addr::from(0xc000_0200 + n).to_string()).collect();
    let ours = vana_security::RateLimiter::from_config(&vana_config::RateLimiting::default());
    let quota = governor::Quota::with_period(Duration::from_millis(600))
        .expect("non-zero period")
        .allow_burst(NonZeroU32::new(10).expect("non-zero burst"));
    let anchor = governor::RateLimiter::keyed(quota);
    let mut group = c.benchmark_group("keyed_rate_limit_check");
    group.throughput(Throughput::Elements(1));
    let mut next = 0usize;
    group.bench_function("vana_security", |b| {
        b.iter(|| {
            next = (next + 1) % keys.len();
            ours.check(black_box(&keys[next])).allowed
        })
    });
    let mut next = 0usize;
    group.bench_function("governor_keyed", |b| {
        b.iter(|| {
            next = (next + 1) % keys.len();
            anchor.check_key(black_box(&keys[next])).is_ok()
        })
    });
    group.finish();

    let store = vana_security::MemoryStore::new(1_000_000);
    let quota = self::quota(100, Duration::from_secs(60), 10);
    for n in 0..1_000_000u32 {
        vana_security::RateLimitStore::check(&store, &n.to_string(), &quota);
    }
    let tracked = vana_security::RateLimitStore::tracked_keys(&store);
    eprintln!("memory per key at {tracked} keys: {} bytes", store.memory_bytes() / tracked.max(1));
}

fn csrf(c: &mut Criterion) {
    let keys = vana_security::CsrfKeys::new(&[42; 32], None).expect("32-byte key");
    let tokens = vana_security::CsrfTokens::new(keys, std::time::Duration::from_secs(3600), false);
    c.bench_function("csrf_generate_and_validate", |b| {
        b.iter(|| {
            let token = tokens.generate(black_box("session-8c1f"));
            tokens.validate(&token, "session-8c1f")
        })
    });
}

criterion_group!(benches, validation, rate_limiting, csrf);
criterion_main!(benches);

/// A quota from plain counts (each at least 1).
fn quota(limit: u32, window: std::time::Duration, burst: u32) -> vana_security::Quota {
    let count = |n: u32| std::num::NonZeroU32::new(n).expect("a count of at least 1");
    vana_security::Quota::new(count(limit), window, count(burst))
}

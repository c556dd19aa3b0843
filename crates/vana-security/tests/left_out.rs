//! Test files that need a feature this build does not have: rather than leave them out silently,
//! `cargo test -p vana-security` fails here and names them. `cargo xtask test` (or `--all-features`) runs them.

#[cfg(not(feature = "redis"))]
#[test]
fn tests_redis_rs_needs_the_redis_feature() {
    panic!(
        "tests/redis.rs was left out: run `cargo test -p vana-security --features redis` or `cargo xtask test`"
    );
}

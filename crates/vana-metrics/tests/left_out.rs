//! Test files that need a feature this build does not have: rather than leave them out silently,
//! `cargo test -p vana-metrics` fails here and names them. `cargo xtask test` (or `--all-features`) runs them.

#[cfg(not(all(feature = "email", feature = "webhook")))]
#[test]
fn tests_delivery_rs_needs_the_email_and_webhook_features() {
    panic!(
        "tests/delivery.rs was left out: run `cargo test -p vana-metrics --features email,webhook` or `cargo xtask test`"
    );
}

#[cfg(not(feature = "metrics"))]
#[test]
fn tests_facade_rs_needs_the_metrics_feature() {
    panic!(
        "tests/facade.rs was left out: run `cargo test -p vana-metrics --features metrics` or `cargo xtask test`"
    );
}

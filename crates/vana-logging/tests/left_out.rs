//! Test files that need a feature this build does not have: rather than leave them out silently,
//! `cargo test -p vana-logging` fails here and names them. The default features run them all.

#[cfg(not(feature = "log"))]
#[test]
fn tests_log_bridge_rs_needs_the_log_feature() {
    panic!("tests/log_bridge.rs was left out: it needs the `log` feature (a default one)");
}

//! Test files that need a feature this build does not have (`--no-default-features`, or a subset): rather than
//! leave them out silently, `cargo test -p vana-ops` fails here and names them. The default features run them
//! all.

#[cfg(not(feature = "http"))]
#[test]
fn tests_layer_rs_layer_span_rs_and_endpoints_rs_need_the_http_feature() {
    panic!("tests/layer.rs, layer_span.rs and endpoints.rs were left out: they need the `http` feature");
}

#[cfg(not(feature = "cli"))]
#[test]
fn tests_of_the_binary_need_the_cli_feature() {
    panic!(
        "tests/cli.rs, gateway.rs, prometheus_scrape.rs, vana_recipe.rs, adk.rs, adk_browser.rs, browser_csrf.rs, connections.rs, \
         protected_endpoints.rs and bodies.rs were left out: they need the `cli` feature"
    );
}

#[cfg(not(all(feature = "cli", feature = "redis")))]
#[test]
fn tests_redis_fleet_rs_needs_the_cli_and_redis_features() {
    panic!("tests/redis_fleet.rs was left out: it needs the `cli` and `redis` features");
}

//! `#[trace]` as the compiler sees it: what it accepts, and the errors it gives for what it does not.
//! (What it records is tested in `apm.rs`.)

#[test]
fn the_attribute_compiles_what_it_should_and_explains_what_it_refuses() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/trace_ui/pass/*.rs");
    cases.compile_fail("tests/trace_ui/fail/*.rs");
}

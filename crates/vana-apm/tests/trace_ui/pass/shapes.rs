//! Every shape of function the attribute takes: generic, `impl Trait` returns, `?`, early `return`,
//! `async`, methods with `self`.

use std::fmt::Display;

#[vana_apm::trace]
fn generic<T: Display>(value: T) -> String {
    value.to_string()
}

#[vana_apm::trace(name = "iterator")]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[vana_apm::trace]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    if text.is_empty() {
        return Ok(0);
    }
    let value: u32 = text.trim().parse()?;
    Ok(value)
}

#[vana_apm::trace(name = "async.work")]
async fn work(n: u32) -> Option<u32> {
    n.checked_add(1)
}

struct Counter(u32);

impl Counter {
    #[vana_apm::trace]
    fn bump(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}

fn main() {
    assert_eq!(generic(3), "3");
    assert_eq!(evens(5).count(), 3);
    assert_eq!(parse(" 7 "), Ok(7));
    let _future = work(1);
    assert_eq!(Counter(0).bump(), 1);
}

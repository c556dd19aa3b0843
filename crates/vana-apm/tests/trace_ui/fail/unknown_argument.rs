#[vana_apm::trace(level = "debug")]
fn checkout() {}

fn main() {}

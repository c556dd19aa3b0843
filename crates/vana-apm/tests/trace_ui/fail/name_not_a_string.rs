#[vana_apm::trace(name = 42)]
fn checkout() {}

fn main() {}

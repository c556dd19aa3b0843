#[vana_apm::trace]
struct Checkout;

fn main() {}

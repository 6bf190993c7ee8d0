// Marks the tests that need a real server #[ignore] (with the reason cargo
// prints) when this machine lacks it; see crates/test_gates.rs.
#[path = "../test_gates.rs"]
#[allow(dead_code)]
mod gates;

fn main() {
    use gates::*;
    emit(&[&REDIS]);
}

//! The state file, as `--resume` reads it.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = serde_json::from_slice::<zkrun::checkpoint::State>(data);
    });
}

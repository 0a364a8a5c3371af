//! Vault envelopes, with a password that does not open them.
fn main() {
    let secrets = [zkrun::inventory::vault::VaultSecret::new("default", "fuzz")];
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = zkrun::inventory::vault::decrypt(text, &secrets);
        }
    });
}

//! The INI inventory reader, with Python literals and host ranges.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = zkrun::inventory::ini::parse(text);
            let _ = zkrun::inventory::pyliteral::literal_eval(text);
            let _ = zkrun::inventory::address::expand_host(text);
        }
    });
}

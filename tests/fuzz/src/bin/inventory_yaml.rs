//! The Ansible YAML inventory reader: YAML 1.1, tags, merges, ranges.
fn main() {
    zkrun_fuzz::setup();
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            if let Err(d) = zkrun::inventory::from_yaml_text("fuzz.yml", text) {
                zkrun_fuzz::never_shows_secret(&d.render(20));
            }
        }
    });
}

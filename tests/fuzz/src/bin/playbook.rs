//! The playbook loader (serde_yaml, with its pre-checks).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let src = zkrun::yaml::Source::new("fuzz.yaml", text);
            if let Err(d) = src.parse::<zkrun::tasks::Playbook>("playbook") {
                let _ = d.render();
            }
        }
    });
}

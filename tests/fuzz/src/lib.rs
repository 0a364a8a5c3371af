//! What every fuzz target checks: reading hostile bytes returns a value or
//! an error, never a panic; and an error never prints a registered secret.

/// A secret every target registers: if a message ever shows it, the
/// scrubber was bypassed.
pub const SECRET: &str = "fuzz-secret-9e1f";

pub fn setup() {
    zkrun::scrub::add(SECRET);
}

/// Panics (a finding) when text that zkrun would print holds the secret.
pub fn never_shows_secret(text: &str) {
    let shown = zkrun::scrub::text(text);
    assert!(!shown.contains(SECRET), "a secret reached printed text");
}

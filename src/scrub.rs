//! The one scrubber: every secret value zkrun learns (a vault value, a
//! become password, the value of a playbook `secrets:` variable) is replaced
//! by `********` in everything zkrun prints or stores — plan text and JSON,
//! events, errors, step logs, `-v` output, failure tails, the state file —
//! whatever variable, template or remote command it came through. A secret
//! is a property of the value, not of a variable's name.
//!
//! Each secret is also caught in the forms it takes on the way out: shell
//! quoted (`'…'`), JSON escaped, and with control characters escaped as the
//! terminal printer shows them. Values shorter than `MIN_LEN` characters are
//! not scrubbed: they would match everywhere and garble the output (such a
//! password is no secret anyway).

use std::borrow::Cow;
use std::sync::RwLock;

pub const MASK: &str = "********";
pub const MIN_LEN: usize = 4;

/// Registered forms, longest first (a longer form is replaced before a
/// shorter one inside it).
static FORMS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret value.
pub fn add(secret: &str) {
    let mut all = FORMS.write().unwrap_or_else(|e| e.into_inner());
    for f in forms(secret) {
        if !all.contains(&f) {
            all.push(f);
        }
    }
    all.sort_by_key(|f| std::cmp::Reverse(f.len()));
}

/// The text with these secrets masked, whether registered or not (for
/// messages made before the secrets are known to the scrubber).
pub fn with(s: &str, secrets: &[&str]) -> String {
    let mut forms: Vec<String> = secrets.iter().flat_map(|x| forms(x)).collect();
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    let mut out = s.to_string();
    for f in &forms {
        if out.contains(f.as_str()) {
            out = out.replace(f.as_str(), MASK);
        }
    }
    out
}

/// A secret as it may appear in output: itself, shell-quoted, JSON-escaped,
/// with control characters escaped, and its long lines one by one. None
/// for a value too short to mask.
fn forms(secret: &str) -> Vec<String> {
    if secret.chars().count() < MIN_LEN {
        return Vec::new();
    }
    let mut forms = vec![secret.to_string()];
    let quoted = format!("'{}'", secret.replace('\'', r"'\''"));
    forms.push(quoted);
    if let Ok(j) = serde_json::to_string(secret) {
        forms.push(j[1..j.len() - 1].to_string());
    }
    forms.push(secret.escape_debug().to_string());
    // Each line of a multi-line secret on its own (a key in a log).
    forms.extend(
        secret
            .lines()
            .filter(|l| l.trim().chars().count() >= 8)
            .map(str::to_string),
    );
    forms
}

/// The text with every secret masked.
/// True while no secret is known: what is written needs no masking, and a
/// large document may be streamed out instead of held whole.
pub fn knows_none() -> bool {
    FORMS.read().map(|f| f.is_empty()).unwrap_or(false)
}

pub fn text(s: &str) -> Cow<'_, str> {
    let forms = FORMS.read().unwrap_or_else(|e| e.into_inner());
    if forms.is_empty() || !forms.iter().any(|f| s.contains(f.as_str())) {
        return Cow::Borrowed(s);
    }
    let mut out = s.to_string();
    for f in forms.iter() {
        if out.contains(f.as_str()) {
            out = out.replace(f.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// Masks a string in place.
pub fn in_place(s: &mut String) {
    if let Cow::Owned(o) = text(s) {
        *s = o;
    }
}

/// Bytes (a log, remote output): masked where they are text.
pub fn bytes(b: &[u8]) -> Cow<'_, [u8]> {
    let t = String::from_utf8_lossy(b);
    match text(&t) {
        Cow::Borrowed(_) => Cow::Borrowed(b),
        Cow::Owned(o) => Cow::Owned(o.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_their_quoted_forms_are_masked() {
        add("hunter2-it's");
        add("abc");
        assert_eq!(text("pw=hunter2-it's."), "pw=********.");
        assert_eq!(text("sh -c 'hunter2-it'\\''s'"), "sh -c ********");
        assert_eq!(text(r#"{"pw":"hunter2-it's"}"#), r#"{"pw":"********"}"#);
        assert_eq!(text("abc is too short to mask"), "abc is too short to mask");
        assert!(matches!(text("nothing here"), Cow::Borrowed(_)));
    }
}

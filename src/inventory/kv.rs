//! Ansible's `key=value` argument text, as `-e`/`--extra-vars` reads it, and
//! the shell-word splitting its ssh connection applies to
//! `ssh_common_args`/`ssh_extra_args`.
//!
//! Everything here follows ansible-core 2.19.14:
//!
//! - [`classify`] is `load_extra_vars` in `ansible/utils/vars.py`: which of
//!   the three forms (`@file`, a YAML/JSON document, `key=value` text) one
//!   `-e` argument is.
//! - [`parse_kv`] is `parse_kv` and `split_args` in
//!   `ansible/parsing/splitter.py`, with one deliberate difference: Ansible
//!   collects words that are not `name=value` into a variable called
//!   `_raw_params`; zkrun refuses them.
//! - [`split_ssh_args`] is `ConnectionBase._split_ssh_args` in
//!   `ansible/plugins/connection/__init__.py`: Python's `shlex.split` in
//!   POSIX mode without comments, then each word stripped and empty words
//!   dropped.

use std::path::PathBuf;

use indexmap::IndexMap;

/// What `-e` takes, said in every refusal so the fix is one read away.
const EXTRA_VARS_FORMS: &str =
    "-e takes `name=value` pairs, JSON/YAML (`-e '{\"a\": 1}'`) or `@file`";

/// One `-e` argument, sorted the way `load_extra_vars`
/// (`ansible/utils/vars.py`) sorts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraVars {
    /// `name=value` text, already parsed by [`parse_kv`]. Values are always
    /// strings: `-e n=1` gives the string `"1"`. Ansible trusts them as
    /// templates, as it does document values: `-e 'a={{ 1 + 1 }}'` makes `a`
    /// render as the integer 2. An empty argument (`-e ''`), which Ansible
    /// skips, is an empty map here.
    Pairs(IndexMap<String, String>),
    /// The argument starts with `{` or `[`: YAML (JSON is YAML) for the
    /// caller's YAML loader, unchanged. Ansible then requires a mapping: a
    /// list (`-e '[1]'`) fails with "Invalid extra vars data supplied.
    /// `'[1]'` could not be made into a dictionary"; the caller must refuse
    /// it too.
    Document(String),
    /// `@path`: a YAML/JSON file, the path exactly as written after `@`.
    /// Ansible's option parser (`maybe_unfrack_path` in
    /// `ansible/cli/arguments/option_helpers.py`) then expands `$VARS` and
    /// `~`, makes it absolute against the current directory and resolves
    /// symlinks; `ansible_cfg::expand_path` does all but the last.
    File(PathBuf),
}

/// Sorts one `-e` argument into the form Ansible reads it as.
///
/// The branches of `load_extra_vars` (`ansible/utils/vars.py`), in its order,
/// on the first character only, with no trimming:
///
/// - empty: skipped by Ansible → `Pairs` of nothing;
/// - `@…` → [`ExtraVars::File`]; `@` alone is an error (Ansible would try
///   to read the current directory as the file);
/// - `/…` or `.…` → error: Ansible refuses it as a file name missing its `@`
///   (even `-e .x=1`);
/// - `{…` or `[…` → [`ExtraVars::Document`];
/// - anything else → [`parse_kv`], so `' {"a": 1}'` (leading space) is
///   `key=value` text to Ansible, and refused here with a hint.
pub fn classify(arg: &str) -> Result<ExtraVars, String> {
    let Some(first) = arg.chars().next() else {
        return Ok(ExtraVars::Pairs(IndexMap::new()));
    };
    match first {
        '@' => {
            let path = &arg[1..];
            if path.is_empty() {
                return Err(format!(
                    "`-e @` names no file: write the path right after `@` \
                     (`-e @vars.yml`); {EXTRA_VARS_FORMS}"
                ));
            }
            Ok(ExtraVars::File(PathBuf::from(path)))
        }
        '/' | '.' => Err(format!(
            "`{arg}` starts with `{first}`, which Ansible takes for a file name \
             missing its `@`; write `-e @{arg}` to read the file ({EXTRA_VARS_FORMS})"
        )),
        '{' | '[' => Ok(ExtraVars::Document(arg.to_string())),
        _ => parse_kv(arg).map(ExtraVars::Pairs).map_err(|err| {
            let trimmed = arg.trim_start_matches(is_py_space);
            if trimmed.len() != arg.len() && trimmed.starts_with(['@', '{', '[', '/', '.']) {
                // Ansible decides on the very first character, so the space
                // made this `key=value` text; say so rather than only name a
                // word the user never meant as one.
                format!(
                    "`{arg}` starts with whitespace, so Ansible reads it as \
                     `name=value` text, not as a file or a document: remove the \
                     leading whitespace ({EXTRA_VARS_FORMS})"
                )
            } else {
                err
            }
        }),
    }
}

/// Parses `key=value` text: `a=1 b="two words" c=x=y` →
/// `{a: "1", b: "two words", c: "x=y"}`, in order of first appearance; a name
/// given twice keeps its last value.
///
/// The rules of `parse_kv`/`split_args` (`ansible/parsing/splitter.py`):
///
/// - words split on spaces and newlines only (a tab does not split:
///   `a=1<TAB>b=2` is `a` = `"1<TAB>b=2"`); a quoted stretch (`'…'` or
///   `"…"`, a quote preceded by `\` does not count) and a jinja2 block
///   (`{{ }}`, `{% %}`, `{# #}`) stay one word; a lone `\` word is dropped;
/// - in each word, escapes are decoded first: `\\ \' \" \a \b \f \n \r \t
///   \v \xHH \uHHHH \UHHHHHHHH` (not octal);
/// - the name ends at the first `=` that is not the word's first character
///   and not preceded by `\` (`a\=b=c` names `a\=b`); name and value are
///   stripped of whitespace; the value loses one pair of matching outer
///   quotes (not when the closing quote follows a `\`);
/// - values stay strings.
///
/// Errors (zkrun is stricter than Ansible, never looser):
/// - unbalanced quotes or jinja2 blocks (Ansible errors too);
/// - a word with no usable `=` (`x`, `=x`, `a\=b`), which Ansible would put
///   in `_raw_params`: the error names the word. Words of only whitespace
///   (from runs of spaces) are ignored, as nothing reads them;
/// - an empty name (`<TAB>=1`), which no template could refer to;
/// - `\N{NAME}` escapes (zkrun has no Unicode name table), escapes that are
///   no character (`\U00110000`, lone surrogates such as `\ud800`).
pub fn parse_kv(s: &str) -> Result<IndexMap<String, String>, String> {
    let mut options = IndexMap::new();
    for word in split_args(s)? {
        let decoded = decode_escapes(&word)?;
        let Some(pos) = name_end(&decoded) else {
            if py_strip(&word).is_empty() {
                continue;
            }
            return Err(format!(
                "`{}` is not a `name=value` pair: {EXTRA_VARS_FORMS}",
                word.trim_end_matches('\n')
            ));
        };
        let name = py_strip(&decoded[..pos]);
        if name.is_empty() {
            return Err(format!(
                "`{word}` has an empty variable name before `=`: {EXTRA_VARS_FORMS}"
            ));
        }
        let value = unquote(py_strip(&decoded[pos + 1..]));
        options.insert(name.to_string(), value.to_string());
    }
    Ok(options)
}

/// Splits an ssh argument string into words the way Ansible's ssh connection
/// does (`_split_ssh_args` in `ansible/plugins/connection/__init__.py`):
/// Python's `shlex.split(s)` — POSIX mode, `#` is not a comment — then every
/// word stripped of whitespace and empty words dropped.
///
/// `-o ProxyCommand="ssh -W %h:%p -q bastion"` →
/// `["-o", "ProxyCommand=ssh -W %h:%p -q bastion"]`.
///
/// Python's rules, which differ from a POSIX shell: words split on space,
/// tab, CR and LF only; `'…'` is literal; inside `"…"` a backslash escapes
/// only `"` and `\` (`"a\$b"` keeps the backslash); outside quotes a
/// backslash takes the next character literally, a newline included (no line
/// continuation). Unclosed quotes or a trailing backslash are errors
/// ("No closing quotation"/"No escaped character" in Python).
pub fn split_ssh_args(s: &str) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Word,
        Single,
        Double,
    }
    let is_split = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut words = Vec::new();
    let mut word = String::new();
    // A quoted empty string (`''`) is still a word: shlex emits it.
    let mut quoted = false;
    let mut state = State::Between;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => {
                if is_split(c) {
                    if state == State::Word {
                        words.push(std::mem::take(&mut word));
                        quoted = false;
                        state = State::Between;
                    }
                    continue;
                }
                state = State::Word;
                match c {
                    '\'' => state = State::Single,
                    '"' => state = State::Double,
                    '\\' => match chars.next() {
                        Some(next) => word.push(next),
                        None => return Err(no_escaped(s)),
                    },
                    _ => word.push(c),
                }
                if matches!(state, State::Single | State::Double) {
                    quoted = true;
                }
            }
            State::Single => match c {
                '\'' => state = State::Word,
                _ => word.push(c),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => match chars.next() {
                    Some(next @ ('"' | '\\')) => word.push(next),
                    Some(next) => {
                        word.push('\\');
                        word.push(next);
                    }
                    None => return Err(no_escaped(s)),
                },
                _ => word.push(c),
            },
        }
    }
    match state {
        State::Single | State::Double => {
            return Err(format!("unclosed quote in ssh arguments `{s}`"));
        }
        State::Word if !word.is_empty() || quoted => words.push(word),
        _ => {}
    }
    Ok(words
        .iter()
        .map(|w| py_strip(w))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect())
}

fn no_escaped(s: &str) -> String {
    format!("ssh arguments `{s}` end in a backslash that escapes nothing")
}

/// Ansible's `split_args` (`ansible/parsing/splitter.py`): split on spaces and
/// newlines, then glue back the pieces that sit inside quotes or a jinja2
/// block. Runs of spaces and the newlines survive inside the words (they are
/// stripped later, or kept inside quotes).
fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    if args.is_empty() {
        return Ok(params);
    }
    let mut quote: Option<char> = None;
    let mut inside_quotes = false;
    let (mut print_depth, mut block_depth, mut comment_depth) = (0usize, 0usize, 0usize);
    let lines: Vec<&str> = args.split('\n').collect();
    for (line_index, line) in lines.iter().enumerate() {
        let mut line_continuation = false;
        for (index, token) in line.split(' ').enumerate() {
            if token.is_empty() && index != 0 {
                // A second space in a row: kept so that quoted text keeps
                // its spacing.
                last_param(&mut params).push(' ');
                continue;
            }
            if token == "\\" && !inside_quotes {
                // Ansible drops a lone backslash word anywhere on the line
                // and then joins the next line without a newline.
                line_continuation = true;
                continue;
            }
            let was_inside_quotes = inside_quotes;
            quote = quote_state(token, quote);
            inside_quotes = quote.is_some();
            let in_block = print_depth > 0 || block_depth > 0 || comment_depth > 0;

            let mut appended = false;
            if inside_quotes && !was_inside_quotes && !in_block {
                params.push(token.to_string());
                appended = true;
            } else if in_block || inside_quotes || was_inside_quotes {
                // The space this split removed goes back, except at the
                // start of a line (the newline was put back already).
                let last = last_param(&mut params);
                if index > 0 {
                    last.push(' ');
                }
                last.push_str(token);
                appended = true;
            }

            for (depth, open, close) in [
                (&mut print_depth, "{{", "}}"),
                (&mut block_depth, "{%", "%}"),
                (&mut comment_depth, "{#", "#}"),
            ] {
                let before = *depth;
                *depth = block_depth_after(token, before, open, close);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }

            let in_block = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            if !in_block && !inside_quotes && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && line_index != lines.len() - 1 && !line_continuation {
            last_param(&mut params).push('\n');
        }
    }
    if print_depth > 0 || block_depth > 0 || comment_depth > 0 || inside_quotes {
        return Err(format!(
            "unbalanced quotes or jinja2 block (`{{{{ }}}}`, `{{% %}}`, `{{# #}}`) in `{args}`"
        ));
    }
    Ok(params)
}

/// The last word, created empty when there is none yet (as `split_args`
/// does for leading runs of spaces and newlines).
fn last_param(params: &mut Vec<String>) -> &mut String {
    if params.is_empty() {
        params.push(String::new());
    }
    params.last_mut().expect("just pushed")
}

/// `_get_quote_state`: walk a word's quotes, a quote right after `\` not
/// counting, and return the quote still open at its end.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// `_count_jinja2_blocks`: the depth after a word, from the count of its
/// openers and closers (non-overlapping, as Python's `str.count`), never
/// below zero.
fn block_depth_after(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let opens = token.matches(open).count();
    let closes = token.matches(close).count();
    (depth + opens).saturating_sub(closes)
}

/// Where the name ends: the first `=` after the first character that does
/// not follow a backslash (`parse_kv` starts its search at index 1).
fn name_end(word: &str) -> Option<usize> {
    let bytes = word.as_bytes();
    (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\')
}

/// `_decode_escapes` (`ansible/parsing/splitter.py`): Python string escapes,
/// decoded wherever they appear in the word, quotes or not.
fn decode_escapes(word: &str) -> Result<String, String> {
    if !word.contains('\\') {
        return Ok(word.to_string());
    }
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 == chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let hex = |n: usize| -> Option<u32> {
            let digits = chars.get(i + 2..i + 2 + n)?;
            if !digits.iter().all(char::is_ascii_hexdigit) {
                return None;
            }
            u32::from_str_radix(&digits.iter().collect::<String>(), 16).ok()
        };
        let simple = match chars[i + 1] {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        let width = match chars[i + 1] {
            'U' => 8,
            'u' => 4,
            'x' => 2,
            'N' if chars.get(i + 2) == Some(&'{') => {
                // Python decodes `\N{BULLET}` by the character's Unicode
                // name; without the name table zkrun cannot, so it refuses
                // rather than pass the escape through unchanged.
                if chars[i + 3..].contains(&'}') && chars.get(i + 3) != Some(&'}') {
                    return Err(format!(
                        "`{word}` uses a `\\N{{NAME}}` escape, which zkrun does not \
                         decode: write the character itself or a `\\u` escape"
                    ));
                }
                0
            }
            _ => 0,
        };
        match (width > 0).then(|| hex(width)).flatten() {
            Some(code) => {
                let Some(c) = char::from_u32(code) else {
                    return Err(format!(
                        "`{word}` has an escape for U+{code:X}, which is not a \
                         character Ansible can use"
                    ));
                };
                out.push(c);
                i += 2 + width;
            }
            None => {
                // Not an escape Python knows (octal, `\q`, short hex):
                // the backslash stays.
                out.push('\\');
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `unquote` (`ansible/parsing/quoting.py`): drop one pair of matching outer
/// quotes, unless the closing one follows a backslash.
pub(super) fn unquote(s: &str) -> &str {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n > 1 && chars[0] == chars[n - 1] && matches!(chars[0], '"' | '\'') && chars[n - 2] != '\\' {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Python's `str.isspace`: Unicode whitespace plus the ASCII separators
/// U+001C..U+001F, which Rust does not count.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(s: &str) -> Vec<(String, String)> {
        parse_kv(s)
            .unwrap_or_else(|e| panic!("{s:?}: {e}"))
            .into_iter()
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Expected values below are what ansible-core 2.19.14's `parse_kv`
    // returned for the same input.

    #[test]
    fn pairs_quotes_and_equals_in_values() {
        assert_eq!(
            kv(r#"a=1 b="two words" c=x=y"#),
            pairs(&[("a", "1"), ("b", "two words"), ("c", "x=y")])
        );
        assert_eq!(kv("a=it''s"), pairs(&[("a", "it''s")]));
        assert_eq!(kv("a='it''s'"), pairs(&[("a", "it''s")]));
        assert_eq!(kv(r#"a="it's""#), pairs(&[("a", "it's")]));
        assert_eq!(
            kv(r#"a="b c" d=e"f g""#),
            pairs(&[("a", "b c"), ("d", "e\"f g\"")])
        );
        assert_eq!(kv("'a b'=1"), pairs(&[("'a b'", "1")]));
    }

    #[test]
    fn empty_and_whitespace() {
        assert!(kv("").is_empty());
        // Ansible: {"_raw_params": " "}; nothing reads it, so nothing here.
        assert!(kv(" ").is_empty());
        assert_eq!(kv("  a=1"), pairs(&[("a", "1")]));
        assert_eq!(kv("a=1  b=2 "), pairs(&[("a", "1"), ("b", "2")]));
        assert_eq!(kv("\na=1"), pairs(&[("a", "1")]));
    }

    #[test]
    fn only_spaces_and_newlines_split() {
        assert_eq!(kv("a=1\tb=2"), pairs(&[("a", "1\tb=2")]));
        assert_eq!(kv("a=1\nb=2"), pairs(&[("a", "1"), ("b", "2")]));
        assert_eq!(kv("a=\"x\ny\""), pairs(&[("a", "x\ny")]));
        assert_eq!(kv("a=1 \\ b=2"), pairs(&[("a", "1"), ("b", "2")]));
    }

    #[test]
    fn where_the_name_ends() {
        assert_eq!(kv("==x"), pairs(&[("=", "x")]));
        assert_eq!(kv(r"a\=b=c"), pairs(&[(r"a\=b", "c")]));
    }

    #[test]
    fn last_value_wins_first_position_stays() {
        assert_eq!(kv("a=1 b=2 a=3"), pairs(&[("a", "3"), ("b", "2")]));
    }

    #[test]
    fn escapes_are_decoded_before_splitting_name_and_value() {
        // Decoded, then stripped: the trailing newline goes.
        assert_eq!(kv(r"a=\x41\n"), pairs(&[("a", "A")]));
        assert_eq!(kv(r"a=\x41\nb"), pairs(&[("a", "A\nb")]));
        assert_eq!(kv(r"a=\u00e9\U0001F600"), pairs(&[("a", "é😀")]));
        assert_eq!(kv(r"a=\101"), pairs(&[("a", r"\101")]));
        assert_eq!(kv(r"\x3d=1"), pairs(&[("=", "1")]));
        assert_eq!(kv(r"a\x3db=1"), pairs(&[("a", "b=1")]));
        assert_eq!(kv(r#"k="x\"""#), pairs(&[("k", "x\"")]));
        assert_eq!(kv(r"a=b\"), pairs(&[("a", r"b\")]));
        assert_eq!(kv(r"a=\q\x4"), pairs(&[("a", r"\q\x4")]));
    }

    #[test]
    fn jinja_blocks_stay_whole() {
        assert_eq!(
            kv("a={{ foo bar }} b=2"),
            pairs(&[("a", "{{ foo bar }}"), ("b", "2")])
        );
        assert_eq!(
            kv("a={% if x %}1{% endif %}"),
            pairs(&[("a", "{% if x %}1{% endif %}")])
        );
        assert_eq!(kv("a={# c #}"), pairs(&[("a", "{# c #}")]));
        assert_eq!(kv("a=}}"), pairs(&[("a", "}}")]));
    }

    #[test]
    fn unbalanced_is_an_error() {
        for s in [
            r#"a="unterminated"#,
            r#"a="x"y""#,
            r#"a="x\\""#,
            "a={{",
            r#"a=x"y"#,
            "a=it's",
        ] {
            let err = parse_kv(s).expect_err(s);
            assert!(err.contains("unbalanced"), "{s}: {err}");
        }
    }

    #[test]
    fn words_without_equals_are_refused_by_name() {
        for (s, word) in [
            ("a=1 b", "`b`"),
            ("=foo", "`=foo`"),
            (r"a\\=b", r"`a\\=b`"),
            ("x= y", "`y`"),
            ("x =y", "`x`"),
            (" a = 1 ", "`a`"),
        ] {
            let err = parse_kv(s).expect_err(s);
            assert!(err.contains(word), "{s}: {err}");
            assert!(err.contains(EXTRA_VARS_FORMS), "{err}");
        }
        assert!(
            parse_kv("\t=1")
                .unwrap_err()
                .contains("empty variable name")
        );
    }

    #[test]
    fn escapes_zkrun_cannot_or_python_would_not_decode() {
        assert!(parse_kv(r"a=\N{BULLET}").unwrap_err().contains(r"\N{NAME}"));
        assert!(parse_kv(r"a=\U00110000").is_err());
        assert!(parse_kv(r"a=\ud800").is_err());
        // Not a name escape: the backslash stays.
        assert_eq!(kv(r"a=\N"), pairs(&[("a", r"\N")]));
    }

    #[test]
    fn classify_follows_load_extra_vars() {
        assert_eq!(classify("").unwrap(), ExtraVars::Pairs(IndexMap::new()));
        assert_eq!(classify(" ").unwrap(), ExtraVars::Pairs(IndexMap::new()));
        assert_eq!(
            classify("@vars.yml").unwrap(),
            ExtraVars::File(PathBuf::from("vars.yml"))
        );
        assert_eq!(
            classify("@ v.yml").unwrap(),
            ExtraVars::File(PathBuf::from(" v.yml"))
        );
        assert!(classify("@").unwrap_err().contains("names no file"));
        for s in ["./vars.yml", "/etc/vars.yml", ".a=1"] {
            assert!(
                classify(s).unwrap_err().contains(&format!("-e @{s}")),
                "{s}"
            );
        }
        assert_eq!(
            classify(r#"{"a": 1}"#).unwrap(),
            ExtraVars::Document(r#"{"a": 1}"#.into())
        );
        assert_eq!(classify("[1]").unwrap(), ExtraVars::Document("[1]".into()));
        assert_eq!(
            classify("{{ x }}=1").unwrap(),
            ExtraVars::Document("{{ x }}=1".into())
        );
        let ExtraVars::Pairs(p) = classify("a=1 b=x").unwrap() else {
            panic!()
        };
        assert_eq!(p["b"], "x");
        assert!(
            classify(" {\"a\":1}")
                .unwrap_err()
                .contains("leading whitespace")
        );
        assert!(
            classify(" @v.yml")
                .unwrap_err()
                .contains("leading whitespace")
        );
        // Valid `key=value` text to Ansible (the name is `.a`): no refusal.
        let ExtraVars::Pairs(p) = classify(" .a=1").unwrap() else {
            panic!()
        };
        assert_eq!(p[".a"], "1");
    }

    fn ssh(s: &str) -> Vec<String> {
        split_ssh_args(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn ssh_args_split_like_python_shlex() {
        assert_eq!(
            ssh(r#"-o ProxyCommand="ssh -W %h:%p -q bastion""#),
            ["-o", "ProxyCommand=ssh -W %h:%p -q bastion"]
        );
        // Observed in `ansible -vvv`'s SSH: EXEC line for this
        // ssh_extra_args.
        assert_eq!(
            ssh(r#"-o 'A=\"x\"' a\ b \"c\$d\" ' ' '  e '"#),
            ["-o", r#"A=\"x\""#, "a b", "\"c$d\"", "e"]
        );
        assert_eq!(ssh(r#""a\$b" "a\\b" "a\"b""#), [r"a\$b", r"a\b", "a\"b"]);
        assert_eq!(ssh("a#b # c"), ["a#b", "#", "c"]);
        assert_eq!(ssh("a\\\nb"), ["a\nb"]);
        assert_eq!(ssh("x'y'\"z\"w"), ["xyzw"]);
        assert_eq!(ssh("  -C\t-v\r\n"), ["-C", "-v"]);
        assert_eq!(ssh("'' \"\""), Vec::<String>::new());
        assert!(ssh("").is_empty());
        assert_eq!(ssh("a\u{a0}b"), ["a\u{a0}b"]);
    }

    #[test]
    fn ssh_args_errors() {
        assert!(split_ssh_args("-o 'a").unwrap_err().contains("unclosed"));
        assert!(split_ssh_args("-o \"a").unwrap_err().contains("unclosed"));
        assert!(split_ssh_args("a\\").unwrap_err().contains("backslash"));
        assert!(split_ssh_args("\"a\\").unwrap_err().contains("backslash"));
    }
}

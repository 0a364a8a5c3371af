//! Host names as inventories write them: an optional `:port`, and `[a:b]`
//! ranges that stand for several hosts.
//!
//! ```text
//! zk1              → zk1
//! zk1:2222         → zk1, port 2222
//! zk[1:3].x        → zk1.x zk2.x zk3.x
//! zk[01:03]        → zk01 zk02 zk03          (a zero-padded begin keeps its width)
//! zk[a:c]          → zka zkb zkc
//! zk[1:9:4]        → zk1 zk5 zk9
//! zk[1:2]-[a:b]    → zk1-a zk1-b zk2-a zk2-b (first range outermost)
//! [::1]:22, ::1, 127.0.0.1:22, zk[1:2]:22
//! ```
//!
//! This is ansible-core's `_expand_hostpattern`
//! (`plugins/inventory/__init__.py`), which both the INI and the YAML
//! inventory plugins call: `parse_address(pattern, allow_ranges=True)`
//! (`parsing/utils/addresses.py`) splits off the port, and when the pattern
//! is not an address it recognises, the whole text is the host name, with no
//! port. Then `expand_hostname_range` (same `__init__.py`) expands the
//! ranges. The INI plugin's extra checks (a trailing `:`, `---`) live in
//! `ini.rs`.
//!
//! Where zkrun departs from Ansible, on purpose:
//! - a range that yields no host (`zk[3:1]`, `zk[1:3:-1]`) is an error;
//!   Ansible silently adds nothing;
//! - a port above 65535 is an error; Ansible keeps it and fails to connect;
//! - a pattern that expands to more than [`MAX_HOSTS`] names is an error.

/// The most host names one pattern may expand to (a typo such as
/// `zk[1:100000000]` would otherwise fill memory).
pub const MAX_HOSTS: usize = 100_000;

/// The host names `pattern` stands for, and the port written with it.
///
/// A port of 0 is returned as `None`: ansible-core's `Host()` sets
/// `ansible_port` only for a true (non-zero) port (`inventory/host.py`).
pub fn expand_host(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (host, port) = match parse_address(pattern) {
        Some((host, port)) => (host, port),
        // "not a recognizable host pattern": the text is the name.
        None => (pattern.to_string(), None),
    };
    let port = match port {
        None => None,
        Some(digits) => {
            let significant = digits.trim_start_matches('0');
            match significant.parse::<u16>() {
                _ if significant.is_empty() => None,
                Ok(p) => Some(p),
                Err(_) => {
                    return Err(format!(
                        "port {digits} is out of range: a port is a number from 1 to 65535"
                    ));
                }
            }
        }
    };
    let names = if host.contains('[') {
        let mut out = Vec::new();
        expand_ranges(&host, &mut out)?;
        if out.is_empty() {
            return Err(
                "this range yields no host (Ansible would silently add none): a range counts \
                 up from begin to end, e.g. `[1:3]`"
                    .to_string(),
            );
        }
        out
    } else {
        vec![host]
    };
    Ok((names, port))
}

// ---------------------------------------------------------------------------
// parse_address

/// `parse_address(address, allow_ranges=True)`: the host part and the port
/// digits, or `None` where Ansible raises ("Not a valid network hostname").
fn parse_address(address: &str) -> Option<(String, Option<String>)> {
    let mut address = address.to_string();
    let mut port = None;
    // Both patterns are tried in turn, each on what the last one left:
    // `[a:1]:2` is host `a`, port 1.
    if let Some((a, p)) = bracketed_hostport(&address) {
        address = a;
        port = Some(p);
    }
    if let Some((a, p)) = hostport(&address) {
        address = a;
        port = Some(p);
    }
    if is_ipv4(&address) || is_ipv6(&address) || is_hostname(&address) {
        Some((address, port))
    } else {
        None
    }
}

/// Python's `$` matches at the end or before a final newline: the texts an
/// anchored pattern must match all of.
fn anchored(s: &str) -> impl Iterator<Item = &str> {
    std::iter::once(s).chain(s.strip_suffix('\n'))
}

fn all_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `^\[(.+)\]:([0-9]+)$`
fn bracketed_hostport(s: &str) -> Option<(String, String)> {
    anchored(s).find_map(|s| {
        let inner_and_port = s.strip_prefix('[')?;
        // Port digits hold no `]`: the last `]` ends the host.
        let close = inner_and_port.rfind(']')?;
        let inner = &inner_and_port[..close];
        let port = inner_and_port[close + 1..].strip_prefix(':')?;
        (!inner.is_empty() && !inner.contains('\n') && all_ascii_digits(port))
            .then(|| (inner.to_string(), port.to_string()))
    })
}

/// `^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`: a host (with whole `[…]`
/// groups) up to the first `:` outside brackets, then the port.
fn hostport(s: &str) -> Option<(String, String)> {
    anchored(s).find_map(|s| {
        let mut i = 0;
        let b = s.as_bytes();
        loop {
            match *b.get(i)? {
                b'[' => i += 1 + s[i + 1..].find(']')? + 1,
                b']' => return None,
                b':' => break,
                _ => i += 1,
            }
        }
        let port = &s[i + 1..];
        all_ascii_digits(port).then(|| (s[..i].to_string(), port.to_string()))
    })
}

/// `[0-9]+:[0-9]+(:[0-9]+)?` (the inside of a numeric range).
fn numeric_range_body(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    (parts.len() == 2 || parts.len() == 3) && parts.iter().all(|p| all_ascii_digits(p))
}

/// `[a-z]` under `re.IGNORECASE`: ASCII letters, and the four characters
/// whose case mapping lands on one (checked against Python's `re`).
fn alpha_ignorecase(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{212A}' | '\u{017F}' | '\u{0130}' | '\u{0131}')
}

/// The inside of `alphanumeric_range`: `[a-z]:[a-z]` or numeric, then an
/// optional numeric `:step`.
fn alphanumeric_range_body(s: &str) -> bool {
    if numeric_range_body(s) {
        return true;
    }
    let parts: Vec<&str> = s.split(':').collect();
    let one_letter = |p: &str| {
        let mut cs = p.chars();
        matches!((cs.next(), cs.next()), (Some(c), None) if alpha_ignorecase(c))
    };
    (parts.len() == 2 || parts.len() == 3)
        && one_letter(parts[0])
        && one_letter(parts[1])
        && (parts.len() == 2 || all_ascii_digits(parts[2]))
}

/// `(?:{i4}\.){3}{i4}` where `i4` is 0..255 (leading zeros allowed up to
/// three digits) or a numeric range.
fn is_ipv4(s: &str) -> bool {
    anchored(s).any(|s| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() == 4
            && parts.iter().all(|p| {
                let b = p.as_bytes();
                let digits = all_ascii_digits(p);
                (digits && b.len() <= 2)
                    || (digits && b.len() == 3 && (b[0] == b'0' || b[0] == b'1'))
                    || (digits && b.len() == 3 && b[0] == b'2' && b[1] <= b'4')
                    || (digits && b.len() == 3 && b[0] == b'2' && b[1] == b'5' && b[2] <= b'5')
                    || p.strip_prefix('[')
                        .and_then(|r| r.strip_suffix(']'))
                        .is_some_and(numeric_range_body)
            })
    })
}

/// Python's `\w`: a letter, digit or `_` in the Unicode sense.
fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `label(\.label)*`: each label starts with a word character or a range,
/// continues with word characters, `-` or ranges, and does not end in `-`
/// or `_`.
fn is_hostname(s: &str) -> bool {
    anchored(s).any(|s| s.split('.').all(is_label))
}

fn is_label(label: &str) -> bool {
    let cs: Vec<char> = label.chars().collect();
    if cs.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < cs.len() {
        if cs[i] == '[' {
            let Some(close) = cs[i..].iter().position(|&c| c == ']') else {
                return false;
            };
            let body: String = cs[i + 1..i + close].iter().collect();
            if !alphanumeric_range_body(&body) {
                return false;
            }
            i += close + 1;
        } else if is_word(cs[i]) || (i > 0 && cs[i] == '-') {
            i += 1;
        } else {
            return false;
        }
    }
    !matches!(cs.last(), Some('_' | '-'))
}

/// The `ipv6` pattern of `addresses.py`, with ranges allowed in place of
/// any 16-bit group; matched by a small backtracking matcher that follows
/// the regular expression term by term.
fn is_ipv6(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() > 1000 {
        return false; // no IPv6 address, with ranges or not, is this long
    }
    let re = ipv6_pattern();
    let end = chars.len();
    re.matches(&chars, 0, &mut |j| {
        j == end || (j + 1 == end && chars[j] == '\n')
    })
}

/// Just enough of a regular expression engine for the IPv6 pattern.
enum Re {
    Class(fn(char) -> bool),
    /// A literal, ASCII case-insensitive (the pattern is `re.I`).
    Lit(&'static str),
    Seq(Vec<Re>),
    Alt(Vec<Re>),
    /// Greedy repetition, `min..=max` times.
    Rep(Box<Re>, usize, usize),
}

impl Re {
    fn matches(&self, s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Re::Class(f) => i < s.len() && f(s[i]) && k(i + 1),
            Re::Lit(l) => {
                let n = l.chars().count();
                i + n <= s.len()
                    && s[i..i + n]
                        .iter()
                        .zip(l.chars())
                        .all(|(a, b)| a.eq_ignore_ascii_case(&b))
                    && k(i + n)
            }
            Re::Seq(items) => Re::seq(items, s, i, k),
            Re::Alt(alts) => alts.iter().any(|a| a.matches(s, i, k)),
            Re::Rep(inner, min, max) => Re::rep(inner, *min, *max, s, i, k),
        }
    }

    fn seq(items: &[Re], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        match items.split_first() {
            None => k(i),
            Some((first, rest)) => first.matches(s, i, &mut |j| Re::seq(rest, s, j, k)),
        }
    }

    fn rep(
        inner: &Re,
        min: usize,
        max: usize,
        s: &[char],
        i: usize,
        k: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        if max > 0
            && inner.matches(s, i, &mut |j| {
                j > i && Re::rep(inner, min.saturating_sub(1), max - 1, s, j, k)
            })
        {
            return true;
        }
        min == 0 && k(i)
    }
}

fn ipv6_pattern() -> Re {
    use Re::*;
    let hex = || Class(|c: char| c.is_ascii_hexdigit());
    let digit = || Class(|c: char| c.is_ascii_digit());
    let many = |r: Re| Rep(Box::new(r), 1, usize::MAX);
    // hexadecimal_range: \[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]
    let range = || {
        Seq(vec![
            Lit("["),
            many(hex()),
            Lit(":"),
            many(hex()),
            Rep(Box::new(Seq(vec![Lit(":"), many(digit())])), 0, 1),
            Lit("]"),
        ])
    };
    // ipv6_component: [0-9a-f]{1,4} | range
    let c = || Alt(vec![Rep(Box::new(hex()), 1, 4), range()]);
    let c_colon = || Seq(vec![c(), Lit(":")]); // {0}:
    let colon_c = || Seq(vec![Lit(":"), c()]); // :{0}
    let times = |r: &dyn Fn() -> Re, min: usize, max: usize| Rep(Box::new(r()), min, max);
    let dotted = || Seq(vec![times(&|| Seq(vec![c(), Lit(".")]), 3, 3), c()]); // (?:{0}\.){3}{0}
    Alt(vec![
        Seq(vec![times(&c_colon, 7, 7), c()]),
        Seq(vec![times(&c_colon, 1, 6), Lit(":")]),
        Seq(vec![c_colon(), times(&colon_c, 1, 6)]),
        Seq(vec![times(&c_colon, 2, 2), times(&colon_c, 1, 5)]),
        Seq(vec![times(&c_colon, 3, 3), times(&colon_c, 1, 4)]),
        Seq(vec![times(&c_colon, 4, 4), times(&colon_c, 1, 3)]),
        Seq(vec![times(&c_colon, 5, 5), times(&colon_c, 1, 2)]),
        Seq(vec![times(&c_colon, 6, 6), colon_c()]),
        Seq(vec![Lit(":"), times(&colon_c, 1, 6)]),
        Seq(vec![Rep(Box::new(c()), 0, 1), Lit("::")]),
        Seq(vec![times(&|| Lit("0:"), 6, 6), dotted()]),
        Seq(vec![Lit("::"), Rep(Box::new(Lit("ffff:")), 0, 1), dotted()]),
        Seq(vec![times(&|| Lit("0:"), 5, 5), Lit("ffff:"), dotted()]),
    ])
}

// ---------------------------------------------------------------------------
// expand_hostname_range

/// Expands the first `[…]` of `line`, then (recursively) the rest.
fn expand_ranges(line: &str, out: &mut Vec<String>) -> Result<(), String> {
    // Ansible replaces the first `[` and then the first `]` with `|` and
    // splits on `|`, expecting exactly three parts.
    let once = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let parts: Vec<&str> = once.split('|').collect();
    let [head, range, tail] = parts[..] else {
        return Err(if parts.len() < 3 {
            format!("`[` without a closing `]` in `{line}`")
        } else {
            format!("`|` cannot appear in a host name with a range: `{line}`")
        });
    };
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!(
            "`[{range}]` is not a host range: write `[begin:end]` or `[begin:end:step]`"
        ));
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied();
    if end.is_empty() {
        return Err(format!("host range `[{range}]` has no end value"));
    }
    // A zero-padded begin sets the width of every name.
    let width = if begin.starts_with('0') && begin.chars().count() > 1 {
        let w = begin.chars().count();
        if w != end.chars().count() {
            return Err(format!(
                "host range `[{range}]`: a zero-padded begin needs an end of the same width, \
                 e.g. `[01:10]`"
            ));
        }
        Some(w)
    } else {
        None
    };
    let fill = |n: &str| match width {
        Some(w) => zfill(n, w),
        None => n.to_string(),
    };
    let emit = |value: &str, out: &mut Vec<String>| -> Result<(), String> {
        let name = format!("{head}{}{tail}", fill(value));
        if name.contains('[') {
            expand_ranges(&name, out)
        } else if out.len() >= MAX_HOSTS {
            Err(format!(
                "`{line}` expands to more than {MAX_HOSTS} host names"
            ))
        } else {
            out.push(name);
            Ok(())
        }
    };
    // Letters: `string.ascii_letters.index(begin)`, a substring search, so
    // `[a:Z]` runs a…z A…Z. A step that is not a usable number falls
    // through to the numeric reading below, as Ansible's `except ValueError`.
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if let (Some(b), Some(e)) = (LETTERS.find(begin), LETTERS.find(end)) {
        if b > e {
            return Err(format!(
                "host range `[{range}]` goes backwards: begin must not come after end"
            ));
        }
        let step = match step {
            None => Some(1),
            Some(s) => py_int(s).filter(|s| *s != 0),
        };
        if let Some(step) = step {
            if step > 0 {
                let step = usize::try_from(step).unwrap_or(usize::MAX);
                for c in LETTERS[b..=e].chars().step_by(step) {
                    emit(&c.to_string(), out)?;
                }
            }
            // A negative step slices nothing (begin <= end).
            return Ok(());
        }
    }
    let number = |s: &str| {
        py_int(s).ok_or_else(|| {
            format!(
                "host range `[{range}]`: `{s}` is not a number (a letter range takes single \
                 letters, e.g. `[a:f]`)"
            )
        })
    };
    let b = number(begin)?;
    let e = number(end)?;
    let step = match step {
        None => 1,
        Some(s) => number(s)?,
    };
    if step == 0 {
        return Err(format!("host range `[{range}]` has a step of 0"));
    }
    // Python's range(b, e + 1, step).
    let stop = e
        .checked_add(1)
        .ok_or_else(|| format!("host range `[{range}]` is too large"))?;
    let mut v = b;
    while (step > 0 && v < stop) || (step < 0 && v > stop) {
        emit(&v.to_string(), out)?;
        match v.checked_add(step) {
            Some(next) => v = next,
            None => break,
        }
    }
    Ok(())
}

/// Python's `int(s)` for base 10: surrounding whitespace, a sign, and
/// single `_` between digits. (Python also takes non-ASCII decimal digits;
/// zkrun reads only ASCII ones.) `None` where Python raises ValueError, or
/// past i128.
fn py_int(s: &str) -> Option<i128> {
    let t = s.trim_matches(is_py_space);
    let (negative, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let n: i128 = digits.replace('_', "").parse().ok()?;
    Some(if negative { -n } else { n })
}

/// Python's `str.isspace()`.
pub(crate) fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\x0b'
            | '\x0c'
            | '\r'
            | '\x1c'..='\x1f'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.zfill(width)`: zeros after any sign.
fn zfill(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width {
        return s.to_string();
    }
    let pad = "0".repeat(width - n);
    match s.strip_prefix(['-', '+']) {
        Some(rest) => format!("{}{pad}{rest}", &s[..1]),
        None => format!("{pad}{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<String> {
        expand_host(p).unwrap().0
    }

    fn port(p: &str) -> Option<u16> {
        expand_host(p).unwrap().1
    }

    // Expected results were observed from ansible-core 2.19.14 (host lines
    // of INI files run through its ini plugin), not derived from reading.

    #[test]
    fn plain_names_and_ports() {
        assert_eq!(expand_host("zk1").unwrap(), (vec!["zk1".to_string()], None));
        assert_eq!(
            expand_host("zk1:2222").unwrap(),
            (vec!["zk1".to_string()], Some(2222))
        );
        assert_eq!(
            expand_host("h3:0022").unwrap(),
            (vec!["h3".to_string()], Some(22))
        );
        // Port 0 is dropped by Ansible's Host(): no ansible_port.
        assert_eq!(expand_host("h1:0").unwrap(), (vec!["h1".to_string()], None));
        // Ansible keeps 99999 and fails to connect; zkrun refuses.
        assert!(
            expand_host("h2:99999")
                .unwrap_err()
                .contains("out of range")
        );
    }

    #[test]
    fn ip_addresses() {
        assert_eq!(
            expand_host("[::1]:22").unwrap(),
            (vec!["::1".to_string()], Some(22))
        );
        assert_eq!(expand_host("::1").unwrap(), (vec!["::1".to_string()], None));
        assert_eq!(
            expand_host("fe80::1").unwrap(),
            (vec!["fe80::1".to_string()], None)
        );
        assert_eq!(
            expand_host("127.0.0.1:22").unwrap(),
            (vec!["127.0.0.1".to_string()], Some(22))
        );
        assert_eq!(names("10.0.[1:2].1"), ["10.0.1.1", "10.0.2.1"]);
        assert_eq!(
            expand_host("[fe80::[1:2]]:22").unwrap(),
            (vec!["fe80::1".into(), "fe80::2".into()], Some(22))
        );
        // IPv6 without brackets cannot carry a port: all of it is the host.
        assert_eq!(
            expand_host("fe80::1:22").unwrap(),
            (vec!["fe80::1:22".to_string()], None)
        );
    }

    #[test]
    fn numeric_ranges() {
        assert_eq!(names("zk[1:3].x"), ["zk1.x", "zk2.x", "zk3.x"]);
        assert_eq!(names("zk[01:03].x"), ["zk01.x", "zk02.x", "zk03.x"]);
        assert_eq!(names("h[1:9:4]"), ["h1", "h5", "h9"]);
        assert_eq!(names("h[:2]"), ["h0", "h1", "h2"]);
        assert_eq!(names("h[-1:1]"), ["h-1", "h0", "h1"]);
        assert_eq!(
            expand_host("h[1:3]:2222").unwrap(),
            (vec!["h1".into(), "h2".into(), "h3".into()], Some(2222))
        );
        assert_eq!(port("r[1:2]:22"), Some(22));
    }

    #[test]
    fn letter_ranges() {
        assert_eq!(names("x[a:c]"), ["xa", "xb", "xc"]);
        assert_eq!(names("x[y:B]"), ["xy", "xz", "xA", "xB"]);
        assert_eq!(names("x[a:e:2]"), ["xa", "xc", "xe"]);
    }

    #[test]
    fn several_ranges_first_outermost() {
        assert_eq!(names("h[1:2]-[a:b]"), ["h1-a", "h1-b", "h2-a", "h2-b"]);
    }

    #[test]
    fn unrecognised_patterns_are_names() {
        // parse_address fails; Ansible keeps the text as the host name.
        assert_eq!(
            expand_host("h:abc").unwrap(),
            (vec!["h:abc".to_string()], None)
        );
        assert_eq!(names("h_"), ["h_"]);
        assert_eq!(names("-h"), ["-h"]);
        assert_eq!(names("h..x"), ["h..x"]);
        assert_eq!(names("\u{feff}h1"), ["\u{feff}h1"]);
    }

    #[test]
    fn range_errors() {
        let err = |p: &str| expand_host(p).unwrap_err();
        assert!(err("h[c:a]").contains("backwards"));
        assert!(err("h[01:100]").contains("same width"));
        assert!(err("h[1:3:0]").contains("step of 0"));
        assert!(err("h[1:2").contains("without a closing"));
        assert!(err("h[x]").contains("not a host range"));
        assert!(err("h[1:]").contains("no end value"));
        assert!(err("h[1:b]").contains("not a number"));
        // Ansible adds no host for these, silently; zkrun refuses.
        assert!(err("h[3:1]").contains("yields no host"));
        assert!(err("h[1:3:-1]").contains("yields no host"));
        assert!(err("h[0:99999999]").contains("more than"));
    }
}

//! Ansible's INI inventory format, read into [`Op`]s as ansible-core's
//! `plugins/inventory/ini.py` would call `add_group`, `add_host`,
//! `add_child` and `set_variable`.
//!
//! ```ini
//! zk0.example.com                  # before any section: group `ungrouped`
//!
//! [zookeeper]
//! zk[1:3].example.com ansible_user=root
//! zk4.example.com:2222 myid=4      # `:port`; values go through literal_eval
//!
//! [zookeeper:vars]
//! client_port = 2181               # one `key=value` per line, all text after `=`
//!
//! [cluster:children]
//! zookeeper                        # a group; may be defined further down
//! ```
//!
//! The rules, all from `ini.py` and checked against ansible-core 2.19.14:
//! - Lines are split as Python's `str.splitlines` does (also at `\r`,
//!   `\v`, `\f`, `\x1c`–`\x1e`, `\x85`, U+2028, U+2029) and stripped of
//!   Python whitespace; an empty line or one starting with `#` or `;` is a
//!   comment.
//! - `[name]`, `[name:hosts]`, `[name:vars]`, `[name:children]` start a
//!   section; a `#` comment may follow. Another `:type` is an error; any
//!   other line that starts with `[` and ends with `]` is an error. A line
//!   like `[g] ;c` is not a header: it is read as an entry of the section
//!   it is in.
//! - Host lines are split like a POSIX shell (Python's `shlex.split(line,
//!   comments=True)`): quotes group, `\` escapes, and a `#` starts a
//!   comment even inside a word (`pw=ab#c` is `pw=ab`). The first word is
//!   the host pattern (see `address.rs`), every other word must be
//!   `key=value`, and each value goes through Python's `ast.literal_eval`
//!   (see `pyliteral.rs`).
//! - `:vars` lines are split at the first `=` only, without shlex: `k = v #
//!   c` sets `k` to `"v # c"`, yet `k = 5 # c` sets 5 (literal_eval reads
//!   the comment), and the values are literal_eval-ed as well.
//! - `:children` lines hold one group name (a `#` comment may follow). A
//!   child or a `:vars` section may name a group defined further down; a
//!   group never defined by a `[g]` or `[g:children]` header is an error at
//!   the end (the first such, in the order first met).
//! - A host variable whose host shares its name with a group is set on the
//!   group (Ansible's `set_variable` looks for a group first): see
//!   [`Target`].
//! - Group names are kept as written (`web-servers`): with ansible-core's
//!   default `TRANSFORM_INVALID_GROUP_CHARS=never` it only warns.
//! - Cycles among groups are left to the caller.
//!
//! Line and column in [`At`] are 1-based; lines are counted at `\n` (as the
//! rest of zkrun shows them), columns in characters.

use indexmap::{IndexMap, IndexSet};

use super::address::{expand_host, is_py_space};
use super::pyliteral::try_literal_eval;
use super::value::{At, Op, SourceError, Target, Value};

/// Reads an INI inventory. Like Ansible, stops at the first error.
pub fn parse(text: &str) -> Result<Vec<Op>, SourceError> {
    let mut reader = Reader {
        ops: Vec::new(),
        groups: ["all", "ungrouped"].into_iter().map(String::from).collect(),
        hosts: IndexSet::new(),
        pending: IndexMap::new(),
        group: "ungrouped".into(),
        kind: Kind::Hosts,
    };
    for line in python_lines(text) {
        reader.line(&line)?;
    }
    reader.finish()
}

/// What the current section holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Hosts,
    Vars,
    Children,
}

/// A group named before it is defined: by a `[g:vars]` header (`Vars`) or
/// as a child (`Children`, with each parent and where it named the child).
struct Pending {
    kind: Kind,
    at: At,
    parents: Vec<(String, At)>,
}

struct Reader {
    ops: Vec<Op>,
    /// Groups that exist so far (Ansible's `inventory.groups`, as far as
    /// this file shows it).
    groups: IndexSet<String>,
    hosts: IndexSet<String>,
    /// Ansible's `pending_declarations`, in insertion order.
    pending: IndexMap<String, Pending>,
    group: String,
    kind: Kind,
}

/// One line as `str.splitlines` gives it, with where it starts.
struct Line<'a> {
    text: &'a str,
    line: usize,
    column: usize,
}

impl Line<'_> {
    /// The place of the character `chars` characters into the line.
    fn at(&self, chars: usize) -> At {
        At {
            line: self.line,
            column: self.column + chars,
        }
    }
}

/// Python's `str.splitlines()`, each line with its `\n`-counted place.
fn python_lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let (mut line, mut column) = (1, 1);
    let (mut start, mut start_line, mut start_column) = (0, 1, 1);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            column += 1;
            continue;
        }
        out.push(Line {
            text: &text[start..i],
            line: start_line,
            column: start_column,
        });
        let mut end = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
            chars.next();
            end += 1;
            line += 1;
            column = 1;
        } else if c == '\n' {
            line += 1;
            column = 1;
        } else {
            // Python ends a line here; zkrun's line numbers do not.
            column += 1;
        }
        (start, start_line, start_column) = (end, line, column);
    }
    if start < text.len() {
        out.push(Line {
            text: &text[start..],
            line: start_line,
            column: start_column,
        });
    }
    out
}

/// Python's `str.strip()`: the stripped text and how many characters were
/// removed in front.
fn py_strip(s: &str) -> (&str, usize) {
    let trimmed = s.trim_start_matches(is_py_space);
    let lead = s[..s.len() - trimmed.len()].chars().count();
    (trimmed.trim_end_matches(is_py_space), lead)
}

/// Python's `\w`.
fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// A group-name character in Ansible's patterns: `[^:\]\s]`.
fn is_name_char(c: char) -> bool {
    c != ':' && c != ']' && !is_py_space(c)
}

/// A section header: `^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:\#.*)?$`.
/// Returns the name and the optional type.
fn section(t: &str) -> Option<(&str, Option<&str>)> {
    let rest = t.strip_prefix('[')?;
    let name_end = rest.find(|c| !is_name_char(c)).unwrap_or(rest.len());
    let (name, mut after) = rest.split_at(name_end);
    if name.is_empty() {
        return None;
    }
    let mut tag = None;
    if let Some(t) = after.strip_prefix(':') {
        let end = t.find(|c| !is_word(c)).unwrap_or(t.len());
        if end == 0 {
            return None;
        }
        tag = Some(&t[..end]);
        after = &t[end..];
    }
    let after = after.strip_prefix(']')?.trim_start_matches(is_py_space);
    (after.is_empty() || after.starts_with('#')).then_some((name, tag))
}

/// A `:children` entry: `^([^:\]\s]+)\s*(?:\#.*)?$`. The name may contain
/// `#` (`d#x` is a group `d#x`), but where the rest does not fit, the regex
/// backtracks to the last `#` inside the name (`c#x y` is `c`).
fn child_name(t: &str) -> Option<&str> {
    let end = t.find(|c| !is_name_char(c)).unwrap_or(t.len());
    if end == 0 {
        return None;
    }
    let rest = t[end..].trim_start_matches(is_py_space);
    if rest.is_empty() || rest.starts_with('#') {
        return Some(&t[..end]);
    }
    match t[..end].rfind('#') {
        Some(p) if p > 0 => Some(&t[..p]),
        _ => None,
    }
}

/// Python's `shlex.split(line, comments=True)` (POSIX mode): words with
/// the character offset where each starts. `Err` holds the offset of the
/// problem and which one it is.
fn shlex_split(line: &str) -> Result<Vec<(String, usize)>, (usize, ShlexError)> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Word,
        Quote(char),
        /// After `\`; the state to return to.
        Escape(&'static str),
    }
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut state = State::Between;
    let mut word = String::new();
    let mut start = 0;
    let mut quote_at = 0;
    let whitespace = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut i = 0;
    loop {
        let c = chars.get(i).copied();
        match state {
            State::Between => match c {
                None => break,
                Some(c) if whitespace(c) => {}
                // A comment runs to the end of the line.
                Some('#') => break,
                Some('\\') => {
                    start = i;
                    state = State::Escape("word");
                }
                Some(q @ ('\'' | '"')) => {
                    start = i;
                    quote_at = i;
                    state = State::Quote(q);
                }
                Some(c) => {
                    start = i;
                    word.push(c);
                    state = State::Word;
                }
            },
            State::Word => match c {
                None => {
                    words.push((std::mem::take(&mut word), start));
                    break;
                }
                Some(c) if whitespace(c) || c == '#' => {
                    words.push((std::mem::take(&mut word), start));
                    if c == '#' {
                        break;
                    }
                    state = State::Between;
                }
                Some(q @ ('\'' | '"')) => {
                    quote_at = i;
                    state = State::Quote(q);
                }
                Some('\\') => state = State::Escape("word"),
                Some(c) => word.push(c),
            },
            State::Quote(q) => {
                match c {
                    None => return Err((quote_at, ShlexError::NoClosingQuote)),
                    Some(c) if c == q => state = State::Word,
                    // Only double quotes know escapes.
                    Some('\\') if q == '"' => state = State::Escape("double"),
                    Some(c) => word.push(c),
                }
            }
            State::Escape(back) => {
                let Some(c) = c else {
                    return Err((i.saturating_sub(1), ShlexError::NoEscapedChar));
                };
                // Inside double quotes only `\"` and `\\` are escapes; before
                // any other character the backslash stays.
                if back == "double" && c != '\\' && c != '"' {
                    word.push('\\');
                }
                word.push(c);
                state = if back == "double" {
                    State::Quote('"')
                } else {
                    State::Word
                };
            }
        }
        i += 1;
    }
    // Python drops an empty word unless it was quoted (`''`); a word here
    // always began with a character or a quote, so every one counts.
    Ok(words)
}

#[derive(Debug, Clone, Copy)]
enum ShlexError {
    NoClosingQuote,
    NoEscapedChar,
}

fn error(message: String, at: At, help: impl Into<Option<String>>) -> SourceError {
    SourceError {
        message,
        at,
        help: help.into(),
    }
}

impl Reader {
    fn line(&mut self, line: &Line) -> Result<(), SourceError> {
        let (t, lead) = py_strip(line.text);
        if t.is_empty() || t.starts_with(['#', ';']) {
            return Ok(());
        }
        let at = line.at(lead);
        if let Some((name, tag)) = section(t) {
            return self.header(name, tag, line.at(lead + 1));
        }
        if t.starts_with('[') && t.ends_with(']') {
            return Err(error(
                format!("`{t}` is not a valid section header"),
                at,
                "write `[group]`, `[group:vars]` or `[group:children]`; a group name has no \
                 spaces, `:` or `]`"
                    .to_string(),
            ));
        }
        match self.kind {
            Kind::Hosts => self.host_line(t, line, lead),
            Kind::Vars => self.var_line(t, at),
            Kind::Children => self.child_line(t, at),
        }
    }

    /// `[name]`, `[name:type]`.
    fn header(&mut self, name: &str, tag: Option<&str>, at: At) -> Result<(), SourceError> {
        let kind = match tag {
            None | Some("hosts") => Kind::Hosts,
            Some("vars") => Kind::Vars,
            Some("children") => Kind::Children,
            Some(other) => {
                return Err(error(
                    format!("unknown section type `{other}` in `[{name}:{other}]`"),
                    At {
                        column: at.column + name.chars().count() + 1,
                        ..at
                    },
                    "a section header is `[group]`, `[group:vars]` or `[group:children]`"
                        .to_string(),
                ));
            }
        };
        if !self.groups.contains(name) {
            // `[g]` or `[g:children]` defines a group; `[g:vars]` creates it
            // too, but must be backed by a definition somewhere in the file.
            if kind == Kind::Vars && !self.pending.contains_key(name) {
                self.pending.insert(
                    name.to_string(),
                    Pending {
                        kind,
                        at,
                        parents: Vec::new(),
                    },
                );
            }
            self.groups.insert(name.to_string());
            self.ops.push(Op::Group {
                name: name.to_string(),
                at,
            });
        }
        if kind != Kind::Vars {
            match self.pending.get(name).map(|p| p.kind) {
                Some(Kind::Children) => self.add_pending_children(name),
                Some(_) => {
                    self.pending.shift_remove(name);
                }
                None => {}
            }
        }
        self.group = name.to_string();
        self.kind = kind;
        Ok(())
    }

    /// `_add_pending_children`: the group now exists; link it under every
    /// parent that named it.
    fn add_pending_children(&mut self, group: &str) {
        let parents = self
            .pending
            .get(group)
            .map(|p| p.parents.clone())
            .unwrap_or_default();
        for (parent, at) in parents {
            self.ops.push(Op::Child {
                parent: parent.clone(),
                child: group.to_string(),
                at,
            });
            if self
                .pending
                .get(&parent)
                .is_some_and(|p| p.kind == Kind::Children)
            {
                self.add_pending_children(&parent);
            }
        }
        self.pending.shift_remove(group);
    }

    /// `host[1:3]:22 key=value key="value with spaces" # comment`
    fn host_line(&mut self, t: &str, line: &Line, lead: usize) -> Result<(), SourceError> {
        let words = shlex_split(t).map_err(|(pos, e)| match e {
            ShlexError::NoClosingQuote => error(
                "this quote is never closed".into(),
                line.at(lead + pos),
                "close it on the same line; a host line cannot continue onto the next".to_string(),
            ),
            ShlexError::NoEscapedChar => error(
                "`\\` at the end of a host line escapes nothing".into(),
                line.at(lead + pos),
                "remove it, or write `\\\\` for a backslash".to_string(),
            ),
        })?;
        // The line is stripped and not a comment, so there is a first word.
        let (pattern, pattern_pos) = &words[0];
        let pattern_at = line.at(lead + pattern_pos);
        let (names, port) = expand_host(pattern).map_err(|message| {
            let help = if message.starts_with("port ") {
                "write the port as `host:PORT`, with PORT from 1 to 65535"
            } else if pattern.starts_with('\u{feff}') {
                "the file starts with a byte-order mark, which Ansible reads as part of the first \
                 line: save the file without one"
            } else if pattern.starts_with('[')
                && words.get(1).is_some_and(|(w, _)| w.starts_with(';'))
            {
                "a comment after a section header starts with `#`; with `;` the line is read as \
                 a host"
            } else {
                "a host range is `[begin:end]` or `[begin:end:step]`, e.g. `zk[1:3]`, \
                 `zk[01:10]`, `zk[a:c]`"
            };
            error(
                format!("host `{pattern}`: {message}"),
                pattern_at,
                help.to_string(),
            )
        })?;
        // The INI plugin's own checks (`ini.py`, `_expand_hostpattern`).
        if py_strip(pattern).0.ends_with(':') {
            let bare = pattern.trim_end_matches(':');
            return Err(error(
                format!("host `{pattern}` ends with `:` but no port follows"),
                pattern_at,
                format!(
                    "`:` after a host name introduces its port: write `{bare}:22`, or drop the \
                     `:`; a YAML inventory needs a `.yml` or `.yaml` name"
                ),
            ));
        }
        if names.iter().any(|n| py_strip(n).0 == "---") {
            return Err(error(
                "`---` is not a host name".into(),
                pattern_at,
                "`---` starts a YAML document: give a YAML inventory a `.yml` or `.yaml` name"
                    .to_string(),
            ));
        }
        // `key=value` words; a key given twice keeps its first place and
        // its last value (a Python dict).
        let mut vars: IndexMap<String, (Value, At)> = IndexMap::new();
        for (n, (word, pos)) in words.iter().enumerate().skip(1) {
            let at = line.at(lead + pos);
            let Some((key, raw)) = word.split_once('=') else {
                let help = if word.starts_with(';') {
                    "`;` starts a comment only at the start of a line; after a host, a comment \
                     starts with `#`"
                        .to_string()
                } else {
                    let value = match words.get(n + 1) {
                        Some((next, _)) if !next.contains('=') => next.as_str(),
                        _ => "VALUE",
                    };
                    format!(
                        "write `{word}={value}`; host variables on an INI host line are \
                         key=value pairs"
                    )
                };
                return Err(error(
                    format!("expected `key=value` after the host name, found `{word}`"),
                    at,
                    help,
                ));
            };
            let value = value(key, raw, at)?;
            vars.insert(key.to_string(), (value, at));
        }
        for name in names {
            if name.is_empty() {
                return Err(error(
                    "empty host name".into(),
                    pattern_at,
                    "remove the empty quotes, or write a host name".to_string(),
                ));
            }
            self.ops.push(Op::Host {
                name: name.clone(),
                group: self.group.clone(),
                port,
                at: pattern_at,
            });
            self.hosts.insert(name.clone());
            // Ansible's set_variable looks for a group of that name first.
            let target = if self.groups.contains(&name) {
                Target::Group(name.clone())
            } else {
                Target::Host(name.clone())
            };
            for (key, (value, at)) in &vars {
                self.ops.push(Op::Var {
                    target: target.clone(),
                    key: key.clone(),
                    value: value.clone(),
                    at: *at,
                });
            }
        }
        Ok(())
    }

    /// `key = value` in `[group:vars]`: split at the first `=`, both sides
    /// stripped; no shlex, so quotes and `#` stay in the value.
    fn var_line(&mut self, t: &str, at: At) -> Result<(), SourceError> {
        let Some((k, v)) = t.split_once('=') else {
            let help = if t.contains(':') {
                "write `key=value`: INI inventories do not accept `key: value`"
            } else {
                "write one `key=value` per line"
            };
            return Err(error(
                format!(
                    "expected `key=value` in `[{}:vars]`, found `{t}`",
                    self.group
                ),
                at,
                help.to_string(),
            ));
        };
        let (key, _) = py_strip(k);
        let (raw, _) = py_strip(v);
        let key_at = if key.is_empty() {
            // No key: point at the `=`.
            At {
                column: at.column + k.chars().count(),
                ..at
            }
        } else {
            at
        };
        let value = value(key, raw, key_at)?;
        self.ops.push(Op::Var {
            target: Target::Group(self.group.clone()),
            key: key.to_string(),
            value,
            at: key_at,
        });
        Ok(())
    }

    /// A group name in `[group:children]`.
    fn child_line(&mut self, t: &str, at: At) -> Result<(), SourceError> {
        let Some(child) = child_name(t) else {
            return Err(error(
                format!(
                    "expected a group name in `[{}:children]`, found `{t}`",
                    self.group
                ),
                at,
                "write one group name per line; a group name has no spaces, `:` or `]`, and a \
                 comment after it starts with `#`"
                    .to_string(),
            ));
        };
        if self.groups.contains(child) {
            self.ops.push(Op::Child {
                parent: self.group.clone(),
                child: child.to_string(),
                at,
            });
            return Ok(());
        }
        let parent = (self.group.clone(), at);
        match self.pending.get_mut(child) {
            Some(p) => p.parents.push(parent),
            None => {
                self.pending.insert(
                    child.to_string(),
                    Pending {
                        kind: Kind::Children,
                        at,
                        parents: vec![parent],
                    },
                );
            }
        }
        Ok(())
    }

    /// The first group still pending is an error, as in Ansible.
    fn finish(self) -> Result<Vec<Op>, SourceError> {
        let Some((name, p)) = self.pending.first() else {
            return Ok(self.ops);
        };
        Err(match p.kind {
            Kind::Children => {
                // Ansible names the last parent that listed the child.
                let (parent, at) = p.parents.last().cloned().unwrap_or_default();
                let help = if self.hosts.contains(name) {
                    format!(
                        "`{name}` is a host: list it under `[{parent}]`; `[{parent}:children]` takes groups"
                    )
                } else {
                    format!(
                        "define it with a `[{name}]` section (it may be empty), or fix the name"
                    )
                };
                error(
                    format!(
                        "`[{parent}:children]` names `{name}`, a group this file never defines"
                    ),
                    if at == At::default() { p.at } else { at },
                    help,
                )
            }
            _ => error(
                format!(
                    "`[{name}:vars]` sets variables of group `{name}`, which this file never defines"
                ),
                p.at,
                format!(
                    "define the group with a `[{name}]` or `[{name}:children]` section (either \
                     may be empty), or fix the name"
                ),
            ),
        })
    }
}

/// `_parse_value`: literal_eval, or the text itself where Python raises
/// ValueError or SyntaxError.
fn value(key: &str, raw: &str, at: At) -> Result<Value, SourceError> {
    match try_literal_eval(raw) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Ok(Value::Str(raw.to_string())),
        Err(why) => Err(error(
            format!("the value of `{key}` cannot be read: {why}"),
            at,
            "INI values are read as Python literals; to keep this one as text, quote it so the \
             quotes survive, e.g. `key=\"'…'\"` on a host line"
                .to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every expectation here is what ansible-core 2.19.14's own ini plugin
    // did with the same file (its add_group/add_host/add_child/set_variable
    // calls, recorded), unless a comment says zkrun departs on purpose.

    /// The ops as short lines: `G g`, `H host group [:port]`, `C parent
    /// child`, `V group|host name key=json`.
    fn ops(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|op| match op {
                Op::Group { name, .. } => format!("G {name}"),
                Op::Host {
                    name, group, port, ..
                } => match port {
                    Some(p) => format!("H {name} {group} :{p}"),
                    None => format!("H {name} {group}"),
                },
                Op::Child { parent, child, .. } => format!("C {parent} {child}"),
                Op::Var {
                    target, key, value, ..
                } => {
                    let (kind, name) = match target {
                        Target::Group(g) => ("group", g),
                        Target::Host(h) => ("host", h),
                    };
                    format!("V {kind} {name} {key}={}", value.to_json())
                }
            })
            .collect()
    }

    fn err(text: &str) -> SourceError {
        parse(text).expect_err("Ansible fails on this file")
    }

    fn at(line: usize, column: usize) -> At {
        At { line, column }
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert!(ops("").is_empty());
        assert!(ops("\n  \n# c\n; c\n   # indented comment\n\t; tab comment\n").is_empty());
    }

    #[test]
    fn hosts_before_any_section_are_ungrouped() {
        assert_eq!(ops("h0\n[g]\nh1\n"), ["H h0 ungrouped", "G g", "H h1 g"]);
        assert_eq!(ops("h1\n[g]\nh1\n"), ["H h1 ungrouped", "G g", "H h1 g"]);
    }

    #[test]
    fn section_kinds() {
        assert_eq!(
            ops("[g:hosts]\nh1\n[g:vars]\na=1\n[g:children]\nc\n[c]\n"),
            ["G g", "H h1 g", "V group g a=1", "G c", "C g c"]
        );
        // A header met again adds no group.
        assert_eq!(
            ops("[g]\nh1\n[other]\n[g]\nh2\n"),
            ["G g", "H h1 g", "G other", "H h2 g"]
        );
        assert_eq!(
            ops("[all]\nh1\n[ungrouped]\nh2\n[all:vars]\nx=1\n[ungrouped:vars]\ny=2\n"),
            [
                "H h1 all",
                "H h2 ungrouped",
                "V group all x=1",
                "V group ungrouped y=2"
            ]
        );
    }

    #[test]
    fn unknown_section_type_fails() {
        let e = err("[g]\nh1\n[g:foo]\n");
        assert_eq!(e.message, "unknown section type `foo` in `[g:foo]`");
        assert_eq!(e.at, at(3, 4));
        // The type is case-sensitive.
        assert!(err("[g:Vars]\n").message.contains("`Vars`"));
    }

    #[test]
    fn invalid_section_headers_fail() {
        for (text, shown) in [
            ("[g h]\n", "[g h]"),
            ("[g:]\n", "[g:]"),
            ("[g:vars:x]\n", "[g:vars:x]"),
            ("[]\n", "[]"),
        ] {
            let e = err(text);
            assert_eq!(
                e.message,
                format!("`{shown}` is not a valid section header")
            );
            assert_eq!(e.at, at(1, 1));
        }
    }

    #[test]
    fn header_comments() {
        assert_eq!(ops("[g] # c\nh1\n"), ["G g", "H h1 g"]);
        assert_eq!(ops("[g]#c\nh1\n"), ["G g", "H h1 g"]);
        assert_eq!(ops("   [g]\nh1\n"), ["G g", "H h1 g"]);
        // `;` after a header: not a header, so a host line, whose `[g2]` is
        // a bad range (Ansible: "host range must be begin:end…").
        let e = err("[g]\nh1\n[g2]   ;c\n");
        assert_eq!(e.at, at(3, 1));
        assert!(e.help.unwrap().contains("starts with `#`"));
        // A name may contain `[`: `[[g]` is group `[g`.
        assert_eq!(ops("[[g]\nh1\n"), ["G [g", "H h1 [g"]);
    }

    #[test]
    fn group_names_are_kept_as_written() {
        // Ansible warns ("Invalid characters were found in group names but
        // not replaced") and keeps them.
        assert_eq!(
            ops("[web-servers]\nh1\n[1abc]\nh2\n[grüppe]\nh3\n"),
            [
                "G web-servers",
                "H h1 web-servers",
                "G 1abc",
                "H h2 1abc",
                "G grüppe",
                "H h3 grüppe"
            ]
        );
    }

    #[test]
    fn host_lines_take_shell_comments() {
        assert_eq!(
            ops("h1 a=1 # c\nh2 b=x#y\nh3#c\nh4 c=\"x#y\" d='p#q'\n"),
            [
                "H h1 ungrouped",
                "V host h1 a=1",
                "H h2 ungrouped",
                "V host h2 b=\"x\"",
                "H h3 ungrouped",
                "H h4 ungrouped",
                "V host h4 c=\"x#y\"",
                "V host h4 d=\"p#q\"",
            ]
        );
    }

    #[test]
    fn host_line_shell_quoting() {
        assert_eq!(
            ops("h1 a=\"x\\\"y\" b='x\\y' c=x\\ y d=\"a\\\\b\" e=\"\\$\" f=a\"b c\"d g=\n"),
            [
                "H h1 ungrouped",
                "V host h1 a=\"x\\\"y\"",
                "V host h1 b=\"x\\\\y\"",
                "V host h1 c=\"x y\"",
                "V host h1 d=\"a\\\\b\"",
                "V host h1 e=\"\\\\$\"",
                "V host h1 f=\"ab cd\"",
                "V host h1 g=\"\"",
            ]
        );
        assert_eq!(
            ops("h1 a= b='' c=\"\"\n"),
            [
                "H h1 ungrouped",
                "V host h1 a=\"\"",
                "V host h1 b=\"\"",
                "V host h1 c=\"\""
            ]
        );
        // Tabs separate words; a no-break space does not.
        assert_eq!(
            ops("[g]\nh1\ta=1\t\tb=2\n"),
            ["G g", "H h1 g", "V host h1 a=1", "V host h1 b=2"]
        );
        assert_eq!(ops("h1\u{a0}a=1\n"), ["H h1\u{a0}a=1 ungrouped"]);
        assert_eq!(
            ops("\"h 1\" a=1\n'h2'\n"),
            ["H h 1 ungrouped", "V host h 1 a=1", "H h2 ungrouped"]
        );
        // The first word is the host, even with `=` in it.
        assert_eq!(ops("a=b c=d\n"), ["H a=b ungrouped", "V host a=b c=\"d\""]);
    }

    #[test]
    fn shell_quoting_errors() {
        let e = err("h1 a='unterminated\n");
        assert_eq!(
            (e.message.as_str(), e.at),
            ("this quote is never closed", at(1, 6))
        );
        let e = err("h1 a=b\\\n");
        assert!(e.message.contains("escapes nothing"), "{}", e.message);
    }

    #[test]
    fn host_words_must_be_key_value() {
        let e = err("[g]\nh1 port\n");
        assert_eq!(
            e.message,
            "expected `key=value` after the host name, found `port`"
        );
        assert_eq!(e.at, at(2, 4));
        assert_eq!(
            e.help.as_deref(),
            Some("write `port=VALUE`; host variables on an INI host line are key=value pairs")
        );
        let e = err("[g]\nh1 a=1 port 2222\n");
        assert_eq!(e.at, at(2, 8));
        assert_eq!(
            e.help.as_deref(),
            Some("write `port=2222`; host variables on an INI host line are key=value pairs")
        );
        // `;` is a comment only at the start of a line.
        let e = err("h1 ; comment\n");
        assert_eq!(
            e.message,
            "expected `key=value` after the host name, found `;`"
        );
        assert!(e.help.unwrap().contains("`#`"));
    }

    #[test]
    fn host_values_go_through_literal_eval() {
        let text = "h1 a=2222 b=True c='1' d=yes e=0755 f=0x1F g=1_000 h=-1 i=1.5 j=1e3 k=None \
                    l=\"[1, 'a']\" m=\"(1,2)\" n=\"{'a': 1}\" o=\"'x\\\\ty'\" p=\"b'x'\" q=false \
                    r=1,2 s=\"'1'\" t=\"\\\"1\\\"\" u=1j v=... w=\"{1,2}\" x=\"set()\" y=\"u'z'\" \
                    z=\"r'a\\\\nb'\"\n";
        assert_eq!(
            ops(text),
            [
                "H h1 ungrouped",
                "V host h1 a=2222",
                "V host h1 b=true",
                "V host h1 c=1",
                "V host h1 d=\"yes\"",
                "V host h1 e=\"0755\"",
                "V host h1 f=31",
                "V host h1 g=1000",
                "V host h1 h=-1",
                "V host h1 i=1.5",
                "V host h1 j=1000.0",
                "V host h1 k=null",
                "V host h1 l=[1,\"a\"]",
                "V host h1 m=[1,2]",
                "V host h1 n={\"a\":1}",
                "V host h1 o=\"x\\ty\"",
                "V host h1 p=\"x\"",
                "V host h1 q=\"false\"",
                "V host h1 r=[1,2]",
                "V host h1 s=\"1\"",
                "V host h1 t=\"1\"",
                "V host h1 u=\"1j\"",
                "V host h1 v=\"...\"",
                "V host h1 w=[1,2]",
                "V host h1 x=[]",
                "V host h1 y=\"z\"",
                "V host h1 z=\"a\\\\nb\"",
            ]
        );
    }

    #[test]
    fn vars_values_go_through_literal_eval_too() {
        let text = "[all:vars]\na=2222\nb=True\nc='1'\nd=yes\ne=0755\nf=0x1F\nk=None\n\
                    l=[1, 'a']\nq=false\nr=1,2\ns=\"1\"\nt= 1 2\nu=-0.0\nx=0o17\nz=00\n";
        assert_eq!(
            ops(text),
            [
                "V group all a=2222",
                "V group all b=true",
                // No shlex here: the quotes reach literal_eval.
                "V group all c=\"1\"",
                "V group all d=\"yes\"",
                "V group all e=\"0755\"",
                "V group all f=31",
                "V group all k=null",
                "V group all l=[1,\"a\"]",
                "V group all q=\"false\"",
                "V group all r=[1,2]",
                "V group all s=\"1\"",
                "V group all t=\"1 2\"",
                "V group all u=-0.0",
                "V group all x=15",
                "V group all z=0",
            ]
        );
    }

    #[test]
    fn vars_lines_keep_everything_after_the_equals() {
        assert_eq!(
            ops("[all:vars]\nk = v # c\nn = 5 # c\ns = 'a' # c\nt = \"a b\"\n"),
            [
                "V group all k=\"v # c\"",
                // literal_eval reads `5 # c` as 5 (a Python comment).
                "V group all n=5",
                "V group all s=\"a\"",
                "V group all t=\"a b\"",
            ]
        );
        assert_eq!(ops("[all:vars]\nk = a=b\n"), ["V group all k=\"a=b\""]);
        assert_eq!(ops("[all:vars]\nk = # c\n"), ["V group all k=\"# c\""]);
        assert_eq!(
            ops("[g]\nh1 a=1   \n[g:vars]\t\nk = v \t\n"),
            ["G g", "H h1 g", "V host h1 a=1", "V group g k=\"v\""]
        );
    }

    #[test]
    fn vars_keys() {
        // Ansible accepts these keys with a deprecation warning.
        assert_eq!(ops("[all:vars]\nk: v=1\n"), ["V group all k: v=1"]);
        assert_eq!(
            ops("[all:vars]\n my key = v \n"),
            ["V group all my key=\"v\""]
        );
        assert_eq!(
            ops("[all:vars]\n= v\nk =\n"),
            ["V group all =\"v\"", "V group all k=\"\""]
        );
        assert_eq!(ops("h1 =1\n"), ["H h1 ungrouped", "V host h1 =1"]);
    }

    #[test]
    fn vars_need_an_equals() {
        let e = err("[all:vars]\nk=v\nk2 = v2\nk3: v3\n");
        assert_eq!(
            e.message,
            "expected `key=value` in `[all:vars]`, found `k3: v3`"
        );
        assert_eq!(e.at, at(4, 1));
        assert!(e.help.unwrap().contains("`key: value`"));
        assert_eq!(err("[g]\n[g:vars]\nnovalue\n").at, at(3, 1));
        assert_eq!(err("[all:vars]\n[not a section\n").at, at(2, 1));
    }

    #[test]
    fn vars_for_a_group_defined_later() {
        assert_eq!(
            ops("[g:vars]\na=1\n[g]\nh\n"),
            ["G g", "V group g a=1", "H h g"]
        );
        assert_eq!(
            ops("[g:vars]\na=1\n[g:children]\n"),
            ["G g", "V group g a=1"]
        );
        assert_eq!(ops("[g:vars]\na=1\n[g:hosts]\n"), ["G g", "V group g a=1"]);
    }

    #[test]
    fn vars_for_a_group_never_defined_fail() {
        let e = err("[g:vars]\na=1\n");
        assert_eq!(
            e.message,
            "`[g:vars]` sets variables of group `g`, which this file never defines"
        );
        assert_eq!(e.at, at(1, 2));
        // Being named as a child does not define it either.
        let e = err("[c:vars]\na=1\n[p:children]\nc\n");
        assert_eq!(e.at, at(1, 2));
    }

    #[test]
    fn children_defined_later() {
        assert_eq!(
            ops("[p:children]\nc\n[c]\nh\n"),
            ["G p", "G c", "C p c", "H h c"]
        );
        assert_eq!(
            ops("[p:children]\nc\n[c:vars]\na=1\n[c:children]\n"),
            ["G p", "G c", "V group c a=1", "C p c"]
        );
        assert_eq!(
            ops("[a:children]\nb\n[b:vars]\nx=1\n[b:children]\nc\n[c]\n"),
            ["G a", "G b", "V group b x=1", "C a b", "G c", "C b c"]
        );
    }

    #[test]
    fn children_never_defined_fail() {
        let e = err("[p:children]\nc\n");
        assert_eq!(
            e.message,
            "`[p:children]` names `c`, a group this file never defines"
        );
        assert_eq!(e.at, at(2, 1));
        // Ansible names the last parent.
        let e = err("[p:children]\nc\n[q:children]\nc\n");
        assert_eq!(
            e.message,
            "`[q:children]` names `c`, a group this file never defines"
        );
        assert_eq!(e.at, at(4, 1));
        // A `[c:vars]` section does not define `c`.
        assert!(
            err("[p:children]\nc\n[c:vars]\na=1\n")
                .message
                .contains("`c`")
        );
        // A host is not a group.
        let e = err("[g]\nh\n[p:children]\nh\n");
        assert!(e.help.unwrap().contains("`h` is a host"));
    }

    #[test]
    fn children_lines() {
        assert_eq!(
            ops("[p:children]\nc # comment\nd#x\n[c]\n[d#x]\n"),
            ["G p", "G c", "C p c", "G d#x", "C p d#x"]
        );
        let e = err("[p:children]\na:b\n");
        assert_eq!(
            e.message,
            "expected a group name in `[p:children]`, found `a:b`"
        );
        assert_eq!(e.at, at(2, 1));
        assert_eq!(err("[p:children]\nc ;x\n").at, at(2, 1));
        // The name regex backtracks to a `#` when the rest does not fit.
        assert_eq!(ops("[p:children]\nc#x y\n[c]\n"), ["G p", "G c", "C p c"]);
    }

    #[test]
    fn cycles_are_left_to_the_caller() {
        // Ansible fails at line 4 ("creates a recursive dependency loop")
        // and at line 2 ("can't add group to itself"); zkrun's inventory
        // builder checks the whole graph instead.
        assert_eq!(
            ops("[a:children]\nb\n[b:children]\na\n"),
            ["G a", "G b", "C a b", "C b a"]
        );
        assert_eq!(ops("[g:children]\ng\n"), ["G g", "C g g"]);
    }

    #[test]
    fn a_host_named_like_a_group_sets_group_variables() {
        assert_eq!(
            ops("[g]\nh1\n[h1]\nh2\n[g]\nh1 x=1\n"),
            [
                "G g",
                "H h1 g",
                "G h1",
                "H h2 h1",
                "H h1 g",
                "V group h1 x=1"
            ]
        );
        assert_eq!(
            ops("[g]\nall x=1\nungrouped y=2\n"),
            [
                "G g",
                "H all g",
                "V group all x=1",
                "H ungrouped g",
                "V group ungrouped y=2"
            ]
        );
    }

    #[test]
    fn hosts_listed_twice() {
        assert_eq!(
            ops("[g]\nh1 a=1 b=1\nh1 a=2\n[g2]\nh1 c=3\n"),
            [
                "G g",
                "H h1 g",
                "V host h1 a=1",
                "V host h1 b=1",
                "H h1 g",
                "V host h1 a=2",
                "G g2",
                "H h1 g2",
                "V host h1 c=3",
            ]
        );
        // One line, one key twice: its first place, its last value.
        assert_eq!(
            ops("h1 a=1 b=2 a=3\n"),
            ["H h1 ungrouped", "V host h1 a=3", "V host h1 b=2"]
        );
        // A dict given twice is replaced, not merged.
        assert_eq!(
            ops("h1 d=\"{'a':1}\"\nh1 d=\"{'b':2}\"\n"),
            [
                "H h1 ungrouped",
                "V host h1 d={\"a\":1}",
                "H h1 ungrouped",
                "V host h1 d={\"b\":2}"
            ]
        );
        // Ansible warns of a second localhost-like name, and keeps both.
        assert_eq!(
            ops("localhost\n127.0.0.1\n"),
            ["H localhost ungrouped", "H 127.0.0.1 ungrouped"]
        );
    }

    #[test]
    fn line_endings() {
        assert_eq!(
            ops("[g]\r\nh1 a=1\r\n[g:vars]\r\nk = v\r\n"),
            ["G g", "H h1 g", "V host h1 a=1", "V group g k=\"v\""]
        );
        assert_eq!(ops("[g]\rh1 a=1\r"), ["G g", "H h1 g", "V host h1 a=1"]);
        // Python's splitlines also breaks at \v, \f and \x1c.
        assert_eq!(
            ops("[g]\x0bh1\x0ch2\x1ch3\n"),
            ["G g", "H h1 g", "H h2 g", "H h3 g"]
        );
        // …but zkrun counts lines at \n, as editors do.
        let Op::Host { at: place, .. } = &parse("[g]\x0bh1\nh2\n").unwrap()[1] else {
            panic!()
        };
        assert_eq!(*place, at(1, 5));
    }

    #[test]
    fn byte_order_mark_is_part_of_the_first_line() {
        // Ansible does not strip it (zkrun's file reader does, before this).
        let e = err("\u{feff}[g]\nh1\n");
        assert_eq!(e.at, at(1, 1));
        assert!(e.help.unwrap().contains("byte-order mark"));
        assert_eq!(ops("\u{feff}h1\n"), ["H \u{feff}h1 ungrouped"]);
    }

    #[test]
    fn ports_and_ranges() {
        let text = "[g]\nh[1:3]:2222\nzk[01:03].x\nx[a:c]\nh[1:9:4]\n[::1]:22\n::1\n\
                    127.0.0.1:22\nr[1:2]:22 a=1\nfe80::1\n[fe80::[1:2]]:22\n10.0.[1:2].1\n";
        assert_eq!(
            ops(text),
            [
                "G g",
                "H h1 g :2222",
                "H h2 g :2222",
                "H h3 g :2222",
                "H zk01.x g",
                "H zk02.x g",
                "H zk03.x g",
                "H xa g",
                "H xb g",
                "H xc g",
                "H h1 g",
                "H h5 g",
                "H h9 g",
                "H ::1 g :22",
                "H ::1 g",
                "H 127.0.0.1 g :22",
                "H r1 g :22",
                "V host r1 a=1",
                "H r2 g :22",
                "V host r2 a=1",
                "H fe80::1 g",
                "H fe80::1 g :22",
                "H fe80::2 g :22",
                "H 10.0.1.1 g",
                "H 10.0.2.1 g",
            ]
        );
        assert_eq!(
            ops("h[1:2]-[a:b]\n"),
            [
                "H h1-a ungrouped",
                "H h1-b ungrouped",
                "H h2-a ungrouped",
                "H h2-b ungrouped"
            ]
        );
        assert_eq!(
            ops("h[:2]\n"),
            ["H h0 ungrouped", "H h1 ungrouped", "H h2 ungrouped"]
        );
        assert_eq!(
            ops("h[-1:1]\n"),
            ["H h-1 ungrouped", "H h0 ungrouped", "H h1 ungrouped"]
        );
    }

    #[test]
    fn unusual_host_names_are_kept() {
        // Not addresses Ansible recognises: the whole text is the name.
        assert_eq!(
            ops("h_\n-h\nh:abc\n_x\nh.\n.h\nh..x\n"),
            [
                "H h_ ungrouped",
                "H -h ungrouped",
                "H h:abc ungrouped",
                "H _x ungrouped",
                "H h. ungrouped",
                "H .h ungrouped",
                "H h..x ungrouped",
            ]
        );
    }

    #[test]
    fn ports_zkrun_treats_differently() {
        // Ansible: port 0 (its Host() then sets no ansible_port), 99999
        // (kept, fails to connect), 22.
        assert_eq!(
            ops("h1:0\nh3:0022\n"),
            ["H h1 ungrouped", "H h3 ungrouped :22"]
        );
        let e = err("h1:0\nh2:99999\n");
        assert_eq!(e.at, at(2, 1));
        assert!(e.message.contains("out of range"), "{}", e.message);
    }

    #[test]
    fn range_errors() {
        // Ansible's: "not enough values to unpack (expected 3, got 2)",
        // "host range must have begin <= end", "… equal-length begin and
        // end formats", "range() arg 3 must not be zero", "host range must
        // be begin:end or begin:end:step", "… must specify end value".
        for text in [
            "h[1:2\n",
            "h[c:a]\n",
            "h[01:100]\n",
            "h[1:3:0]\n",
            "h[x]\n",
            "h[1:]\n",
        ] {
            let e = err(text);
            assert!(e.message.starts_with("host `h["), "{}", e.message);
            assert_eq!(e.at, at(1, 1));
        }
        // Ansible adds no host for these, without a word; zkrun refuses.
        assert!(err("h[3:1]\nk\n").message.contains("yields no host"));
        assert!(err("h[1:3:-1]\nk\n").message.contains("yields no host"));
    }

    #[test]
    fn host_patterns_the_ini_plugin_refuses() {
        let e = err("h1:\n");
        assert_eq!(e.message, "host `h1:` ends with `:` but no port follows");
        assert_eq!(err("all:\n  hosts:\n").at, at(1, 1));
        assert_eq!(err("---\n").message, "`---` is not a host name");
        assert_eq!(err("\"\" a=1\n").message, "empty host name");
    }

    #[test]
    fn values_python_cannot_take() {
        // TypeError: unhashable type: 'list' fails the inventory…
        let e = err("h1 d=\"{[1]: 2}\"\n");
        assert!(
            e.message.contains("unhashable type: 'list'"),
            "{}",
            e.message
        );
        assert_eq!(e.at, at(1, 4));
        // …unless a malformed part comes first: then it is text.
        assert_eq!(
            ops("h1 d=\"{3: x, [1]: 2}\"\n"),
            ["H h1 ungrouped", "V host h1 d=\"{3: x, [1]: 2}\""]
        );
    }

    #[test]
    fn places_of_names_and_keys() {
        let got =
            parse("[web]\n  zk1:2222  a=1\n[web:vars]\n k = v\n[top:children]\n web\n").unwrap();
        let places: Vec<At> = got
            .iter()
            .map(|op| match op {
                Op::Group { at, .. }
                | Op::Host { at, .. }
                | Op::Child { at, .. }
                | Op::Var { at, .. } => *at,
            })
            .collect();
        assert_eq!(
            places,
            [at(1, 2), at(2, 3), at(2, 13), at(4, 2), at(5, 2), at(6, 2)]
        );
    }
}

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

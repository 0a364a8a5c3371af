//! The one module that knows which YAML crate zkrun uses.
//!
//! Typed data comes from `serde_yaml`, deserialized straight from the text so
//! every structural error carries its line and column. Problems found later
//! (an undefined variable, a duplicate id) are located with a second, cheap
//! index of the same text built by `yaml-rust2`'s event parser: it maps a path
//! such as `tasks/3/backup/dest` to the place of that key and value. The index
//! is only built when a problem needs a place, so loading stays fast.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::{Diagnostic, Snippet, did_you_mean};

/// Playbooks and inventories larger than this are refused before parsing: a
/// 10,000-host inventory is about 1 MiB, so this leaves room and still stops a
/// runaway file from eating memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Flow collections (`[`, `{`) nested deeper than this are refused before
/// parsing: 200,000 nested `[` once took the YAML parser 85 s to refuse.
pub const MAX_NESTING: usize = 128;

/// Where flow nesting first goes past `MAX_NESTING` (1-based line and
/// column), skipping quoted text and comments. One pass, no allocation.
pub fn too_deep(text: &str) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut col) = (0usize, 1usize, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = ' ';
    for c in text.chars() {
        col += 1;
        if c == '\n' {
            line += 1;
            col = 0;
            comment = false;
            prev = c;
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if comment => {}
            None => match c {
                '#' if prev.is_whitespace() => comment = true,
                '\'' | '"' if matches!(prev, ' ' | '[' | '{' | ',' | ':' | '\n') => quote = Some(c),
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Some((line, col));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        prev = c;
    }
    None
}

/// A file's text with the name it is shown under.
#[derive(Debug)]
pub struct Source {
    pub path: String,
    pub text: String,
    positions: OnceLock<Positions>,
}

/// A path into a YAML document: map keys and sequence indices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct YamlPath(String);

impl YamlPath {
    pub fn root() -> Self {
        YamlPath(String::new())
    }

    pub fn key(&self, key: &str) -> Self {
        YamlPath(format!("{}\u{1f}{key}", self.0))
    }

    pub fn index(&self, index: usize) -> Self {
        self.key(&index.to_string())
    }
}

/// Which part of a mapping entry a diagnostic points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Key,
    Value,
}

impl Source {
    /// Reads a file, refusing what cannot be a playbook or inventory with a
    /// message that says which file and why.
    pub fn read(path: &Path, what: &str) -> Result<Source, Diagnostic> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| {
            let d = Diagnostic::new(format!("cannot read {what} `{shown}`: {}", io_reason(&e)));
            if e.kind() == std::io::ErrorKind::NotFound {
                d.help("check the path; it is read relative to the current directory")
            } else {
                d
            }
        })?;
        if meta.is_dir() {
            return Err(
                Diagnostic::new(format!("{what} `{shown}` is a directory, not a file"))
                    .help(format!("name the {what} YAML file itself")),
            );
        }
        // A FIFO, a device (/dev/zero) or a socket reports no size and may
        // never end: only regular files are read.
        if !meta.is_file() {
            use std::os::unix::fs::FileTypeExt;
            let t = meta.file_type();
            let kind = if t.is_fifo() {
                "a named pipe (FIFO)"
            } else if t.is_char_device() || t.is_block_device() {
                "a device"
            } else if t.is_socket() {
                "a socket"
            } else {
                "not a regular file"
            };
            return Err(
                Diagnostic::new(format!("{what} `{shown}` is {kind}, not a regular file"))
                    .help(format!("save the {what} to a file and name that file")),
            );
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(Diagnostic::new(format!(
                "{what} `{shown}` is {:.1} MiB; zkrun reads files up to {} MiB",
                meta.len() as f64 / (1024.0 * 1024.0),
                MAX_FILE_BYTES / (1024 * 1024)
            ))
            .help("is this the right file? Split a huge inventory with --limit or several files"));
        }
        // Read at most one byte past the cap: a file that grows while it is
        // read is refused, not read without end.
        let mut bytes = Vec::new();
        {
            use std::io::Read;
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
                .map_err(|e| {
                    Diagnostic::new(format!("cannot read {what} `{shown}`: {}", io_reason(&e)))
                })?;
        }
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Diagnostic::new(format!(
                "{what} `{shown}` grew past {} MiB while it was read",
                MAX_FILE_BYTES / (1024 * 1024)
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let prefix = &e.as_bytes()[..at];
            let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
            Diagnostic::new(format!(
                "{what} `{shown}` is not UTF-8 text: invalid byte at line {line} (byte offset {at})"
            ))
            .help("YAML files must be UTF-8; is this a binary file?")
        })?;
        // A byte-order mark is not YAML content (editors on Windows add one).
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        Ok(Source::new(shown, text))
    }

    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            path: path.into(),
            text: text.into(),
            positions: OnceLock::new(),
        }
    }

    /// Deserializes the whole text as `T`.
    pub fn parse<T: DeserializeOwned>(&self, what: &str) -> Result<T, Diagnostic> {
        let blank = self
            .text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
        if blank {
            return Err(
                Diagnostic::new(format!("{what} `{}` is empty", self.path)).help(format!(
                    "a {what} is a YAML mapping; see the examples in the README"
                )),
            );
        }
        if let Some((line, column)) = too_deep(&self.text) {
            return Err(Diagnostic::new(format!(
                "{what} is nested more than {MAX_NESTING} levels deep"
            ))
            .at(Some(self.snippet_at(line, column, 1)))
            .help("no playbook or inventory needs this; is the file damaged?"));
        }
        // serde_yaml drops a tag it cannot use and keeps the value: a
        // Python object tag (a classic YAML exploit) would pass unnoticed.
        if let Some(at) = self.text.find("!!python/") {
            let line = self.text[..at].matches('\n').count() + 1;
            let column = self.text[..at]
                .rsplit('\n')
                .next()
                .map_or(0, |l| l.chars().count())
                + 1;
            let tag: String = self.text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            return Err(Diagnostic::new(format!(
                "{what} uses the YAML tag `{tag}`, which zkrun refuses"
            ))
            .at(Some(self.snippet_at(line, column, tag.chars().count())))
            .help("playbooks hold plain values; remove the tag"));
        }
        serde_yaml::from_str(&self.text).map_err(|e| self.serde_error(&e, what))
    }

    fn serde_error(&self, err: &serde_yaml::Error, what: &str) -> Diagnostic {
        let full = err.to_string();
        // serde_yaml appends " at line L column C" (and for syntax errors a
        // second place); the snippet shows the place, so cut it from the text.
        let (message, context) = match full.find(" at line ") {
            Some(i) => (full[..i].to_string(), context_of(&full[i..])),
            None => (full.clone(), None),
        };
        let (path, message) = split_path(&message);
        let message = friendly_types(&message);
        let snippet = err.location().map(|loc| {
            let mut s = self.snippet_at(loc.line(), loc.column(), 1);
            s.width = match unknown_name(&message) {
                Some(n) => n.chars().count(),
                None => token_width(&s.line_text, loc.column()),
            };
            s
        });
        let mut d = Diagnostic::new(message.clone()).at(snippet);
        if let Some((word, expected)) = unknown_name_and_candidates(&message) {
            // "unknown field `x`, expected one of `a`, `b`": keep the first
            // half as the message, suggest, and list the choices as help.
            let head = message
                .split(", expected")
                .next()
                .unwrap_or(&message)
                .to_string();
            d.message = head;
            if let Some(best) = did_you_mean(word, expected.iter().map(String::as_str)) {
                d = d.label(format!("did you mean `{best}`?"));
            }
            if !expected.is_empty() {
                d = d.help(format!("expected one of: {}", expected.join(", ")));
            }
        } else if let Some(start) = context.as_deref().filter(|c| c.contains("quoted scalar")) {
            // Point at the opening quote, not at the end of the file.
            d.message = "a quoted string is never closed".into();
            if let Some((line, column)) = line_column(start) {
                let width = 1;
                d.snippet = Some(Box::new(self.snippet_at(line, column, width)));
                d = d.label("this quote has no closing quote");
            }
            d = d.help("add the closing quote");
            return d;
        } else if message.contains("EOF while parsing") || message.contains("end of stream") {
            d = d.help(format!("the {what} ends too early; is it complete?"));
        } else if message.contains("found character that cannot start any token") {
            d = d.help("YAML indents with spaces only; replace tabs with spaces");
        } else if message.contains("recursion limit exceeded") {
            d.message = format!("{what} is nested too deeply");
            d = d.help("zkrun refuses YAML nested more than 128 levels");
        } else if message.contains("repetition limit exceeded") {
            d.message = format!("{what} expands too many YAML aliases (an alias bomb?)");
            d = d.help("write the values out instead of nesting anchors and aliases");
        }
        if what == "inventory" && d.message.contains("expected a mapping") {
            d = d.help("an inventory is a mapping of groups, usually `all:` with `hosts`, `children` and `vars`");
        }
        if let Some(context) = context {
            d = d.note(context);
        }
        if let Some(path) = path {
            d = d.note(format!("in `{path}`"));
        }
        d
    }

    /// The snippet for a 1-based line and column.
    pub fn snippet_at(&self, line: usize, column: usize, width: usize) -> Snippet {
        let line_text = self
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .to_string();
        Snippet {
            path: self.path.clone(),
            line,
            column: column.max(1),
            width,
            line_text,
            label: None,
        }
    }

    /// Where a key or value sits, if the path exists in the text.
    pub fn locate(&self, path: &YamlPath, part: Part) -> Option<Snippet> {
        let entry = self.positions().map.get(path)?;
        let (mark, width) = match part {
            Part::Key => entry.key.unwrap_or((entry.value, entry.value_width)),
            Part::Value => (entry.value, entry.value_width),
        };
        Some(self.snippet_at(mark.line, mark.column, width))
    }

    /// Like `locate`, but points at `needle` inside the value when it is on
    /// the same line (a variable name inside a template string).
    pub fn locate_within(&self, path: &YamlPath, needle: &str) -> Option<Snippet> {
        let mut s = self.locate(path, Part::Value)?;
        let chars: Vec<char> = s.line_text.chars().collect();
        let from = s.column.saturating_sub(1).min(chars.len());
        // The first whole-word occurrence: `a` in `{{ a }}`, not in `/var`.
        let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
        let n: Vec<char> = needle.chars().collect();
        if n.is_empty() {
            return Some(s);
        }
        let found = (from..chars.len().saturating_sub(n.len() - 1).max(from)).find(|&i| {
            chars[i..].starts_with(&n)
                && !word(i.checked_sub(1).and_then(|p| chars.get(p)))
                && !word(chars.get(i + n.len()))
        });
        if let Some(i) = found {
            s.column = i + 1;
            s.width = n.len();
        }
        Some(s)
    }

    fn positions(&self) -> &Positions {
        self.positions.get_or_init(|| Positions::index(&self.text))
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// libyaml adds where the construct it was reading began: ", while
/// scanning a quoted scalar at line 1 column 7". Keep that as a note.
fn context_of(tail: &str) -> Option<String> {
    let (_, rest) = tail.split_once(", while ")?;
    Some(format!("while {rest}"))
}

/// "… at line 1 column 7" → (1, 7).
fn line_column(text: &str) -> Option<(usize, usize)> {
    let (_, rest) = text.rsplit_once(" at line ")?;
    let (line, column) = rest.split_once(" column ")?;
    Some((line.trim().parse().ok()?, column.trim().parse().ok()?))
}

/// serde_yaml prefixes messages with the path of the failing node
/// (`tasks[2].stop: …`); split it off so it can go in a note.
fn split_path(message: &str) -> (Option<String>, String) {
    if let Some((head, tail)) = message.split_once(": ") {
        let looks_like_path = !head.is_empty()
            && !head.contains(' ')
            && head
                .chars()
                .all(|c| c.is_alphanumeric() || "._-[]".contains(c));
        if looks_like_path && head != "." {
            return (Some(head.to_string()), tail.to_string());
        }
    }
    (None, message.to_string())
}

/// Rust type names mean nothing to someone editing YAML.
fn friendly_types(message: &str) -> String {
    let mut m = message.to_string();
    m = m.replace("invalid type: unit value", "invalid type: empty value");
    for (rust, human) in [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected usize", "expected a whole number"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected text"),
        ("invalid type: unit value", "invalid type: empty value"),
        (", expected a map", ", expected a mapping"),
    ] {
        if m.ends_with(rust) {
            m.truncate(m.len() - rust.len());
            m.push_str(human);
        }
    }
    m
}

/// The width of the scalar that starts at a 1-based column: a quoted
/// string to its closing quote, a plain one up to a flow delimiter or comment.
/// A `key: value` pair is not one scalar: then just the first character.
fn token_width(line: &str, column: usize) -> usize {
    let chars: Vec<char> = line.chars().skip(column.saturating_sub(1)).collect();
    let Some(&first) = chars.first() else {
        return 1;
    };
    let n = if first == '"' || first == '\'' {
        chars[1..]
            .iter()
            .position(|c| *c == first)
            .map_or(1, |p| p + 2)
    } else {
        let end = chars
            .iter()
            .position(|c| matches!(c, ',' | '}' | ']' | '#'))
            .unwrap_or(chars.len());
        let token: String = chars[..end].iter().collect();
        let token = token.trim_end();
        if token.contains(": ") {
            return 1;
        }
        // A key: underline the name, not its colon.
        token.strip_suffix(':').unwrap_or(token).chars().count()
    };
    n.max(1)
}

fn unknown_name(message: &str) -> Option<&str> {
    let known = ["unknown field", "unknown variant", "unknown task type"];
    if !known.iter().any(|k| message.starts_with(k)) {
        return None;
    }
    message.split('`').nth(1)
}

fn unknown_name_and_candidates(message: &str) -> Option<(&str, Vec<String>)> {
    let word = unknown_name(message)?;
    let expected = match message.split_once("expected") {
        Some((_, tail)) => tail
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };
    Some((word, expected))
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    line: usize,
    column: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<(Mark, usize)>,
    value: Mark,
    value_width: usize,
}

#[derive(Debug, Default)]
struct Positions {
    map: HashMap<YamlPath, Entry>,
}

enum Frame {
    Map {
        path: YamlPath,
        at_key: bool,
        key: Option<(String, Mark, usize)>,
    },
    Seq {
        path: YamlPath,
        next: usize,
    },
    /// Inside a complex key (a mapping used as a key): nothing is indexed.
    Opaque {
        is_key: bool,
    },
}

struct Indexer {
    stack: Vec<Frame>,
    positions: Positions,
    documents: usize,
}

impl Positions {
    fn index(text: &str) -> Positions {
        let mut indexer = Indexer {
            stack: Vec::new(),
            positions: Positions::default(),
            documents: 0,
        };
        // A syntax error ends the index early: serde_yaml reports it anyway.
        let _ = Parser::new_from_str(text).load(&mut indexer, false);
        indexer.positions
    }
}

fn scalar_width(value: &str, style: TScalarStyle) -> usize {
    if value.contains('\n') {
        return 1;
    }
    let n = value.chars().count().max(1);
    match style {
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => n + 2,
        _ => n,
    }
}

/// What a node that just began is to its parent.
enum Role {
    Key,
    Value(Option<YamlPath>),
}

impl Indexer {
    fn begin(&mut self, m: Mark, width: usize, key_text: &str) -> Role {
        let (path, key) = match self.stack.last_mut() {
            None => {
                self.documents += 1;
                return Role::Value((self.documents == 1).then(YamlPath::root));
            }
            Some(Frame::Opaque { .. }) => return Role::Value(None),
            Some(Frame::Map {
                at_key: at_key @ true,
                key,
                ..
            }) => {
                *key = Some((key_text.to_string(), m, width));
                *at_key = false;
                return Role::Key;
            }
            Some(Frame::Map { path, key, .. }) => match key {
                Some((k, km, kw)) => (path.key(k), Some((*km, *kw))),
                None => return Role::Value(None),
            },
            Some(Frame::Seq { path, next }) => (path.index(*next), None),
        };
        self.positions.map.insert(
            path.clone(),
            Entry {
                key,
                value: m,
                value_width: width,
            },
        );
        Role::Value(Some(path))
    }

    /// A node ended: a mapping expects its next key, a sequence counts the item.
    fn complete(&mut self, was_key: bool) {
        match self.stack.last_mut() {
            Some(Frame::Map { at_key, key, .. }) if !was_key => {
                *at_key = true;
                *key = None;
            }
            Some(Frame::Seq { next, .. }) => *next += 1,
            _ => {}
        }
    }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, ev: Event, marker: Marker) {
        let m = Mark {
            line: marker.line(),
            column: marker.col() + 1,
        };
        match ev {
            Event::Scalar(value, style, _, _) => {
                let role = self.begin(m, scalar_width(&value, style), &value);
                self.complete(matches!(role, Role::Key));
            }
            Event::Alias(_) => {
                let role = self.begin(m, 1, "*");
                self.complete(matches!(role, Role::Key));
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                let frame = match self.begin(m, 1, "?") {
                    Role::Key => Frame::Opaque { is_key: true },
                    Role::Value(None) => Frame::Opaque { is_key: false },
                    Role::Value(Some(path)) if is_map => Frame::Map {
                        path,
                        at_key: true,
                        key: None,
                    },
                    Role::Value(Some(path)) => Frame::Seq { path, next: 0 },
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let was_key = matches!(self.stack.pop(), Some(Frame::Opaque { is_key: true }));
                self.complete(was_key);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runaway_nesting_is_found_before_parsing() {
        let deep = format!("a: {}", "[".repeat(200_000));
        assert_eq!(too_deep(&deep), Some((1, 4 + MAX_NESTING)));
        assert_eq!(too_deep("a: '[[[[['\nb: [1, [2]]  # [[[[\n"), None);
        let src = Source::new("deep.yaml", deep);
        assert!(
            src.parse::<serde_json::Value>("playbook")
                .unwrap_err()
                .message
                .contains("nested more than")
        );
    }

    const TEXT: &str = "name: x\ntasks:\n  - id: a\n    stop: {}\n  - id: b\n    backup:\n      dest: \"/x/{{ y }}\"\n";

    #[test]
    fn locates_keys_and_values() {
        let src = Source::new("p.yaml", TEXT);
        let tasks = YamlPath::root().key("tasks");
        let s = src.locate(&tasks.index(1).key("id"), Part::Value).unwrap();
        assert_eq!((s.line, s.column, s.width), (5, 9, 1));
        let s = src
            .locate(&tasks.index(1).key("backup"), Part::Key)
            .unwrap();
        assert_eq!((s.line, s.column, s.width), (6, 5, 6));
        let s = src
            .locate_within(&tasks.index(1).key("backup").key("dest"), "y")
            .unwrap();
        assert_eq!((s.line, s.column, s.width), (7, 20, 1));
        let s = src
            .locate(&YamlPath::root().key("name"), Part::Value)
            .unwrap();
        assert_eq!((s.line, s.column), (1, 7));
    }

    #[test]
    fn positions_survive_flow_and_nested_values() {
        let src = Source::new(
            "i.yaml",
            "all:\n  children:\n    zk: {hosts: {zk1: {a: 1}, zk2: null}}\n",
        );
        let p = YamlPath::root()
            .key("all")
            .key("children")
            .key("zk")
            .key("hosts")
            .key("zk2");
        let s = src.locate(&p, Part::Key).unwrap();
        assert_eq!((s.line, s.column), (3, 31));
    }
}

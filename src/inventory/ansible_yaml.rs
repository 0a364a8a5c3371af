//! YAML as Ansible reads it: YAML 1.1 scalars, merge keys, its two tags, and
//! places for every key — for inventories, `group_vars`/`host_vars` files and
//! `-e` documents.
//!
//! Ansible loads YAML with PyYAML's SafeLoader rules (ansible-core
//! `parsing/yaml/loader.py`), which are YAML 1.1's, not the YAML 1.2 that
//! zkrun's playbook loader follows. The differences that change meaning:
//! - plain `yes/no/on/off` (any of three spellings of case) are booleans;
//! - `0755` is octal (493), `0b101` binary, `0x1F` hex, `1_000` is 1000,
//!   `1:30` is sexagesimal (90);
//! - a float needs a dot (`1e3` is text; `1.0e+3` is 1000.0);
//! - `<<: *anchor` merges a mapping (earlier merges win over later ones, the
//!   mapping's own keys over all merges).
//!
//! Tags: `!unsafe` marks text Ansible never templates (on a list or mapping,
//! every string inside); `!vault` holds a vault envelope. Other tags are
//! refused, Python object tags included: SafeLoader refuses them too.
//!
//! A key written twice in one mapping is an error, Ansible's optional strict
//! mode (`duplicate_dict_key = error`); its default keeps the last value with
//! a warning, which is how a duplicated host entry silently replaces the
//! first.

use indexmap::IndexMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::value::{At, SourceError, Value};

/// A YAML node with the place it starts at.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub at: At,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar(Value),
    List(Vec<Node>),
    /// Keys in order, with the place of each key; merges already applied.
    Map(Vec<(Key, Node)>),
}

/// A mapping key as text (YAML 1.1 scalars shown as Python shows them:
/// `yes` as a key is `True`), with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: String,
    pub at: At,
}

/// More nodes than this (aliases expanded) is refused: an alias bomb would
/// otherwise eat the memory. A 10,000-host inventory is about 100,000 nodes.
const MAX_NODES: usize = 5_000_000;

impl Node {
    /// The node as a plain value, places dropped.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar(v) => v.clone(),
            NodeKind::List(items) => Value::List(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.text.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(Value::Null))
    }

    /// A short name for the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(Value::Null) => "nothing",
            NodeKind::Scalar(Value::Bool(_)) => "a boolean",
            NodeKind::Scalar(Value::Int(_) | Value::Float(_)) => "a number",
            NodeKind::Scalar(_) => "text",
            NodeKind::List(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

/// Parses one YAML document. An empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, SourceError> {
    if let Some((line, column)) = crate::yaml::too_deep(text) {
        return Err(SourceError {
            message: format!("nested more than {} levels deep", crate::yaml::MAX_NESTING),
            at: At { line, column },
            help: Some("no inventory needs this; is the file damaged?".into()),
        });
    }
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut b, true) {
        let m = e.marker();
        return Err(SourceError {
            message: format!("not valid YAML: {}", e.info()),
            at: At {
                line: m.line(),
                column: m.col() + 1,
            },
            help: (e.info().contains("cannot start any token"))
                .then(|| "YAML indents with spaces only; replace tabs with spaces".into()),
        });
    }
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok(b.root.unwrap_or(Node {
        at: At { line: 1, column: 1 },
        kind: NodeKind::Scalar(Value::Null),
    }))
}

/// What is being built: a list, or a mapping waiting for a key or a value.
enum Open {
    List {
        at: At,
        anchor: usize,
        unsafe_: bool,
        items: Vec<Node>,
    },
    Map {
        at: At,
        anchor: usize,
        unsafe_: bool,
        entries: Vec<(Key, Node)>,
        merges: Vec<(At, Node)>,
        key: Option<PendingKey>,
    },
}

enum PendingKey {
    Key(Key),
    Merge(At),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: std::collections::HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<SourceError>,
    nodes: usize,
    documents: usize,
}

fn at_of(m: Marker) -> At {
    At {
        line: m.line(),
        column: m.col() + 1,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = at_of(mark);
        let result = match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    Err(err(
                        at,
                        "this file holds several YAML documents (`---`); Ansible reads one",
                    ))
                } else {
                    Ok(())
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                scalar(&text, style, tag.as_ref(), at).and_then(|node| self.finish(node, anchor))
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(node) => {
                    let node = node.clone();
                    self.count(&node, at).and_then(|()| self.finish(node, 0))
                }
                None => Err(err(at, "this alias names no anchor")),
            },
            Event::SequenceStart(anchor, tag) => container_tag(tag.as_ref(), at).map(|unsafe_| {
                self.stack.push(Open::List {
                    at,
                    anchor,
                    unsafe_,
                    items: Vec::new(),
                })
            }),
            Event::MappingStart(anchor, tag) => container_tag(tag.as_ref(), at).map(|unsafe_| {
                self.stack.push(Open::Map {
                    at,
                    anchor,
                    unsafe_,
                    entries: Vec::new(),
                    merges: Vec::new(),
                    key: None,
                })
            }),
            Event::SequenceEnd => match self.stack.pop() {
                Some(Open::List {
                    at,
                    anchor,
                    unsafe_,
                    items,
                }) => {
                    let node = Node {
                        at,
                        kind: NodeKind::List(items),
                    };
                    self.finish(if unsafe_ { mark_unsafe(node) } else { node }, anchor)
                }
                _ => Ok(()),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Open::Map {
                    at,
                    anchor,
                    unsafe_,
                    entries,
                    merges,
                    ..
                }) => merged(entries, merges).and_then(|entries| {
                    let node = Node {
                        at,
                        kind: NodeKind::Map(entries),
                    };
                    self.finish(if unsafe_ { mark_unsafe(node) } else { node }, anchor)
                }),
                _ => Ok(()),
            },
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.error = Some(e);
        }
    }
}

/// `!unsafe` may tag a whole list or mapping; other tags on them are refused.
fn container_tag(tag: Option<&Tag>, at: At) -> Result<bool, SourceError> {
    match tag {
        None => Ok(false),
        Some(t) if t.handle == "!" && t.suffix == "unsafe" => Ok(true),
        Some(t) if t.handle == "tag:yaml.org,2002:" && (t.suffix == "map" || t.suffix == "seq") => {
            Ok(false)
        }
        Some(t) => Err(unsupported_tag(t, at)),
    }
}

impl Builder {
    fn count(&mut self, node: &Node, at: At) -> Result<(), SourceError> {
        /// Nodes, and text bytes an alias copies (a 1 MB string aliased
        /// 10,000 times is few nodes and 10 GB).
        fn size(n: &Node) -> usize {
            match &n.kind {
                NodeKind::Scalar(Value::Str(s) | Value::Unsafe(s) | Value::Vault(s)) => {
                    1 + s.len() / 64
                }
                NodeKind::Scalar(_) => 1,
                NodeKind::List(items) => 1 + items.iter().map(size).sum::<usize>(),
                NodeKind::Map(e) => 1 + e.iter().map(|(_, v)| 1 + size(v)).sum::<usize>(),
            }
        }
        self.nodes = self.nodes.saturating_add(size(node));
        if self.nodes > MAX_NODES {
            return Err(SourceError {
                message: "this file expands to too many YAML nodes (an alias bomb?)".into(),
                at,
                help: Some("write the values out instead of nesting anchors and aliases".into()),
            });
        }
        Ok(())
    }

    /// A complete node: stored under its anchor, then placed in its parent.
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), SourceError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return self.count(&node, node.at);
        }
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Open::List { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Open::Map {
                entries,
                merges,
                key,
                ..
            }) => match key.take() {
                None => {
                    let k = key_of(&node)?;
                    *key = Some(k);
                    Ok(())
                }
                Some(PendingKey::Merge(at)) => {
                    merges.push((at, node));
                    Ok(())
                }
                Some(PendingKey::Key(k)) => {
                    if let Some((first, _)) = entries.iter().find(|(e, _)| e.text == k.text) {
                        return Err(SourceError {
                            message: format!(
                                "duplicate key `{}`: it is written twice in this mapping (first at line {})",
                                k.text, first.at.line
                            ),
                            at: k.at,
                            help: Some(
                                "keep one: Ansible would silently use the last one, zkrun refuses to guess"
                                    .into(),
                            ),
                        });
                    }
                    entries.push((k, node));
                    Ok(())
                }
            },
        }
    }
}

/// A mapping key: `<<` (plain) is a merge; scalars become their text.
fn key_of(node: &Node) -> Result<PendingKey, SourceError> {
    match &node.kind {
        NodeKind::Scalar(Value::Str(s)) if s == MERGE => Ok(PendingKey::Merge(node.at)),
        NodeKind::Scalar(v) => Ok(PendingKey::Key(Key {
            text: key_text(v),
            at: node.at,
        })),
        _ => Err(SourceError {
            message: format!("a mapping key must be text, not {}", node.type_name()),
            at: node.at,
            help: None,
        }),
    }
}

/// Marks the merge key; a quoted `"<<"` is an ordinary key (see `scalar`).
const MERGE: &str = "\u{0}<<merge";

/// Python's `str()` of a key's value: Ansible turns dict keys into text
/// that way when it needs text (`True`, `493`, `None`).
fn key_text(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => python_float(*f),
        Value::Str(s) | Value::Unsafe(s) | Value::Vault(s) => s.clone(),
        Value::List(_) | Value::Map(_) => String::new(),
    }
}

fn python_float(f: f64) -> String {
    if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else if f.is_nan() {
        "nan".into()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Applies `<<` merges: entries from earlier merges win over later ones,
/// the mapping's own entries over every merge (PyYAML's `flatten_mapping`).
fn merged(own: Vec<(Key, Node)>, merges: Vec<(At, Node)>) -> Result<Vec<(Key, Node)>, SourceError> {
    if merges.is_empty() {
        return Ok(own);
    }
    let mut sources: Vec<Vec<(Key, Node)>> = Vec::new();
    for (at, node) in merges {
        match node.kind {
            NodeKind::Map(entries) => sources.push(entries),
            NodeKind::List(items) => {
                for item in items {
                    match item.kind {
                        NodeKind::Map(entries) => sources.push(entries),
                        _ => return Err(merge_error(item.at)),
                    }
                }
            }
            _ => return Err(merge_error(at)),
        }
    }
    let mut out: IndexMap<String, (Key, Node)> = IndexMap::new();
    for entries in sources {
        for (k, v) in entries {
            out.entry(k.text.clone()).or_insert((k, v));
        }
    }
    for (k, v) in own {
        out.insert(k.text.clone(), (k, v));
    }
    Ok(out.into_values().collect())
}

fn merge_error(at: At) -> SourceError {
    SourceError {
        message: "`<<` merges a mapping or a list of mappings, not this".into(),
        at,
        help: Some("write `<<: *anchor` where the anchor names a mapping".into()),
    }
}

fn mark_unsafe(node: Node) -> Node {
    let kind = match node.kind {
        NodeKind::Scalar(Value::Str(s)) => NodeKind::Scalar(Value::Unsafe(s)),
        NodeKind::List(items) => NodeKind::List(items.into_iter().map(mark_unsafe).collect()),
        NodeKind::Map(entries) => NodeKind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k, mark_unsafe(v)))
                .collect(),
        ),
        other => other,
    };
    Node { at: node.at, kind }
}

fn err(at: At, message: &str) -> SourceError {
    SourceError {
        message: message.into(),
        at,
        help: None,
    }
}

fn unsupported_tag(t: &Tag, at: At) -> SourceError {
    let shown = if t.handle == "tag:yaml.org,2002:" {
        format!("!!{}", t.suffix)
    } else {
        format!("{}{}", t.handle, t.suffix)
    };
    SourceError {
        message: format!("the YAML tag `{shown}` is not supported"),
        at,
        help: Some(
            "Ansible's YAML knows `!unsafe`, `!vault` and the standard `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!map`, `!!seq`; remove the tag"
                .into(),
        ),
    }
}

fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>, at: At) -> Result<Node, SourceError> {
    let value = match tag {
        Some(t) if t.handle == "!" && t.suffix == "unsafe" => Value::Unsafe(text.to_string()),
        Some(t) if t.handle == "!" && t.suffix == "vault" => Value::Vault(text.to_string()),
        Some(t) if t.handle == "tag:yaml.org,2002:" => match t.suffix.as_str() {
            "str" => Value::Str(text.to_string()),
            "null" => Value::Null,
            "bool" => match plain(text) {
                v @ Value::Bool(_) => v,
                _ => return Err(bad_tagged(t, text, at)),
            },
            "int" => match plain(text) {
                v @ Value::Int(_) => v,
                _ => return Err(bad_tagged(t, text, at)),
            },
            "float" => match plain(text) {
                Value::Int(i) => Value::Float(i as f64),
                v @ Value::Float(_) => v,
                _ => return Err(bad_tagged(t, text, at)),
            },
            _ => return Err(unsupported_tag(t, at)),
        },
        Some(t) => return Err(unsupported_tag(t, at)),
        None if style == TScalarStyle::Plain => {
            if text == "<<" {
                Value::Str(MERGE.into())
            } else {
                plain(text)
            }
        }
        None => Value::Str(text.to_string()),
    };
    Ok(Node {
        at,
        kind: NodeKind::Scalar(value),
    })
}

fn bad_tagged(t: &Tag, text: &str, at: At) -> SourceError {
    SourceError {
        message: format!("`{text}` is not a valid `!!{}`", t.suffix),
        at,
        help: None,
    }
}

/// A plain scalar resolved by YAML 1.1's rules (PyYAML's resolver).
pub fn plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    if let Some(i) = int(s) {
        return Value::Int(i);
    }
    if let Some(f) = float(s) {
        return Value::Float(f);
    }
    Value::Str(s.to_string())
}

fn split_sign(s: &str) -> (i64, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    }
}

/// YAML 1.1 int: `0b…`, `0…` (octal), decimal, `0x…`, sexagesimal; `_` allowed.
fn int(s: &str) -> Option<i64> {
    let (sign, body) = split_sign(s);
    if body.is_empty() {
        return None;
    }
    let digits = |t: &str, radix: u32| -> Option<i64> {
        let t: String = t.chars().filter(|c| *c != '_').collect();
        if t.is_empty() {
            return None;
        }
        i64::from_str_radix(&t, radix).ok()
    };
    let all = |t: &str, ok: fn(char) -> bool| !t.is_empty() && t.chars().all(|c| ok(c) || c == '_');
    let n = if let Some(b) = body.strip_prefix("0b") {
        all(b, |c| c == '0' || c == '1').then(|| digits(b, 2))??
    } else if let Some(x) = body.strip_prefix("0x") {
        all(x, |c| c.is_ascii_hexdigit()).then(|| digits(x, 16))??
    } else if body == "0" {
        0
    } else if let Some(o) = body.strip_prefix('0') {
        all(o, |c| ('0'..='7').contains(&c)).then(|| digits(o, 8))??
    } else if body.contains(':') {
        // Base 60: `1:30` is 90. The first part has no leading zero.
        let mut parts = body.split(':');
        let first = parts.next()?;
        if !first.starts_with(|c: char| ('1'..='9').contains(&c))
            || !all(first, |c| c.is_ascii_digit())
        {
            return None;
        }
        let mut n = digits(first, 10)?;
        for p in parts {
            let ok = !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit());
            let v: i64 = if ok { p.parse().ok()? } else { return None };
            if v > 59 || (p.len() == 2 && p.as_bytes()[0] > b'5') {
                return None;
            }
            n = n.checked_mul(60)?.checked_add(v)?;
        }
        n
    } else if body.starts_with(|c: char| ('1'..='9').contains(&c)) {
        all(body, |c| c.is_ascii_digit()).then(|| digits(body, 10))??
    } else {
        return None;
    };
    n.checked_mul(sign)
}

/// YAML 1.1 float: needs a `.`; exponent with a sign; `.inf`, `.nan`; base 60.
fn float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let (sign, body) = split_sign(s);
    let sign = sign as f64;
    if body.contains(':') {
        // `190:20:30.15`: base 60 with a fractional last part.
        let mut parts: Vec<&str> = body.split(':').collect();
        let last = parts.pop()?;
        let first = parts.first()?;
        if !first.starts_with(|c: char| c.is_ascii_digit()) || !last.contains('.') {
            return None;
        }
        let mut n = 0f64;
        for p in &parts {
            let p = p.replace('_', "");
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            n = n * 60.0 + p.parse::<f64>().ok()?;
        }
        let l = last.replace('_', "");
        let (whole, _) = l.split_once('.')?;
        if whole.is_empty() || whole.len() > 2 || !whole.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        return Some(sign * (n * 60.0 + l.parse::<f64>().ok()?));
    }
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, frac) = mantissa.split_once('.')?;
    let digit_or_ = |t: &str| t.chars().all(|c| c.is_ascii_digit() || c == '_');
    // `[0-9][0-9_]*\.[0-9_]*` or `\.[0-9][0-9_]*`.
    let ok = if whole.is_empty() {
        frac.starts_with(|c: char| c.is_ascii_digit()) && digit_or_(frac)
    } else {
        whole.starts_with(|c: char| c.is_ascii_digit()) && digit_or_(whole) && digit_or_(frac)
    };
    if !ok {
        return None;
    }
    if let Some(e) = exp {
        let digits = e.strip_prefix(['+', '-'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let cleaned: String = body.chars().filter(|c| *c != '_').collect();
    let cleaned = if cleaned.ends_with('.') {
        format!("{cleaned}0")
    } else if cleaned.contains(".e") || cleaned.contains(".E") {
        cleaned.replacen('.', ".0", 1)
    } else {
        cleaned
    };
    cleaned.parse::<f64>().ok().map(|f| sign * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        parse(text).unwrap().to_value()
    }

    #[test]
    fn yaml_1_1_scalars_resolve_as_pyyaml_does() {
        for (t, want) in [
            ("yes", Value::Bool(true)),
            ("No", Value::Bool(false)),
            ("OFF", Value::Bool(false)),
            ("on", Value::Bool(true)),
            ("y", Value::Str("y".into())),
            ("0755", Value::Int(493)),
            ("0x1F", Value::Int(31)),
            ("0b101", Value::Int(5)),
            ("1_000", Value::Int(1000)),
            ("-12", Value::Int(-12)),
            ("1:30", Value::Int(90)),
            ("08", Value::Str("08".into())),
            ("1e3", Value::Str("1e3".into())),
            ("1.0e+3", Value::Float(1000.0)),
            ("1.5", Value::Float(1.5)),
            (".5", Value::Float(0.5)),
            ("1.", Value::Float(1.0)),
            ("~", Value::Null),
            ("", Value::Null),
            ("2181", Value::Int(2181)),
            ("127.0.0.11", Value::Str("127.0.0.11".into())),
            ("zk1:2222", Value::Str("zk1:2222".into())),
        ] {
            assert_eq!(plain(t), want, "{t}");
        }
    }

    #[test]
    fn quoted_and_tagged_scalars_keep_their_text() {
        assert_eq!(v("a: 'on'")["a"], Value::Str("on".into()));
        assert_eq!(v("a: !!str yes")["a"], Value::Str("yes".into()));
        assert_eq!(
            v("a: !unsafe '{{ x }}'")["a"],
            Value::Unsafe("{{ x }}".into())
        );
        assert_eq!(
            v("a: !unsafe\n  b: '{{ x }}'\n  c: [1, '{{y}}']")["a"]["c"],
            Value::List(vec![Value::Int(1), Value::Unsafe("{{y}}".into())])
        );
        assert!(
            matches!(v("a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\n")["a"], Value::Vault(ref s) if s.starts_with("$ANSIBLE_VAULT"))
        );
    }

    #[test]
    fn merge_keys_follow_yaml_1_1() {
        let doc =
            "d: &d {user: a, port: 1}\ne: &e {user: b, key: k}\nh:\n  <<: [*d, *e]\n  port: 2\n";
        let h = &v(doc)["h"];
        assert_eq!(h["user"], Value::Str("a".into()), "the earlier merge wins");
        assert_eq!(h["port"], Value::Int(2), "own keys win");
        assert_eq!(h["key"], Value::Str("k".into()));
        assert_eq!(
            v("a: {'<<': 1}")["a"]["<<"],
            Value::Int(1),
            "a quoted << is a key"
        );
    }

    #[test]
    fn duplicate_keys_and_foreign_tags_are_refused_with_places() {
        let e = parse("hosts:\n  zk1: {}\n  zk1: {x: 1}\n").unwrap_err();
        assert_eq!((e.at.line, e.at.column), (3, 3));
        assert!(e.message.contains("written twice"), "{}", e.message);
        let e = parse("a: !!python/object:os.system ls\n").unwrap_err();
        assert!(
            e.message.contains("!!python/object:os.system"),
            "{}",
            e.message
        );
        let e = parse("a: !custom x\n").unwrap_err();
        assert!(e.message.contains("`!custom`"), "{}", e.message);
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&doc).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{}", e.message);
        // Few nodes, but a long string copied by every alias.
        let big = "x".repeat(1_000_000);
        let mut doc = format!("a0: &a0 \"{big}\"\na1: &a1 [");
        doc.push_str(&vec!["*a0"; 100].join(", "));
        doc.push_str("]\na2: [");
        doc.push_str(&vec!["*a1"; 100].join(", "));
        doc.push_str("]\n");
        assert!(parse(&doc).unwrap_err().message.contains("alias bomb"));
    }
}

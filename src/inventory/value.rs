//! What an inventory source says, before resolution: values as Ansible holds
//! them, and the operations a source performs on the inventory, in order.
//!
//! Every source format (YAML, INI) is read into the same list of [`Op`]s, the
//! way Ansible's inventory plugins call `add_group`, `add_host`,
//! `add_child` and `set_variable` on one shared inventory. Order matters:
//! hosts keep the order they were first added in, and a host variable set
//! twice keeps the last value (Ansible's rule).

use indexmap::IndexMap;

/// A variable's value, as Ansible's loaders produce it.
///
/// `Unsafe` and `Vault` are the two tagged strings of Ansible's YAML:
/// `!unsafe` text is never templated; `!vault` text is a vault envelope
/// (`$ANSIBLE_VAULT;1.1;AES256…`) decrypted when the value is used.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `!unsafe`: taken literally, never templated.
    Unsafe(String),
    /// `!vault`: the envelope, still encrypted.
    Vault(String),
    List(Vec<Value>),
    Map(IndexMap<String, Value>),
}

/// A 1-based line and column in the source being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At {
    pub line: usize,
    pub column: usize,
}

/// Whose variable an [`Op::Var`] sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Group(String),
    Host(String),
}

/// One thing a source does to the inventory, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The group exists (created if new; no effect otherwise).
    Group { name: String, at: At },
    /// The host exists and is a member of `group` (`all`, `ungrouped` or a
    /// named group). `port` comes from a `host:port` name.
    Host {
        name: String,
        group: String,
        port: Option<u16>,
        at: At,
    },
    /// `child` is a child group of `parent` (both created if new).
    Child {
        parent: String,
        child: String,
        at: At,
    },
    /// Sets one variable; a later `Var` for the same target and key wins.
    Var {
        target: Target,
        key: String,
        value: Value,
        at: At,
    },
}

/// A problem in one source, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub message: String,
    pub at: At,
    /// What to do about it, when there is something to say.
    pub help: Option<String>,
}

impl Value {
    /// The value of `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.get(key),
            _ => None,
        }
    }

    /// As JSON, the way `ansible-inventory --list` prints it: a vault value
    /// as `{"__ansible_vault": envelope}`, unsafe text as plain text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) | Value::Unsafe(s) => J::String(s.clone()),
            Value::Vault(s) => serde_json::json!({ "__ansible_vault": s }),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

impl Value {
    /// As `ansible-inventory --list` shows it: unsafe text tagged too.
    pub fn to_list_json(&self) -> serde_json::Value {
        match self {
            Value::Unsafe(s) => serde_json::json!({ "__ansible_unsafe": s }),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_list_json).collect()),
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.to_list_json()))
                    .collect(),
            ),
            other => other.to_json(),
        }
    }
}

impl std::ops::Index<&str> for Value {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&Value::Null)
    }
}

impl Value {
    /// From JSON (playbook `vars`, `-e` values): plain values, no tags.
    pub fn from_json(j: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match j {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            J::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

//! Variables rendered when used, as Ansible renders them: a variable's value
//! may be a template over other variables (`zk_base: "{{ base_dir }}/zk"`,
//! `ansible_host: "{{ inventory_hostname }}.prod"`), rendered the first time
//! something reads it, with every variable of the host in scope.
//!
//! A variable nobody reads is never rendered, so a broken one that is not
//! used does no harm (Ansible's behaviour). A variable that reaches itself
//! (`a: "{{ b }}"`, `b: "{{ a }}"`) is a cycle, reported with the places of
//! every variable on it. `!unsafe` text is never rendered. A vault value is
//! its decrypted text, itself not rendered, and secret: the redacted view
//! shows `********` for it and for everything rendered from it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{Environment, Value as J};

use super::value::Value;
use crate::render::REDACTED;

/// How deep variables may refer to variables (Ansible stops runaway
/// recursion too); far beyond any real inventory, far below a stack overflow.
const MAX_DEPTH: usize = 64;

/// One variable before rendering, with where it was written (for messages).
#[derive(Debug, Clone)]
pub struct RawVar {
    pub value: Value,
    /// A value that is already a template value (magic variables such as
    /// `groups`): used as it is.
    pub ready: Option<J>,
    /// The same for the redacted view, when it differs (`hostvars`).
    pub ready_redacted: Option<J>,
    pub place: Option<String>,
    /// The whole value is secret (a playbook `secrets:` name).
    pub secret: bool,
}

impl RawVar {
    pub fn ready(v: J) -> RawVar {
        RawVar {
            value: Value::Null,
            ready: Some(v),
            ready_redacted: None,
            place: None,
            secret: false,
        }
    }
}

/// Why a variable could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LazyError {
    /// `chain[0]` uses `chain[1]` … uses `chain[0]`; each with its place.
    Cycle(Vec<(String, Option<String>)>),
    /// Rendering the variable failed.
    Failed {
        var: String,
        place: Option<String>,
        message: String,
    },
}

impl std::fmt::Display for LazyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LazyError::Cycle(chain) => {
                let names: Vec<&str> = chain.iter().map(|(n, _)| n.as_str()).collect();
                write!(
                    f,
                    "variables refer to each other in a cycle: {} → {}",
                    names.join(" → "),
                    names[0]
                )?;
                for (n, p) in chain {
                    if let Some(p) = p {
                        write!(f, "; `{n}` is set at {p}")?;
                    }
                }
                Ok(())
            }
            LazyError::Failed {
                var,
                place,
                message,
            } => {
                write!(f, "variable `{var}`")?;
                if let Some(p) = place {
                    write!(f, " (set at {p})")?;
                }
                write!(f, " cannot be rendered: {message}")
            }
        }
    }
}

/// The variables of one host, rendered on demand.
#[derive(Debug)]
pub struct Lazy {
    raw: Arc<BTreeMap<String, RawVar>>,
    decrypted: Arc<HashMap<String, String>>,
    env: Arc<Environment<'static>>,
    redact: bool,
    cache: Mutex<HashMap<String, Option<J>>>,
    stack: Mutex<Vec<String>>,
    errors: Mutex<Vec<LazyError>>,
}

impl Lazy {
    /// `redact`: the view that is printed (secrets as `********`).
    pub fn new(
        raw: Arc<BTreeMap<String, RawVar>>,
        decrypted: Arc<HashMap<String, String>>,
        env: Arc<Environment<'static>>,
        redact: bool,
    ) -> Arc<Lazy> {
        Arc::new(Lazy {
            raw,
            decrypted,
            env,
            redact,
            cache: Mutex::new(HashMap::new()),
            stack: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
        })
    }

    /// The first problem met while rendering, if any.
    pub fn error(&self) -> Option<LazyError> {
        self.errors.lock().expect("not poisoned").first().cloned()
    }

    pub fn clear_errors(&self) {
        self.errors.lock().expect("not poisoned").clear();
    }

    /// Does any variable hold a secret (a vault value or a secret name)?
    pub fn has_secrets(&self) -> bool {
        self.raw
            .values()
            .any(|v| v.secret || contains_vault(&v.value))
    }

    /// One variable, rendered (None: undefined or failed; see `error`).
    pub fn var(self: &Arc<Self>, name: &str) -> Option<J> {
        if let Some(v) = self.cache.lock().expect("not poisoned").get(name) {
            return v.clone();
        }
        let raw = self.raw.get(name)?;
        {
            let mut stack = self.stack.lock().expect("not poisoned");
            if stack.len() >= MAX_DEPTH {
                self.errors
                    .lock()
                    .expect("not poisoned")
                    .push(LazyError::Failed {
                        var: name.to_string(),
                        place: raw.place.clone(),
                        message: format!(
                            "variables refer to variables more than {MAX_DEPTH} deep ({} → …)",
                            stack[0]
                        ),
                    });
                return None;
            }
            if let Some(i) = stack.iter().position(|s| s == name) {
                let chain = stack[i..]
                    .iter()
                    .map(|n| (n.clone(), self.raw.get(n).and_then(|r| r.place.clone())))
                    .collect();
                self.errors
                    .lock()
                    .expect("not poisoned")
                    .push(LazyError::Cycle(chain));
                return None;
            }
            stack.push(name.to_string());
        }
        let out = if let (true, Some(v)) = (self.redact, &raw.ready_redacted) {
            Ok(v.clone())
        } else if let Some(v) = &raw.ready {
            Ok(v.clone())
        } else if raw.secret && self.redact {
            Ok(J::from(REDACTED))
        } else {
            self.render(&raw.value)
        };
        self.stack.lock().expect("not poisoned").pop();
        let out = match out {
            Ok(v) => Some(v),
            Err(message) => {
                let mut errors = self.errors.lock().expect("not poisoned");
                // The innermost failure says most; keep it first.
                if errors.is_empty() {
                    errors.push(LazyError::Failed {
                        var: name.to_string(),
                        place: raw.place.clone(),
                        message,
                    });
                }
                None
            }
        };
        self.cache
            .lock()
            .expect("not poisoned")
            .insert(name.to_string(), out.clone());
        out
    }

    fn render(self: &Arc<Self>, v: &Value) -> Result<J, String> {
        Ok(match v {
            Value::Null => J::from(()),
            Value::Bool(b) => J::from(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => J::from(*f),
            Value::Unsafe(s) => J::from(s.as_str()),
            Value::Vault(e) => {
                if self.redact {
                    J::from(REDACTED)
                } else {
                    J::from(
                        self.decrypted.get(e).cloned().ok_or_else(|| {
                            "it is vault-encrypted and was not decrypted".to_string()
                        })?,
                    )
                }
            }
            Value::Str(s) if is_template(s) => {
                let ctx = J::from_dyn_object(self.clone());
                match self.env.render_str(s, ctx) {
                    Ok(out) if out.len() > crate::render::MAX_RENDERED => {
                        return Err(format!(
                            "it renders to {} MiB; a variable may be at most {} MiB",
                            out.len() / (1024 * 1024),
                            crate::render::MAX_RENDERED / (1024 * 1024)
                        ));
                    }
                    Ok(out) => J::from(out),
                    Err(e) => {
                        // A cycle or an inner failure explains this one.
                        if let Some(inner) = self.error() {
                            return Err(inner.to_string());
                        }
                        return Err(crate::render::describe_error(&e));
                    }
                }
            }
            Value::Str(s) => J::from(s.as_str()),
            Value::List(items) => J::from(
                items
                    .iter()
                    .map(|i| self.render(i))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Value::Map(m) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    out.insert(k.clone(), self.render(v)?);
                }
                J::from(out)
            }
        })
    }
}

/// Builds one host's variables on demand (for `hostvars`).
pub type HostBuilder = dyn Fn(&str, bool) -> Option<Arc<Lazy>> + Send + Sync;

/// `hostvars`: every inventory host's variables, each host's rendered
/// lazily with its own variables in scope (as in Ansible), built the first
/// time a template asks for that host.
pub struct HostVars {
    names: Vec<String>,
    build: Arc<std::sync::OnceLock<Box<HostBuilder>>>,
    redact: bool,
    cache: Mutex<HashMap<String, Arc<Lazy>>>,
}

impl std::fmt::Debug for HostVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "hostvars ({} hosts)", self.names.len())
    }
}

impl HostVars {
    /// `build` is set once every host's layers are known.
    pub fn new(
        names: Vec<String>,
        build: Arc<std::sync::OnceLock<Box<HostBuilder>>>,
        redact: bool,
    ) -> Arc<HostVars> {
        Arc::new(HostVars {
            names,
            build,
            redact,
            cache: Mutex::new(HashMap::new()),
        })
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &J) -> Option<J> {
        let name = key.as_str()?;
        if let Some(l) = self.cache.lock().expect("not poisoned").get(name) {
            return Some(J::from_dyn_object(l.clone()));
        }
        let lazy = (self.build.get()?)(name, self.redact)?;
        self.cache
            .lock()
            .expect("not poisoned")
            .insert(name.to_string(), lazy.clone());
        Some(J::from_dyn_object(lazy))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.names.iter().map(|n| J::from(n.as_str())).collect())
    }
}

/// Does the text hold Jinja syntax (Ansible's `is_template` test)?
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

fn contains_vault(v: &Value) -> bool {
    match v {
        Value::Vault(_) => true,
        Value::List(l) => l.iter().any(contains_vault),
        Value::Map(m) => m.values().any(contains_vault),
        _ => false,
    }
}

impl Object for Lazy {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &J) -> Option<J> {
        self.var(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys: Vec<J> = self.raw.keys().map(|k| J::from(k.as_str())).collect();
        Enumerator::Values(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy(pairs: &[(&str, Value)], redact: bool) -> Arc<Lazy> {
        let raw: BTreeMap<String, RawVar> = pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    RawVar {
                        value: v.clone(),
                        place: Some(format!("inv.yml:{}", k.len())),
                        secret: false,
                        ready: None,
                        ready_redacted: None,
                    },
                )
            })
            .collect();
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let decrypted: HashMap<String, String> =
            [("$ANSIBLE_VAULT;x".to_string(), "s3cret".to_string())].into();
        Lazy::new(Arc::new(raw), Arc::new(decrypted), Arc::new(env), redact)
    }

    fn s(t: &str) -> Value {
        Value::Str(t.into())
    }

    #[test]
    fn values_render_when_used_through_chains() {
        let l = lazy(
            &[
                ("base_dir", s("/srv")),
                ("zk_base", s("{{ base_dir }}/zk")),
                ("data", s("{{ zk_base }}/data")),
                ("broken", s("{{ nope }}")),
                ("raw", Value::Unsafe("{{ base_dir }}".into())),
            ],
            false,
        );
        assert_eq!(l.var("data").unwrap().as_str(), Some("/srv/zk/data"));
        assert_eq!(l.var("raw").unwrap().as_str(), Some("{{ base_dir }}"));
        assert!(
            l.error().is_none(),
            "an unused broken variable does no harm"
        );
        assert!(l.var("broken").is_none());
        assert!(matches!(l.error(), Some(LazyError::Failed { ref var, .. }) if var == "broken"));
    }

    #[test]
    fn cycles_are_reported_with_every_place() {
        let l = lazy(&[("a", s("{{ b }}")), ("b", s("x{{ a }}"))], false);
        assert!(l.var("a").is_none());
        let e = l.error().unwrap().to_string();
        assert!(e.contains("a → b → a"), "{e}");
        assert!(
            e.contains("`a` is set at inv.yml:1") && e.contains("`b` is set at inv.yml:1"),
            "{e}"
        );
    }

    #[test]
    fn vault_values_are_secret_in_the_redacted_view() {
        let pairs = [
            ("pw", Value::Vault("$ANSIBLE_VAULT;x".into())),
            ("url", s("zk:{{ pw }}@h")),
        ];
        assert_eq!(
            lazy(&pairs, false).var("url").unwrap().as_str(),
            Some("zk:s3cret@h")
        );
        let r = lazy(&pairs, true);
        assert_eq!(r.var("url").unwrap().as_str(), Some("zk:********@h"));
        assert!(r.has_secrets());
    }
}

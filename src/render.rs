//! Templating: one minijinja environment with strict undefined variables, a
//! `quote` filter, and secret redaction.
//!
//! Every templated value is rendered twice when it mentions a secret: once
//! with the real values (what runs on the host) and once with `********`
//! (what zkrun prints and stores). Plain strings are not rendered at all.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use serde::{Serialize, Serializer};

use crate::diagnostic::did_you_mean;

pub const REDACTED: &str = crate::scrub::MASK;

/// Instructions one rendering may run (minijinja's fuel): a config file of
/// thousands of lines takes far less.
pub const FUEL: u64 = 2_000_000;

/// The largest rendered value: beyond it, a template is refused.
pub const MAX_RENDERED: usize = 4 * 1024 * 1024;

/// A rendered value: what is shown, and (only when it differs) what is real.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// Shared: a value rendered once is cloned into every step that uses it
    /// (the service's paths, a unit name), and large plans hold many.
    pub shown: Arc<str>,
    secret: Option<Arc<str>>,
}

impl Text {
    pub fn plain(s: impl Into<Arc<str>>) -> Text {
        Text {
            shown: s.into(),
            secret: None,
        }
    }

    /// The value to use on the host. Never print this.
    pub fn real(&self) -> &str {
        self.secret.as_deref().unwrap_or(&self.shown)
    }

    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// A value whose real form must not be shown.
    pub fn with_secret(shown: impl Into<Arc<str>>, real: impl Into<Arc<str>>) -> Text {
        Text {
            shown: shown.into(),
            secret: Some(real.into()),
        }
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

// Only the shown value is ever serialized: plans and checkpoints hold no secrets.
impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.shown)
    }
}

/// An environment for syntax checks only (no context, no caching).
pub fn syntax_env() -> Environment<'static> {
    let mut env = Environment::new();
    configure(&mut env);
    env
}

fn configure(env: &mut Environment<'_>) {
    // minijinja HTML-escapes templates whose *name* ends in .html, .htm or
    // .xml (or .j2 variants), and zkrun names templates by their own text:
    // a shell line ending in `logback.xml` would turn `quote`'s '…' into
    // &#x27;…&#x27; and let a value's newline run as a command. zkrun
    // renders shell words and config files, never HTML: no escaping, ever.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    // A template is a value or a config file, not a program: a loop that
    // runs away (nested `range`s) ends with an error instead of a hang.
    env.set_fuel(Some(FUEL));
    // Fuel counts steps, not bytes: a string doubled on each step of a
    // loop (through `namespace()`) or of a recursive macro grows past any
    // memory in thirty steps. Configuration templates need neither.
    env.remove_global("namespace");
    env.set_recursion_limit(16);
    env.add_filter("quote", |v: String| shell_quote(&v));
    env.add_filter("bool", ansible_bool);
    // Ansible's path filters, common in inventories (`{{ zk_base | basename }}`).
    env.add_filter("basename", |p: String| {
        p.rsplit('/').next().unwrap_or("").to_string()
    });
    env.add_filter("dirname", |p: String| match p.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => p[..i].to_string(),
        None => String::new(),
    });
    env.add_filter(
        "ternary",
        |v: Value, yes: Value, no: Value| {
            if v.is_true() { yes } else { no }
        },
    );
}

/// Ansible's `bool` filter: `yes/on/true/1/y/t` (any case) are true, other
/// text false; booleans and numbers as themselves.
fn ansible_bool(v: Value) -> bool {
    if let Some(s) = v.as_str() {
        return matches!(
            s.trim().to_lowercase().as_str(),
            "yes" | "on" | "true" | "1" | "y" | "t" | "1.0"
        );
    }
    v.is_true()
}

/// An expression is not a template: `}}` in one closes a block that was
/// never opened, which minijinja 2.24's lexer answers with a panic (found
/// by `scripts/fuzz`), so it is refused before compiling.
pub fn expression_text(expr: &str) -> Result<(), String> {
    if expr.contains("}}") || expr.contains("%}") {
        return Err(
            "a `when` is an expression, not a template: write `x == 1`, without `{{ }}`".into(),
        );
    }
    Ok(())
}

/// minijinja's error text without the template name it appends.
pub fn describe_error(e: &minijinja::Error) -> String {
    let mut s = match (e.kind(), e.detail()) {
        (ErrorKind::SyntaxError, Some(detail)) => detail.to_string(),
        (kind, Some(detail)) => format!("{}: {detail}", kind_text(kind)),
        (kind, None) => kind_text(kind).to_string(),
    };
    if let Some(line) = e.line().filter(|l| *l > 1) {
        s.push_str(&format!(" (template line {line})"));
    }
    s
}

fn kind_text(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::OutOfFuel => "the template runs too long (a loop that does not end?)",
        ErrorKind::SyntaxError => "syntax error",
        ErrorKind::UndefinedError => "undefined value",
        ErrorKind::UnknownFilter => "unknown filter",
        ErrorKind::UnknownTest => "unknown test",
        ErrorKind::UnknownFunction => "unknown function",
        ErrorKind::InvalidOperation => "invalid operation",
        ErrorKind::MissingArgument => "missing argument",
        ErrorKind::TooManyArguments => "too many arguments",
        ErrorKind::CannotUnpack => "cannot unpack",
        _ => "template error",
    }
}

/// POSIX shell quoting: safe words stay as they are, the rest is put in
/// single quotes with embedded quotes spelled `'\''`.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// A variable that no source defines for this host.
    Undefined {
        name: String,
        suggestion: Option<String>,
    },
    Other(String),
}

impl RenderError {
    pub fn message(&self) -> String {
        match self {
            RenderError::Undefined { name, .. } => format!("undefined variable `{name}`"),
            RenderError::Other(m) => m.clone(),
        }
    }
}

/// The variables one host's templates see, real and redacted.
pub struct Context {
    pub real: Value,
    redacted: Value,
    names: Vec<String>,
    /// Built over variables rendered when used: every render is done twice
    /// when there are secrets (a value may reach one through another), and
    /// a failure may be explained by a variable that could not be rendered.
    lazy: Option<Box<dyn Fn() -> Option<String>>>,
}

impl Context {
    /// `vars` in increasing precedence order; later maps win.
    pub fn new(layers: &[&BTreeMap<String, Value>], secrets: &HashSet<String>) -> Context {
        let mut merged: BTreeMap<String, Value> = BTreeMap::new();
        for layer in layers {
            for (k, v) in layer.iter() {
                merged.insert(k.clone(), v.clone());
            }
        }
        let names = merged.keys().cloned().collect();
        let redacted = if secrets.iter().any(|s| merged.contains_key(s)) {
            let mut r = merged.clone();
            for s in secrets {
                if let Some(v) = r.get_mut(s) {
                    *v = Value::from(REDACTED);
                }
            }
            Value::from(r)
        } else {
            Value::UNDEFINED
        };
        Context {
            real: Value::from(merged),
            redacted,
            names,
            lazy: None,
        }
    }

    /// Over values that render themselves when read (an object); `redacted`
    /// is None when no value is secret. `why` names the variable that could
    /// not be rendered, after a failure.
    pub fn lazy(
        real: Value,
        redacted: Option<Value>,
        names: Vec<String>,
        why: Box<dyn Fn() -> Option<String>>,
    ) -> Context {
        Context {
            real,
            redacted: redacted.unwrap_or(Value::UNDEFINED),
            names,
            lazy: Some(why),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    fn has_secrets(&self) -> bool {
        !self.redacted.is_undefined()
    }
}

pub struct Renderer {
    env: RefCell<Environment<'static>>,
    known: RefCell<HashSet<String>>,
    secrets: HashSet<String>,
}

impl Renderer {
    pub fn new(secrets: HashSet<String>) -> Renderer {
        let mut env = Environment::new();
        configure(&mut env);
        Renderer {
            env: RefCell::new(env),
            known: RefCell::new(HashSet::new()),
            secrets,
        }
    }

    pub fn secrets(&self) -> &HashSet<String> {
        &self.secrets
    }

    fn mentions_secret(&self, source: &str) -> bool {
        self.secrets.iter().any(|s| source.contains(s.as_str()))
    }

    /// Renders `source` for one host.
    pub fn render(&self, source: &str, cx: &Context) -> Result<Text, RenderError> {
        let plain = !(source.contains("{{") || source.contains("{%") || source.contains("{#"));
        if plain {
            return Ok(Text::plain(source));
        }
        let real = self.render_with(source, &cx.real, cx)?;
        if cx.has_secrets() && (cx.lazy.is_some() || self.mentions_secret(source)) {
            let shown = self.render_with(source, &cx.redacted, cx)?;
            if shown != real {
                return Ok(Text {
                    shown: shown.into(),
                    secret: Some(real.into()),
                });
            }
        }
        Ok(Text::plain(real))
    }

    /// Evaluates a `when:` expression for one host.
    pub fn condition(&self, expr: &str, cx: &Context) -> Result<bool, RenderError> {
        expression_text(expr).map_err(RenderError::Other)?;
        let env = self.env.borrow();
        let compiled = env
            .compile_expression(expr)
            .map_err(|e| RenderError::Other(describe_error(&e)))?;
        match compiled.eval(&cx.real) {
            // As ansible-core 2.19: a condition is a boolean. The text "no"
            // (an INI value, a quoted YAML one) is true to Jinja, so taking
            // its truth would run what the user meant to skip.
            Ok(v) if v.kind() == minijinja::value::ValueKind::Bool => Ok(v.is_true()),
            Ok(v) => Err(RenderError::Other(format!(
                "the condition gives {} `{v}`, not true or false; write `{expr} | bool` to read it as a boolean (yes/no, true/false, 1/0)",
                v.kind()
            ))),
            Err(e) => Err(self.explain(
                &e,
                compiled.undeclared_variables(false).into_iter().collect(),
                cx,
            )),
        }
    }

    fn render_with(&self, source: &str, vars: &Value, cx: &Context) -> Result<String, RenderError> {
        if !self.known.borrow().contains(source) {
            self.env
                .borrow_mut()
                .add_template_owned(source.to_string(), source.to_string())
                .map_err(|e| RenderError::Other(describe_error(&e)))?;
            self.known.borrow_mut().insert(source.to_string());
        }
        let env = self.env.borrow();
        let t = env
            .get_template(source)
            .map_err(|e| RenderError::Other(describe_error(&e)))?;
        let out = t.render(vars).map_err(|e| {
            let mut names: Vec<String> = t.undeclared_variables(false).into_iter().collect();
            names.sort();
            self.explain(&e, names, cx)
        })?;
        if out.len() > MAX_RENDERED {
            return Err(RenderError::Other(format!(
                "the template renders to {} MiB; zkrun renders at most {} MiB",
                out.len() / (1024 * 1024),
                MAX_RENDERED / (1024 * 1024)
            )));
        }
        Ok(out)
    }

    /// Names the variable behind an undefined-value error, with a suggestion.
    fn explain(&self, e: &minijinja::Error, mut names: Vec<String>, cx: &Context) -> RenderError {
        if let Some(why) = cx.lazy.as_ref().and_then(|f| f()) {
            return RenderError::Other(why);
        }
        if e.kind() == ErrorKind::UndefinedError {
            names.sort();
            let defined: HashSet<&str> = cx.names().collect();
            if let Some(missing) = names.iter().find(|n| !defined.contains(n.as_str())) {
                let suggestion = did_you_mean(missing, cx.names()).map(str::to_string);
                return RenderError::Undefined {
                    name: missing.clone(),
                    suggestion,
                };
            }
        }
        RenderError::Other(describe_error(e))
    }
}

/// An argv shown as a shell would read it.
pub fn shell_line(argv: &[Text]) -> String {
    argv.iter()
        .map(|a| shell_quote(&a.shown))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(pairs: &[(&str, &str)], secrets: &HashSet<String>) -> Context {
        let map: BTreeMap<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
        Context::new(&[&map], secrets)
    }

    #[test]
    fn no_template_is_ever_html_escaped_whatever_its_text_ends_with() {
        let r = Renderer::new(HashSet::new());
        let c = cx(&[("v", "a'b\nid > /tmp/pwned")], &HashSet::new());
        for suffix in [
            ".xml", ".html", ".htm", ".xhtml", ".html.j2", ".xml.j2", ".j2",
        ] {
            let line = format!("echo {{{{ v | quote }}}} > /etc/zookeeper/conf/logback{suffix}");
            let out = r.render(&line, &c).unwrap();
            assert_eq!(
                out.real(),
                format!("echo 'a'\\''b\nid > /tmp/pwned' > /etc/zookeeper/conf/logback{suffix}"),
                "escaped for {suffix}"
            );
            assert!(!out.real().contains("&#"), "{suffix}: {}", out.real());
        }
    }

    #[test]
    fn quote_filter_makes_shell_words() {
        assert_eq!(shell_quote("/var/lib/zookeeper"), "/var/lib/zookeeper");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        let r = Renderer::new(HashSet::new());
        let c = cx(&[("p", "x; rm -rf /")], &HashSet::new());
        assert_eq!(
            r.render("ls {{ p | quote }}", &c).unwrap().real(),
            "ls 'x; rm -rf /'"
        );
    }

    #[test]
    fn undefined_variables_are_named_with_a_suggestion() {
        let r = Renderer::new(HashSet::new());
        let c = cx(&[("zk_home", "/opt/zk")], &HashSet::new());
        let err = r.render("{{ zk_hoem }}/bin", &c).unwrap_err();
        assert_eq!(
            err,
            RenderError::Undefined {
                name: "zk_hoem".into(),
                suggestion: Some("zk_home".into())
            }
        );
    }

    #[test]
    fn secrets_are_shown_redacted_and_kept_real() {
        let secrets: HashSet<String> = ["token".to_string()].into();
        let r = Renderer::new(secrets.clone());
        let c = cx(&[("token", "hunter2"), ("user", "zk")], &secrets);
        let t = r.render("--auth {{ user }}:{{ token }}", &c).unwrap();
        assert_eq!(&*t.shown, "--auth zk:********");
        assert_eq!(t.real(), "--auth zk:hunter2");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"--auth zk:********\"");
    }

    #[test]
    fn conditions_evaluate_per_host() {
        let r = Renderer::new(HashSet::new());
        let c = cx(&[("role", "canary")], &HashSet::new());
        assert!(r.condition("role == 'canary'", &c).unwrap());
        assert!(!r.condition("role != 'canary'", &c).unwrap());
        assert!(matches!(
            r.condition("rol == 1", &c),
            Err(RenderError::Undefined { .. })
        ));
    }

    #[test]
    fn runaway_templates_end_with_an_error() {
        let r = Renderer::new(HashSet::new());
        let c = cx(&[], &HashSet::new());
        let e = r
            .render(
                "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x{% endfor %}{% endfor %}{% endfor %}",
                &c,
            )
            .unwrap_err();
        assert!(e.message().contains("runs too long"), "{}", e.message());
        for doubling in [
            "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
            "{% macro d(s) %}{{ d(s ~ s) }}{% endmacro %}{{ d('x') }}",
        ] {
            assert!(r.render(doubling, &c).is_err(), "{doubling}");
        }
        let e = r
            .render(
                "{% for a in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
                &c,
            )
            .unwrap_err();
        assert!(
            e.message().contains("MiB") || e.message().contains("too long"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn default_fills_in_an_undefined_variable_under_strict_undefined() {
        let r = Renderer::new(HashSet::new());
        let c = cx(&[("zk_unit", "zookeeper-server")], &HashSet::new());
        let shipped = "{{ zk_manager | default('script') }}";
        assert_eq!(r.render(shipped, &c).unwrap().real(), "script");
        assert_eq!(
            r.render("{{ zk_unit | default('zookeeper') }}", &c)
                .unwrap()
                .real(),
            "zookeeper-server"
        );
        // Without it, an undefined variable is still an error.
        assert!(matches!(
            r.render("{{ zk_manager }}", &c),
            Err(RenderError::Undefined { .. })
        ));
    }

    #[test]
    fn a_condition_must_be_a_boolean_and_bool_reads_ansible_text() {
        let r = Renderer::new(HashSet::new());
        let c = cx(&[("run_maintenance", "no")], &HashSet::new());
        let e = r.condition("run_maintenance", &c).unwrap_err();
        assert!(e.message().contains("| bool"), "{}", e.message());
        assert!(!r.condition("run_maintenance | bool", &c).unwrap());
        let c = cx(&[("run_maintenance", "Yes")], &HashSet::new());
        assert!(r.condition("run_maintenance | bool", &c).unwrap());
    }
}

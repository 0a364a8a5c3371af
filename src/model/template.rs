//! A string that may hold minijinja template syntax, checked when loaded so a
//! syntax error points at the line that holds it.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Template(pub String);

impl Template {
    pub fn new(s: impl Into<String>) -> Self {
        Template(s.into())
    }

    /// Plain text needs no rendering: most fields are plain, and skipping
    /// them keeps plan building fast for large inventories.
    pub fn is_plain(&self) -> bool {
        !(self.0.contains("{{") || self.0.contains("{%") || self.0.contains("{#"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn check(source: &str) -> Result<(), String> {
        let env = crate::render::syntax_env();
        env.template_from_str(source).map(|_| ()).map_err(|e| {
            format!(
                "syntax error in template: {}",
                crate::render::describe_error(&e)
            )
        })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::checked::string(d, "text (templates allowed)", |s| {
            let t = Template(s.to_string());
            if !t.is_plain() {
                Template::check(s)?;
            }
            Ok(t)
        })
    }
}

/// A `when:` condition: a minijinja expression, checked when loaded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Condition(pub String);

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::checked::string(d, "an expression", |s| {
            crate::render::expression_text(s)?;
            let env = crate::render::syntax_env();
            env.compile_expression(s).map_err(|e| {
                format!(
                    "syntax error in `when` expression: {}",
                    crate::render::describe_error(&e)
                )
            })?;
            Ok(Condition(s.to_string()))
        })
    }
}

//! Names that end up in ssh command lines and file names, checked on load.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// An inventory host or group name. ssh reads a leading `-` as an option and
/// whitespace splits arguments, so both are refused where they are written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct HostName(#[schemars(pattern(r"^[^-\s][^\s]*$"))] pub String);

impl HostName {
    pub fn check(name: &str, what: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err(format!("{what} name is empty"));
        }
        if name.starts_with('-') {
            return Err(format!(
                "{what} name `{name}` starts with `-`; ssh would read it as an option"
            ));
        }
        if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{what} name {name:?} contains {}; names may not hold whitespace or control characters",
                if c.is_whitespace() {
                    "whitespace"
                } else {
                    "a control character"
                }
            ));
        }
        if name.len() > 253 {
            return Err(format!("{what} name is longer than 253 characters"));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HostName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::checked::string(d, "a host or group name", |s| {
            HostName::check(s, "host or group").map(|()| HostName(s.to_string()))
        })
    }
}

/// A task's stable id: checkpoints and logs are keyed on it, and it becomes
/// part of file names, so it is kept to a safe alphabet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct TaskId(#[schemars(pattern(r"^[a-z0-9][a-z0-9_-]{0,63}$"))] pub String);

impl TaskId {
    pub fn check(id: &str) -> Result<(), String> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(())
        } else {
            Err(format!(
                "task id `{id}` may hold only lowercase letters, digits, `-` and `_` (at most 64, starting with a letter or digit)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TaskId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::checked::string(d, "a task id", |s| {
            TaskId::check(s).map(|()| TaskId(s.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_that_ssh_would_misread_are_refused() {
        assert!(HostName::check("zk1.example.com", "host").is_ok());
        assert!(
            HostName::check("-oProxyCommand=x", "host")
                .unwrap_err()
                .contains("option")
        );
        assert!(
            HostName::check("zk 1", "host")
                .unwrap_err()
                .contains("whitespace")
        );
        assert!(
            HostName::check("zk\u{7}", "host")
                .unwrap_err()
                .contains("control")
        );
    }

    #[test]
    fn task_ids_are_file_name_safe() {
        assert!(TaskId::check("stop-2").is_ok());
        assert!(TaskId::check("Stop").is_err());
        assert!(TaskId::check("../x").is_err());
        assert!(TaskId::check("").is_err());
    }
}

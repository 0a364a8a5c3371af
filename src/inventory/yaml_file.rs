//! Ansible's YAML inventory format, read into [`Op`]s.
//!
//! ```yaml
//! all:
//!   vars: {ansible_user: root}
//!   children:
//!     zookeeper:
//!       hosts:
//!         zk[1:3].example.com:
//!         zk4.example.com: {ansible_port: 2222}
//! ```
//!
//! Rules from ansible-core's `plugins/inventory/yaml.py`: top-level keys are
//! groups; a group is a mapping (or nothing) with `hosts`, `children` and
//! `vars`; a host key may hold a range and a `:port`; a section given as one
//! string names one entry. Where Ansible only warns and skips (an unknown key
//! in a group, a group that is not a mapping) zkrun refuses: a typo such as
//! `host:` would otherwise drop hosts from the roll without a word.

use super::address::expand_host;
use super::ansible_yaml::{Key, Node, NodeKind};
use super::value::{At, Op, SourceError, Target, Value};

/// Reads a parsed YAML document as an inventory.
pub fn ops(doc: &Node) -> Result<Vec<Op>, SourceError> {
    let NodeKind::Map(groups) = &doc.kind else {
        return Err(SourceError {
            message: if doc.is_null() {
                "this YAML inventory is empty".into()
            } else {
                format!(
                    "a YAML inventory is a mapping of groups, not {}",
                    doc.type_name()
                )
            },
            at: doc.at,
            help: Some("start with `all:` and put `hosts`, `children` and `vars` under it".into()),
        });
    };
    if groups.iter().any(|(k, _)| k.text == "plugin") {
        return Err(SourceError {
            message: "this is an inventory plugin's configuration, not an inventory".into(),
            at: doc.at,
            help: Some(
                "zkrun reads YAML and INI inventories; inventory plugins are not run".into(),
            ),
        });
    }
    let mut out = Vec::new();
    for (name, data) in groups {
        group(name, data, &mut out)?;
    }
    Ok(out)
}

fn group(name: &Key, data: &Node, out: &mut Vec<Op>) -> Result<(), SourceError> {
    if name.text.is_empty() {
        return Err(SourceError {
            message: "a group name is empty".into(),
            at: name.at,
            help: None,
        });
    }
    out.push(Op::Group {
        name: name.text.clone(),
        at: name.at,
    });
    let entries = match &data.kind {
        NodeKind::Scalar(Value::Null) => return Ok(()),
        NodeKind::Map(entries) => entries,
        _ => {
            return Err(SourceError {
                message: format!(
                    "group `{}` must be a mapping with `hosts`, `children` or `vars`, not {}",
                    name.text,
                    data.type_name()
                ),
                at: data.at,
                help: Some(
                    "Ansible skips such a group with a warning; zkrun refuses, so no host goes missing silently"
                        .into(),
                ),
            });
        }
    };
    for (key, section) in entries {
        let items = section_entries(&name.text, key, section)?;
        match key.text.as_str() {
            "vars" => {
                for (k, v) in items {
                    out.push(Op::Var {
                        target: Target::Group(name.text.clone()),
                        key: k.text.clone(),
                        value: v.to_value(),
                        at: k.at,
                    });
                }
            }
            "children" => {
                for (child, child_data) in items {
                    group(&child, &child_data, out)?;
                    out.push(Op::Child {
                        parent: name.text.clone(),
                        child: child.text.clone(),
                        at: child.at,
                    });
                }
            }
            "hosts" => {
                for (pattern, vars) in items {
                    hosts(&name.text, &pattern, &vars, out)?;
                }
            }
            other => {
                return Err(SourceError {
                    message: format!(
                        "group `{}` has an unknown key `{other}`; a group holds `hosts`, `children` and `vars`",
                        name.text
                    ),
                    at: key.at,
                    help: Some(match super::did_you_mean_section(other) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "Ansible skips unknown keys with a warning; zkrun refuses, so no host goes missing silently".into(),
                    }),
                });
            }
        }
    }
    Ok(())
}

/// A section's entries: a mapping, nothing, or one string naming one entry.
fn section_entries(
    group: &str,
    key: &Key,
    section: &Node,
) -> Result<Vec<(Key, Node)>, SourceError> {
    match &section.kind {
        NodeKind::Scalar(Value::Null) => Ok(Vec::new()),
        NodeKind::Map(entries) => Ok(entries.clone()),
        NodeKind::Scalar(Value::Str(s)) if key.text != "vars" => Ok(vec![(
            Key {
                text: s.clone(),
                at: section.at,
            },
            Node {
                at: section.at,
                kind: NodeKind::Scalar(Value::Null),
            },
        )]),
        _ => Err(SourceError {
            message: format!(
                "`{}` of group `{group}` must be a mapping, not {}",
                key.text,
                section.type_name()
            ),
            at: section.at,
            help: Some(match key.text.as_str() {
                "hosts" => "write each host as a key: `hosts: {zk1: , zk2: }` or one per line ending in `:`".into(),
                "children" => "write each child group as a key ending in `:`".into(),
                _ => "write `name: value` pairs".into(),
            }),
        }),
    }
}

fn hosts(group: &str, pattern: &Key, vars: &Node, out: &mut Vec<Op>) -> Result<(), SourceError> {
    let (names, port) = expand_host(&pattern.text).map_err(|message| SourceError {
        message: format!("host `{}`: {message}", pattern.text),
        at: pattern.at,
        help: None,
    })?;
    let vars: &[(Key, Node)] = match &vars.kind {
        NodeKind::Scalar(Value::Null) => &[],
        NodeKind::Map(entries) => entries,
        _ => {
            return Err(SourceError {
                message: format!(
                    "host `{}`'s variables must be a mapping, not {}",
                    pattern.text,
                    vars.type_name()
                ),
                at: vars.at,
                help: Some("write `zk1: {ansible_host: 10.0.0.1}`, or `zk1:` with nothing".into()),
            });
        }
    };
    for name in names {
        out.push(Op::Host {
            name: name.clone(),
            group: group.to_string(),
            port,
            at: pattern.at,
        });
        for (k, v) in vars {
            out.push(Op::Var {
                target: Target::Host(name.clone()),
                key: k.text.clone(),
                value: v.to_value(),
                at: At {
                    line: k.at.line,
                    column: k.at.column,
                },
            });
        }
    }
    Ok(())
}

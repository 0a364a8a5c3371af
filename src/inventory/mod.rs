//! The inventory resolved: every host with its groups, its merged variables
//! and how to reach it.
//!
//! Variable precedence, lowest first: `all` vars, then group vars (a child
//! group over its parents), then the host's own vars. Two groups that are not
//! parent and child and give one host different values for the same variable
//! are an error: zkrun does not pick one silently. Set the variable on the
//! host, or in only one of the groups.

pub mod pattern;

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::HostName;
use crate::model::inventory::{Group, InventoryFile};
use crate::yaml::{Part, Source, YamlPath};

/// A variable's value and where it was written.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub value: serde_json::Value,
    pub at: YamlPath,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// Every group the host is in, ancestors and `all` included.
    pub groups: Vec<String>,
    pub vars: IndexMap<String, Sourced>,
    pub connection: Connection,
    /// Where the host is first listed.
    pub at: YamlPath,
}

/// How to reach a host, from the `ansible_*` variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// `ansible_host`, or the inventory name.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub key_file: Option<String>,
    pub r#become: bool,
}

#[derive(Debug, Default)]
pub struct GroupNode {
    pub children: Vec<String>,
    pub parents: Vec<String>,
    pub vars: IndexMap<String, Sourced>,
    /// Where the group is first named.
    pub at: YamlPath,
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub hosts: Vec<Host>,
    pub groups: IndexMap<String, GroupNode>,
}

impl Inventory {
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Group name → its hosts (nested groups included), in inventory order.
    pub fn members(&self) -> IndexMap<String, Vec<String>> {
        let mut out: IndexMap<String, Vec<String>> = self
            .groups
            .keys()
            .map(|g| (g.clone(), Vec::new()))
            .collect();
        for h in &self.hosts {
            for g in &h.groups {
                if let Some(list) = out.get_mut(g) {
                    list.push(h.name.clone());
                }
            }
        }
        out
    }
}

/// One place a host is listed, with the variables written there.
struct Listing {
    group: String,
    vars: IndexMap<String, Sourced>,
    at: YamlPath,
}

struct Collector<'a> {
    src: &'a Source,
    groups: IndexMap<String, GroupNode>,
    listings: IndexMap<String, Vec<Listing>>,
    /// Direct memberships: host → groups that list it.
    edges_to_child: Vec<(String, String, YamlPath)>,
    errors: Diagnostics,
}

pub fn resolve(file: &InventoryFile, src: &Source) -> Result<Inventory, Diagnostics> {
    let mut c = Collector {
        src,
        groups: IndexMap::new(),
        listings: IndexMap::new(),
        edges_to_child: Vec::new(),
        errors: Diagnostics::default(),
    };
    c.node("all", YamlPath::root());
    for (name, group) in &file.0 {
        let at = YamlPath::root().key(name.as_str());
        if name.as_str() != "all" {
            c.edges_to_child
                .push(("all".into(), name.0.clone(), at.clone()));
        }
        c.group(name, group.as_ref(), at);
    }
    for (parent, child, at) in std::mem::take(&mut c.edges_to_child) {
        let p = c.groups.get_mut(&parent).expect("parent registered");
        if !p.children.contains(&child) {
            p.children.push(child.clone());
        }
        let ch = c.groups.get_mut(&child).expect("child registered");
        if !ch.parents.contains(&parent) {
            ch.parents.push(parent.clone());
        }
        let _ = at;
    }
    c.check_cycles();
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let hosts = c.hosts();
    c.errors.into_result()?;
    Ok(Inventory {
        hosts,
        groups: c.groups,
    })
}

fn sourced(
    vars: Option<&IndexMap<String, serde_json::Value>>,
    at: &YamlPath,
) -> IndexMap<String, Sourced> {
    vars.into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                Sourced {
                    value: v.clone(),
                    at: at.key(k),
                },
            )
        })
        .collect()
}

impl Collector<'_> {
    fn node(&mut self, name: &str, at: YamlPath) -> &mut GroupNode {
        self.groups
            .entry(name.to_string())
            .or_insert_with(|| GroupNode {
                at,
                ..GroupNode::default()
            })
    }

    fn group(&mut self, name: &HostName, group: Option<&Group>, at: YamlPath) {
        self.node(name.as_str(), at.clone());
        let Some(group) = group else { return };
        let vars = sourced(group.vars.as_ref(), &at.key("vars"));
        for (k, v) in vars {
            let existing = self.groups[name.as_str()].vars.get(&k).cloned();
            match existing {
                Some(old) if old.value != v.value => {
                    let d = Diagnostic::new(format!(
                        "group `{name}` sets `{k}` twice, to {} and {}",
                        short(&old.value),
                        short(&v.value)
                    ))
                    .at(self.src.locate(&v.at, Part::Key))
                    .label("second value")
                    .note(format!("first value at {}", self.place(&old.at)))
                    .help("a group named in several places is one group; keep one value");
                    self.errors.push(d);
                }
                _ => {
                    self.groups[name.as_str()].vars.insert(k, v);
                }
            }
        }
        for (host, host_vars) in group.hosts.iter().flatten() {
            let hat = at.key("hosts").key(host.as_str());
            self.listings
                .entry(host.0.clone())
                .or_default()
                .push(Listing {
                    group: name.0.clone(),
                    vars: sourced(host_vars.as_ref(), &hat),
                    at: hat,
                });
        }
        for (child, child_group) in group.children.iter().flatten() {
            let cat = at.key("children").key(child.as_str());
            self.edges_to_child
                .push((name.0.clone(), child.0.clone(), cat.clone()));
            self.group(child, child_group.as_ref(), cat);
        }
    }

    fn place(&self, at: &YamlPath) -> String {
        self.src
            .locate(at, Part::Key)
            .map(|s| format!("{}:{}:{}", s.path, s.line, s.column))
            .unwrap_or_else(|| self.src.path.clone())
    }

    fn check_cycles(&mut self) {
        // Depth-first search; a group met again on the current path closes a cycle.
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let names: Vec<String> = self.groups.keys().cloned().collect();
        let mut marks: HashMap<String, Mark> =
            names.iter().map(|n| (n.clone(), Mark::New)).collect();
        for start in &names {
            if marks[start] != Mark::New {
                continue;
            }
            let mut path: Vec<String> = vec![start.clone()];
            let mut stack: Vec<(String, usize)> = vec![(start.clone(), 0)];
            marks.insert(start.clone(), Mark::Open);
            while let Some((g, i)) = stack.last().cloned() {
                let children = &self.groups[&g].children;
                if i >= children.len() {
                    marks.insert(g.clone(), Mark::Done);
                    stack.pop();
                    path.pop();
                    continue;
                }
                stack.last_mut().expect("non-empty").1 += 1;
                let child = children[i].clone();
                match marks[&child] {
                    Mark::Open => {
                        let from = path.iter().position(|p| *p == child).unwrap_or(0);
                        let mut cycle: Vec<String> = path[from..].to_vec();
                        cycle.push(child.clone());
                        let at = self.groups[&g].at.key("children").key(&child);
                        let d = Diagnostic::new(format!(
                            "group `{child}` contains itself: {}",
                            cycle.join(" → ")
                        ))
                        .at(self.src.locate(&at, Part::Key))
                        .label("this makes a cycle")
                        .help("a group cannot be its own child, directly or through other groups; remove one of these `children` entries");
                        self.errors.push(d);
                    }
                    Mark::New => {
                        marks.insert(child.clone(), Mark::Open);
                        path.push(child.clone());
                        stack.push((child, 0));
                    }
                    Mark::Done => {}
                }
            }
        }
    }

    fn ancestors(&self, group: &str, memo: &mut HashMap<String, Vec<String>>) -> Vec<String> {
        if let Some(a) = memo.get(group) {
            return a.clone();
        }
        let mut out: Vec<String> = Vec::new();
        for p in &self.groups[group].parents {
            if !out.contains(p) {
                out.push(p.clone());
            }
            for a in self.ancestors(p, memo) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        memo.insert(group.to_string(), out.clone());
        out
    }

    fn hosts(&mut self) -> Vec<Host> {
        let mut memo = HashMap::new();
        // Hosts in the same groups share their group variables: merge once per set.
        let mut merged_for: HashMap<Vec<String>, Merged> = HashMap::new();
        let mut hosts = Vec::new();
        let listings = std::mem::take(&mut self.listings);
        for (name, listed) in listings {
            let mut direct: Vec<String> = listed.iter().map(|l| l.group.clone()).collect();
            direct.sort();
            direct.dedup();
            let merged = merged_for
                .entry(direct.clone())
                .or_insert_with(|| self.group_vars(&direct, &mut memo))
                .clone();
            let (groups, mut vars) = (merged.groups, merged.vars);
            // A conflict the host settles with its own value is no conflict.
            let unsettled: Vec<&Conflict> = merged
                .conflicts
                .iter()
                .filter(|c| !listed.iter().any(|l| l.vars.contains_key(&c.var)))
                .collect();
            if !unsettled.is_empty() {
                for c in unsettled {
                    self.report_conflict(&name, c);
                }
                continue;
            }
            // The host's own variables, possibly written in several listings.
            let mut own: IndexMap<String, Sourced> = IndexMap::new();
            for l in &listed {
                for (k, v) in &l.vars {
                    match own.get(k) {
                        Some(old) if old.value != v.value => {
                            let d = Diagnostic::new(format!(
                                "host `{name}` is given two values for `{k}`: {} and {}",
                                short(&old.value),
                                short(&v.value)
                            ))
                            .at(self.src.locate(&v.at, Part::Key))
                            .label("second value")
                            .note(format!("first value at {}", self.place(&old.at)))
                            .help("keep the host's variables in one place");
                            self.errors.push(d);
                        }
                        _ => {
                            own.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            for (k, v) in own {
                vars.insert(k, v);
            }
            let at = listed[0].at.clone();
            match connection(&name, &vars, self.src) {
                Ok(connection) => hosts.push(Host {
                    name,
                    groups,
                    vars,
                    connection,
                    at,
                }),
                Err(d) => self.errors.push(d),
            }
        }
        hosts
    }

    /// The variables a host in exactly these groups gets from them.
    fn group_vars(&self, direct: &[String], memo: &mut HashMap<String, Vec<String>>) -> Merged {
        let mut groups: Vec<String> = Vec::new();
        for g in direct {
            for a in std::iter::once(g.clone()).chain(self.ancestors(g, memo)) {
                if !groups.contains(&a) {
                    groups.push(a);
                }
            }
        }
        if !groups.iter().any(|g| g == "all") {
            groups.push("all".into());
        }
        let is_ancestor = |a: &str, of: &str, memo: &mut HashMap<String, Vec<String>>| {
            of != "all" && (a == "all" || self.ancestors(of, memo).iter().any(|x| x == a))
        };
        let mut names: Vec<&String> = Vec::new();
        for g in &groups {
            for k in self.groups[g].vars.keys() {
                if !names.contains(&k) {
                    names.push(k);
                }
            }
        }
        let mut vars = IndexMap::new();
        let mut conflicts = Vec::new();
        for k in names {
            let defining: Vec<&String> = groups
                .iter()
                .filter(|g| self.groups[*g].vars.contains_key(k))
                .collect();
            // The most specific definitions: those no other definer descends from.
            let specific: Vec<&String> = defining
                .iter()
                .filter(|g| !defining.iter().any(|o| o != *g && is_ancestor(g, o, memo)))
                .copied()
                .collect();
            let first = &self.groups[specific[0]].vars[k];
            if let Some(other) = specific[1..]
                .iter()
                .find(|g| self.groups[**g].vars[k].value != first.value)
            {
                conflicts.push(Conflict {
                    var: k.clone(),
                    a: (specific[0].clone(), first.clone()),
                    b: ((*other).clone(), self.groups[*other].vars[k].clone()),
                });
                continue;
            }
            vars.insert(k.clone(), first.clone());
        }
        Merged {
            groups,
            vars,
            conflicts,
        }
    }

    fn report_conflict(&mut self, host: &str, c: &Conflict) {
        let d = Diagnostic::new(format!(
            "host `{host}` gets `{}` from two unrelated groups: `{}` sets {}, `{}` sets {}",
            c.var,
            c.a.0,
            short(&c.a.1.value),
            c.b.0,
            short(&c.b.1.value)
        ))
        .at(self.src.locate(&c.b.1.at, Part::Key))
        .label(format!("set by group `{}`", c.b.0))
        .note(format!("also set by group `{}` at {}", c.a.0, self.place(&c.a.1.at)))
        .help(format!(
            "zkrun does not pick one silently: set `{}` in the host's own vars, or in only one of the groups",
            c.var
        ));
        self.errors.push(d);
    }
}

/// What a host in a given set of groups gets from them.
#[derive(Debug, Clone)]
struct Merged {
    groups: Vec<String>,
    vars: IndexMap<String, Sourced>,
    /// Variables that unrelated groups set differently (left out of `vars`).
    conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone)]
struct Conflict {
    var: String,
    a: (String, Sourced),
    b: (String, Sourced),
}

fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn connection(
    name: &str,
    vars: &IndexMap<String, Sourced>,
    src: &Source,
) -> Result<Connection, Diagnostic> {
    let bad = |k: &str, msg: String| {
        let at = vars.get(k).map(|v| v.at.clone()).unwrap_or_default();
        Diagnostic::new(format!("host `{name}`: {msg}")).at(src.locate(&at, Part::Value))
    };
    let text = |k: &str| -> Result<Option<String>, Diagnostic> {
        match vars.get(k).map(|v| &v.value) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(bad(k, format!("`{k}` must be text, not {}", short(other)))),
        }
    };
    let address = text("ansible_host")?.unwrap_or_else(|| name.to_string());
    HostName::check(&address, "ansible_host").map_err(|m| bad("ansible_host", m))?;
    let port = match text("ansible_port")? {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            bad(
                "ansible_port",
                format!("`ansible_port` is `{p}`, not a port from 1 to 65535"),
            )
        })?),
    };
    let user = text("ansible_user")?;
    if let Some(u) = &user {
        HostName::check(u, "ansible_user").map_err(|m| bad("ansible_user", m))?;
    }
    let key_file = text("ansible_ssh_private_key_file")?;
    let r#become = match vars.get("ansible_become").map(|v| &v.value) {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) if matches!(s.as_str(), "yes" | "true" | "True") => true,
        Some(serde_json::Value::String(s)) if matches!(s.as_str(), "no" | "false" | "False") => {
            false
        }
        Some(other) => {
            return Err(bad(
                "ansible_become",
                format!(
                    "`ansible_become` must be true or false, not {}",
                    short(other)
                ),
            ));
        }
    };
    Ok(Connection {
        address,
        port,
        user,
        key_file,
        r#become,
    })
}

/// Names of every group and host, for suggestions.
pub fn known_names(inv: &Inventory) -> HashSet<&str> {
    inv.groups
        .keys()
        .map(String::as_str)
        .chain(inv.hosts.iter().map(|h| h.name.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Inventory, Diagnostics> {
        let src = Source::new("inv.yaml", text);
        let file: InventoryFile = src.parse("inventory").map_err(Diagnostics::from)?;
        resolve(&file, &src)
    }

    #[test]
    fn child_group_vars_beat_parent_and_host_beats_all() {
        let inv = load(
            "all:\n  vars: {port: 1, x: a}\n  children:\n    zk:\n      vars: {port: 2}\n      hosts:\n        zk1: {x: b}\n        zk2:\n",
        )
        .unwrap();
        let zk1 = inv.host("zk1").unwrap();
        assert_eq!(zk1.vars["port"].value, 2);
        assert_eq!(zk1.vars["x"].value, "b");
        assert_eq!(inv.host("zk2").unwrap().vars["x"].value, "a");
        assert_eq!(inv.members()["zk"], vec!["zk1", "zk2"]);
        assert!(zk1.groups.contains(&"all".to_string()));
    }

    #[test]
    fn unrelated_groups_disagreeing_is_an_error_unless_the_host_decides() {
        let text = "all:\n  children:\n    a:\n      vars: {port: 1}\n      hosts: {zk1: }\n    b:\n      vars: {port: 2}\n      hosts: {zk1: }\n";
        let err = load(text).unwrap_err();
        assert!(
            err.0[0].message.contains("two unrelated groups"),
            "{:?}",
            err
        );
        let ok =
            load(&text.replace("hosts: {zk1: }\n    b", "hosts: {zk1: {port: 3}}\n    b")).unwrap();
        assert_eq!(ok.host("zk1").unwrap().vars["port"].value, 3);
    }

    #[test]
    fn cycles_are_found() {
        let err = load("all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n").unwrap_err();
        assert!(err.0[0].message.contains("a → b → a"), "{:?}", err);
    }

    #[test]
    fn connection_vars_are_read_and_checked() {
        let inv = load("all:\n  hosts:\n    zk1: {ansible_host: 127.0.0.11, ansible_port: 2222, ansible_user: root, ansible_become: yes}\n").unwrap();
        let c = &inv.host("zk1").unwrap().connection;
        assert_eq!(
            (c.address.as_str(), c.port, c.user.as_deref(), c.r#become),
            ("127.0.0.11", Some(2222), Some("root"), true)
        );
        let err = load("all:\n  hosts:\n    zk1: {ansible_port: 70000}\n").unwrap_err();
        assert!(err.0[0].message.contains("not a port"));
    }
}

//! The inventory being built: groups and hosts as Ansible's `InventoryData`
//! holds them while its sources are read (ansible-core
//! `inventory/data.py`, `inventory/group.py`, `inventory/host.py`).
//!
//! Every source's [`Op`]s are applied to one `Data` in order; `reconcile`
//! then does what Ansible does after the last source: a group without a
//! parent becomes a child of `all`, a host in no group joins `ungrouped`, a
//! host in some group leaves it.

use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};

use super::value::{At, Op, Target, Value};

/// Where something was written: a file and a place in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub file: Arc<str>,
    pub at: At,
}

/// A variable's value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub value: Value,
    pub place: Place,
}

#[derive(Debug, Clone)]
pub struct GroupData {
    pub name: String,
    /// Child groups, in the order they were added.
    pub children: Vec<usize>,
    pub parents: Vec<usize>,
    /// Hosts listed in this group itself, in the order they were added.
    pub hosts: Vec<usize>,
    pub vars: IndexMap<String, Var>,
    /// `ansible_group_priority` (default 1): among groups of one depth, the
    /// higher priority's variables win.
    pub priority: i64,
    pub place: Place,
}

#[derive(Debug, Clone)]
pub struct HostData {
    pub name: String,
    /// Groups that list the host itself.
    pub direct: Vec<usize>,
    pub vars: IndexMap<String, Var>,
    /// Where the host is first listed.
    pub place: Place,
}

/// A problem applying an op, with the op's place.
#[derive(Debug)]
pub struct DataError {
    pub message: String,
    pub place: Place,
    pub help: Option<String>,
}

#[derive(Debug)]
pub struct Data {
    pub groups: IndexMap<String, GroupData>,
    pub hosts: IndexMap<String, HostData>,
}

/// More hosts than this (ranges included) is refused: it is a mistake, and
/// expanding it would eat the memory.
pub const MAX_HOSTS: usize = 200_000;

pub const ALL: usize = 0;
pub const UNGROUPED: usize = 1;

impl Default for Data {
    fn default() -> Data {
        Data::new()
    }
}

impl Data {
    pub fn new() -> Data {
        let nowhere = Place {
            file: Arc::from(""),
            at: At::default(),
        };
        let mut d = Data {
            groups: IndexMap::new(),
            hosts: IndexMap::new(),
        };
        d.group("all", &nowhere);
        d.group("ungrouped", &nowhere);
        d.link(ALL, UNGROUPED);
        d
    }

    fn group(&mut self, name: &str, place: &Place) -> usize {
        if let Some(i) = self.groups.get_index_of(name) {
            return i;
        }
        self.groups
            .insert_full(
                name.to_string(),
                GroupData {
                    name: name.to_string(),
                    children: Vec::new(),
                    parents: Vec::new(),
                    hosts: Vec::new(),
                    vars: IndexMap::new(),
                    priority: 1,
                    place: place.clone(),
                },
            )
            .0
    }

    fn link(&mut self, parent: usize, child: usize) {
        if !self.groups[parent].children.contains(&child) {
            self.groups[parent].children.push(child);
        }
        if !self.groups[child].parents.contains(&parent) {
            self.groups[child].parents.push(parent);
        }
    }

    /// Every group above `g`, nearest first.
    pub fn ancestors(&self, g: usize) -> IndexSet<usize> {
        let mut out = IndexSet::new();
        let mut todo: Vec<usize> = self.groups[g].parents.clone();
        while let Some(p) = todo.pop() {
            if out.insert(p) {
                todo.extend(self.groups[p].parents.iter().copied());
            }
        }
        out
    }

    /// Applies one source's ops; `file` is the source's path as shown,
    /// `absolute` the same path made absolute (Ansible's `inventory_file`).
    pub fn apply(
        &mut self,
        ops: Vec<Op>,
        file: &Arc<str>,
        absolute: &str,
    ) -> Result<(), DataError> {
        let place = |at: At| Place {
            file: file.clone(),
            at,
        };
        for op in ops {
            match op {
                Op::Group { name, at } => {
                    self.group(&name, &place(at));
                }
                Op::Host {
                    name,
                    group,
                    port,
                    at,
                } => {
                    if let Err(message) = check_host_name(&name) {
                        return Err(DataError {
                            message,
                            place: place(at),
                            help: Some(
                                "a host name is what ssh or DNS knows: ASCII letters, digits, `.`, `-`, `_`, `:` and `%` (IPv6), not starting with `-` or `.`; write an internationalised name as punycode (xn--…)"
                                    .into(),
                            ),
                        });
                    }
                    let g = self.group(&group, &place(at));
                    if self.hosts.len() >= MAX_HOSTS && !self.hosts.contains_key(&name) {
                        return Err(DataError {
                            message: format!("the inventory names more than {MAX_HOSTS} hosts"),
                            place: place(at),
                            help: Some("is a range too wide? zkrun rolls ensembles, not fleets of that size".into()),
                        });
                    }
                    let (h, new) = match self.hosts.get_index_of(&name) {
                        Some(h) => (h, false),
                        None => {
                            let (h, _) = self.hosts.insert_full(
                                name.clone(),
                                HostData {
                                    name: name.clone(),
                                    direct: Vec::new(),
                                    vars: IndexMap::new(),
                                    place: place(at),
                                },
                            );
                            (h, true)
                        }
                    };
                    let host = &mut self.hosts[h];
                    if new {
                        // Ansible's add_host: the first source a host is
                        // met in is its `inventory_file`.
                        let dir = std::path::Path::new(absolute)
                            .parent()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default();
                        for (k, v) in [
                            ("inventory_file", absolute.to_string()),
                            ("inventory_dir", dir),
                        ] {
                            host.vars.insert(
                                k.into(),
                                Var {
                                    value: Value::Str(v),
                                    place: place(at),
                                },
                            );
                        }
                    }
                    // Like Ansible's `Host(name, port)`: a port counts
                    // where the host is first met.
                    if let (true, Some(port)) = (new, port) {
                        host.vars.insert(
                            "ansible_port".into(),
                            Var {
                                value: Value::Int(port.into()),
                                place: place(at),
                            },
                        );
                    }
                    if !host.direct.contains(&g) {
                        host.direct.push(g);
                        self.groups[g].hosts.push(h);
                    }
                }
                Op::Child { parent, child, at } => {
                    let p = self.group(&parent, &place(at));
                    let c = self.group(&child, &place(at));
                    if p == c || self.ancestors(p).contains(&c) {
                        return Err(DataError {
                            message: format!(
                                "making `{child}` a child of `{parent}` creates a loop: `{child}` already contains `{parent}`"
                            ),
                            place: place(at),
                            help: Some("a group cannot be its own child, directly or through other groups; remove one of these `children` entries".into()),
                        });
                    }
                    self.link(p, c);
                }
                Op::Var {
                    target,
                    key,
                    value,
                    at,
                } => {
                    let var = Var {
                        value,
                        place: place(at),
                    };
                    match target {
                        Target::Group(g) => {
                            let g = self.group(&g, &place(at));
                            if key == "ansible_group_priority" {
                                self.groups[g].priority = priority(&var)?;
                            } else {
                                self.groups[g].vars.insert(key, var);
                            }
                        }
                        // Ansible's `set_variable` looks for a group of that
                        // name first: a host line named like a group sets
                        // the group's variable.
                        Target::Host(h) if self.groups.contains_key(&h) => {
                            let g = self.groups.get_index_of(&h).expect("checked");
                            self.groups[g].vars.insert(key, var);
                        }
                        Target::Host(h) => match self.hosts.get_mut(&h) {
                            Some(host) => {
                                host.vars.insert(key, var);
                            }
                            None => {
                                return Err(DataError {
                                    message: format!("variable for unknown host `{h}`"),
                                    place: place(at),
                                    help: None,
                                });
                            }
                        },
                    }
                }
            }
        }
        Ok(())
    }

    /// After the last source: orphan groups under `all`, `ungrouped` fixed.
    pub fn reconcile(&mut self) {
        for g in 0..self.groups.len() {
            if g != ALL && self.groups[g].parents.is_empty() {
                self.link(ALL, g);
            }
        }
        for h in 0..self.hosts.len() {
            let grouped = self.hosts[h]
                .direct
                .iter()
                .any(|g| *g != ALL && *g != UNGROUPED);
            let in_ungrouped = self.hosts[h].direct.contains(&UNGROUPED);
            if grouped && in_ungrouped {
                self.hosts[h].direct.retain(|g| *g != UNGROUPED);
                self.groups[UNGROUPED].hosts.retain(|x| *x != h);
            } else if !grouped && !in_ungrouped {
                self.hosts[h].direct.push(UNGROUPED);
                self.groups[UNGROUPED].hosts.push(h);
            }
        }
    }

    /// A group's depth: the longest path from `all` (Ansible raises a
    /// child's depth to its parent's + 1 whenever an edge is added).
    pub fn depths(&self) -> Vec<usize> {
        let mut depth = vec![0usize; self.groups.len()];
        // Relax edges until nothing changes; the graph has no cycles.
        let mut changed = true;
        let mut rounds = 0;
        while changed && rounds <= self.groups.len() {
            changed = false;
            rounds += 1;
            for (p, g) in self.groups.values().enumerate() {
                for &c in &g.children {
                    if depth[c] < depth[p] + 1 {
                        depth[c] = depth[p] + 1;
                        changed = true;
                    }
                }
            }
        }
        depth
    }

    /// Every group a host is in: the groups listing it and their ancestors.
    pub fn host_groups(&self, h: usize) -> IndexSet<usize> {
        let mut out = IndexSet::new();
        for &g in &self.hosts[h].direct {
            out.insert(g);
            out.extend(self.ancestors(g));
        }
        out.insert(ALL);
        out
    }
}

fn priority(var: &Var) -> Result<i64, DataError> {
    match &var.value {
        Value::Int(i) => Ok(*i),
        Value::Str(s) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().unwrap_or(1)),
        other => Err(DataError {
            message: format!("`ansible_group_priority` must be a whole number, not {other:?}"),
            place: var.place.clone(),
            help: None,
        }),
    }
}

/// The characters a host name or ssh alias may hold here. The name becomes
/// an ssh argument and a directory of the step logs, so a name that could be
/// an option (`-o…`), a path (`../x`, `/etc`), shell syntax (`zk3;$(id)`) or
/// text that displays as something else (bidirectional or invisible
/// characters) is refused. Internationalised names: as punycode.
pub fn check_host_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%');
    if name.is_empty() {
        return Err("a host name is empty".into());
    }
    if let Some(c) = name.chars().find(|c| !ok(*c)) {
        return Err(format!(
            "host `{}` has the character {:?}, which a host name cannot hold",
            name.escape_debug(),
            c
        ));
    }
    if name.starts_with(['-', '.']) {
        return Err(format!("host `{name}` starts with `{}`", &name[..1]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_host_name;

    #[test]
    fn host_names_that_are_paths_options_shell_or_invisible_text_are_refused() {
        for bad in [
            "../../tmp/x",
            "/etc/cron.d",
            "zk3;$(id)",
            "zk\u{202e}1",
            "zk\u{200b}1",
            "-oProxyCommand=x",
            ".hidden",
            "zk 1",
            "zkü.example",
            "",
        ] {
            assert!(check_host_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "zk1",
            "zk1.dc1.example.com",
            "127.0.0.11",
            "::1",
            "fe80::1%eth0",
            "zk_1-a",
        ] {
            assert!(check_host_name(good).is_ok(), "{good:?} refused");
        }
    }
}

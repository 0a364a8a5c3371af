//! Ansible inventories, resolved as Ansible resolves them: the hosts, their
//! groups and their variables.
//!
//! Sources (`-i`, several allowed: files, directories, host lists) are read
//! in order into one set of groups and hosts ([`data`]); then each host's
//! variables are merged with Ansible's precedence (ansible-core
//! `vars/manager.py`, the default `VARIABLE_PRECEDENCE`), lowest first:
//!
//! 1. the `all` group's variables from the inventory files;
//! 2. the other groups' variables from the inventory files;
//! 3. `group_vars/all` beside each inventory source, then beside the playbook;
//! 4. `group_vars/<group>` beside each inventory source, then beside the playbook;
//! 5. the host's own variables from the inventory files (a host listed
//!    twice keeps the last value written);
//! 6. `host_vars/<host>` beside each inventory source, then beside the playbook.
//!
//! Within 2 and 4, groups apply in Ansible's order: by depth (distance
//! from `all`; deeper wins), then `ansible_group_priority` (higher wins),
//! then name (later in the alphabet wins). When that last rule is what
//! decides between two values, zkrun says so in a warning: Ansible is
//! silent, and which group wins by its name is rarely what was meant.
//!
//! Values are kept as written (templates unrendered): they are rendered
//! when used, with the play's other variables (see `crate::render`).

pub mod address;
pub mod ansible_cfg;
pub mod ansible_yaml;
pub mod connection;
pub mod data;
pub mod ini;
pub mod kv;
pub mod lazy;
pub mod pattern;
pub mod pyliteral;
pub mod sources;
pub mod value;
pub mod vars_files;
pub mod vault;
pub mod yaml_file;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

pub use connection::Connection;
use data::{ALL, Data};
pub use data::{Place, Var};
use sources::{Format, Source as InventorySource};
pub use value::Value;

use crate::diagnostic::{Diagnostic, Diagnostics, Snippet, did_you_mean};
use crate::yaml::Source;

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// Every group the host is in, ancestors and `all` included, sorted.
    pub groups: Vec<String>,
    /// The merged variables, unrendered, each with where it was written.
    pub vars: IndexMap<String, Var>,
    /// Where the host is first listed.
    pub place: Place,
}

/// A group as `ansible-inventory --list` shows it.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Hosts listed in the group itself.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub vars: IndexMap<String, Var>,
}

#[derive(Debug, Default)]
pub struct Inventory {
    /// In the order Ansible first met them. Shared: `hostvars` keeps a
    /// handle for the plan's lifetime instead of a copy.
    pub hosts: Arc<Vec<Host>>,
    /// Host name → its place in `hosts`: looking a host up by name is
    /// done once per host, and a scan would make that quadratic.
    pub index: Arc<HashMap<String, usize>>,
    pub groups: IndexMap<String, Group>,
    /// The `-i` sources, as given.
    pub shown: String,
    /// Texts of the files read, by the path they are shown under.
    pub files: HashMap<Arc<str>, Arc<Source>>,
    /// Vault envelopes met in variables, decrypted (plaintext is secret).
    pub decrypted: HashMap<String, String>,
    /// Things worth knowing that do not stop the run.
    pub warnings: Vec<Diagnostic>,
}

/// What to read.
pub struct Request<'a> {
    /// The `-i` arguments, in order.
    pub sources: &'a [String],
    /// For relative paths.
    pub cwd: &'a Path,
    /// The playbook's directory: its `group_vars/` and `host_vars/` apply too.
    pub playbook_dir: Option<&'a Path>,
    pub vault: &'a [vault::VaultSecret],
}

impl Inventory {
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.index.get(name).map(|i| &self.hosts[*i])
    }

    /// Group name → its hosts (nested groups included), in inventory order.
    pub fn members(&self) -> IndexMap<String, Vec<String>> {
        let mut out: IndexMap<String, Vec<String>> = self
            .groups
            .keys()
            .map(|g| (g.clone(), Vec::new()))
            .collect();
        for h in self.hosts.iter() {
            for g in &h.groups {
                if let Some(list) = out.get_mut(g) {
                    list.push(h.name.clone());
                }
            }
        }
        out
    }

    /// The snippet for a place in one of the files read.
    pub fn snippet(&self, place: &Place, width: usize) -> Option<Snippet> {
        let src = self.files.get(&place.file)?;
        (place.at.line > 0).then(|| src.snippet_at(place.at.line, place.at.column, width))
    }

    /// `file:line:column` of a place.
    pub fn describe(&self, place: &Place) -> String {
        if place.at.line == 0 {
            place.file.to_string()
        } else {
            format!("{}:{}:{}", place.file, place.at.line, place.at.column)
        }
    }

    /// The inventory in the shape `ansible-inventory --list` prints:
    /// `_meta.hostvars` with each host's merged variables (Ansible's
    /// internal ones left out, as it does), and each group with its hosts and
    /// children.
    pub fn ansible_list(&self) -> serde_json::Value {
        use serde_json::{Map, Value as J, json};
        let mut hostvars = Map::new();
        for h in self.hosts.iter() {
            let vars: Map<String, J> = h
                .vars
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "inventory_file" | "inventory_dir"))
                .map(|(k, v)| (k.clone(), v.value.to_list_json()))
                .collect();
            if !vars.is_empty() {
                hostvars.insert(h.name.clone(), J::Object(vars));
            }
        }
        let mut out = Map::new();
        out.insert("_meta".into(), json!({ "hostvars": hostvars }));
        for (name, g) in &self.groups {
            let mut entry = Map::new();
            if !g.children.is_empty() {
                entry.insert("children".into(), json!(g.children));
            }
            if !g.hosts.is_empty() && name != "all" {
                entry.insert("hosts".into(), json!(g.hosts));
            }
            if !entry.is_empty() || name == "all" {
                out.insert(name.clone(), J::Object(entry));
            }
        }
        J::Object(out)
    }
}

/// Reads the sources and resolves every host.
pub fn load(req: &Request) -> Result<Inventory, Diagnostics> {
    let mut errors = Diagnostics::default();
    let mut data = Data::new();
    let mut files: HashMap<Arc<str>, Arc<Source>> = HashMap::new();
    let mut srcs: Vec<InventorySource> = Vec::new();
    if req.sources.is_empty() {
        errors.push(
            Diagnostic::new("no inventory: give one with `-i FILE`")
                .help("or set `inventory` in the `[defaults]` section of ansible.cfg"),
        );
        return Err(errors);
    }
    let decrypt = |text: &str, what: &str| -> Result<String, Diagnostic> {
        open_vault(text, req.vault).map_err(|e| Diagnostic::new(format!("{what}: {e}")))
    };
    for arg in req.sources {
        match sources::classify(arg, req.cwd) {
            Ok(s) => srcs.push(s),
            Err(m) => {
                errors.push(Diagnostic::new(m).help(
                    "check the path given to -i; it is read relative to the current directory",
                ))
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for s in &srcs {
        let paths = match s {
            InventorySource::HostList(list) => {
                let shown: Arc<str> = Arc::from("<-i host list>");
                match host_list(list) {
                    Ok(ops) => {
                        if let Err(e) = data.apply(ops, &shown, "") {
                            errors.push(Diagnostic::new(e.message));
                        }
                    }
                    Err(m) => errors.push(Diagnostic::new(format!("-i `{list}`: {m}"))),
                }
                continue;
            }
            InventorySource::Path { path, absolute } if absolute.is_dir() => {
                match sources::files_in(absolute) {
                    Ok(found) => found
                        .into_iter()
                        .map(|f| {
                            let rel = f.strip_prefix(absolute).unwrap_or(&f).to_path_buf();
                            (path.join(rel), f)
                        })
                        .collect(),
                    Err(m) => {
                        errors.push(Diagnostic::new(m));
                        continue;
                    }
                }
            }
            InventorySource::Path { path, absolute } => vec![(path.clone(), absolute.clone())],
        };
        for (path, absolute) in paths {
            match read_source(&path, &decrypt) {
                Ok((src, ops)) => {
                    let shown: Arc<str> = Arc::from(src.path.as_str());
                    let abs = absolute.display().to_string();
                    let res = data.apply(ops, &shown, &abs);
                    files.insert(shown.clone(), Arc::new(src));
                    if let Err(e) = res {
                        let snippet =
                            files[&shown].snippet_at(e.place.at.line, e.place.at.column, 1);
                        let mut d = Diagnostic::new(e.message).at(Some(snippet));
                        if let Some(h) = e.help {
                            d = d.help(h);
                        }
                        errors.push(d);
                    }
                }
                Err(d) => errors.push(d),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let vars_dirs: Vec<PathBuf> = srcs.iter().filter_map(InventorySource::vars_dir).collect();
    let play_dir = req
        .playbook_dir
        .map(|p| sources::normalize(&req.cwd.join(p)));
    resolve(
        data,
        &vars_dirs,
        play_dir.as_deref(),
        req.vault,
        files,
        req.sources.join(", "),
    )
}

/// A YAML inventory given as text (no `group_vars`, no vault): for tests
/// and tools.
pub fn from_yaml_text(name: &str, text: &str) -> Result<Inventory, Diagnostics> {
    let src = Source::new(name, text);
    let ops = ansible_yaml::parse(&src.text)
        .and_then(|doc| yaml_file::ops(&doc))
        .map_err(|e| Diagnostics::from(source_error(e, &src, "YAML inventory")))?;
    let shown: Arc<str> = Arc::from(name);
    let mut data = Data::new();
    data.apply(ops, &shown, name)
        .map_err(|e| Diagnostics::from(Diagnostic::new(e.message)))?;
    let mut files = HashMap::new();
    files.insert(shown, Arc::new(src));
    resolve(data, &[], None, &[], files, name.to_string())
}

/// After the sources: `ungrouped` and `all` settled, variables merged,
/// vault values opened.
fn resolve(
    mut data: Data,
    vars_dirs: &[PathBuf],
    play_dir: Option<&Path>,
    secrets: &[vault::VaultSecret],
    mut files: HashMap<Arc<str>, Arc<Source>>,
    shown: String,
) -> Result<Inventory, Diagnostics> {
    let mut errors = Diagnostics::default();
    let mut decrypted: HashMap<String, String> = HashMap::new();
    let decrypt = |text: &str, what: &str| -> Result<String, Diagnostic> {
        open_vault(text, secrets).map_err(|e| Diagnostic::new(format!("{what}: {e}")))
    };
    data.reconcile();
    let mut cache = vars_files::Cache::default();
    let merged = merge(&data, vars_dirs, play_dir, &mut cache, &decrypt);
    let (hosts, warnings) = merged?;
    files.extend(cache.sources.drain());

    // Vault values: opened now, so a missing or wrong password is found
    // before any host is contacted, with the variable and the file named.
    for h in &hosts {
        for (k, v) in &h.vars {
            collect_vaults(&v.value, &mut |envelope| {
                if decrypted.contains_key(envelope) {
                    return;
                }
                match open_vault(envelope, secrets) {
                    Ok(plain) => {
                        decrypted.insert(envelope.to_string(), plain);
                    }
                    Err(e) => {
                        let where_ = format!("{}:{}", v.place.file, v.place.at.line);
                        let d = Diagnostic::new(format!(
                            "variable `{k}` (for host `{}`) is vault-encrypted: {e}",
                            h.name
                        ))
                        .at(files.get(&v.place.file).map(|s| {
                            s.snippet_at(v.place.at.line, v.place.at.column, k.chars().count())
                        }))
                        .note(format!("written at {where_}"));
                        if !errors.0.iter().any(|x| x.message == d.message) {
                            errors.push(d);
                        }
                    }
                }
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let groups = data
        .groups
        .values()
        .map(|g| {
            (
                g.name.clone(),
                Group {
                    hosts: g
                        .hosts
                        .iter()
                        .map(|h| data.hosts[*h].name.clone())
                        .collect(),
                    children: g
                        .children
                        .iter()
                        .map(|c| data.groups[*c].name.clone())
                        .collect(),
                    vars: g.vars.clone(),
                },
            )
        })
        .collect();
    let index = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.clone(), i))
        .collect();
    Ok(Inventory {
        hosts: Arc::new(hosts),
        index: Arc::new(index),
        groups,
        shown,
        files,
        decrypted,
        warnings,
    })
}

fn collect_vaults(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::Vault(e) => f(e),
        Value::List(l) => l.iter().for_each(|x| collect_vaults(x, f)),
        Value::Map(m) => m.values().for_each(|x| collect_vaults(x, f)),
        _ => {}
    }
}

fn open_vault(envelope: &str, secrets: &[vault::VaultSecret]) -> Result<String, String> {
    let bytes = vault::decrypt(envelope, secrets).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "its plaintext is not UTF-8 text".to_string())
}

/// `-i 'zk1,zk2:2222,'`: Ansible's `host_list` plugin (no ranges).
fn host_list(list: &str) -> Result<Vec<value::Op>, String> {
    let mut ops = Vec::new();
    for h in list.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let (names, port) = address::expand_host(h)?;
        for name in names {
            ops.push(value::Op::Host {
                name,
                group: "ungrouped".into(),
                port,
                at: value::At::default(),
            });
        }
    }
    Ok(ops)
}

/// One inventory file: read, decrypted if it is a vault, parsed.
fn read_source(
    path: &Path,
    decrypt: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
) -> Result<(Source, Vec<value::Op>), Diagnostic> {
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        {
            return Err(Diagnostic::new(format!(
                "inventory `{}` is executable: Ansible would run it as an inventory script, and zkrun does not run inventory scripts",
                path.display()
            ))
            .help("if it is a plain YAML or INI file, remove its execute bit (chmod a-x); if it is a script, save its output (`ansible-inventory -i SCRIPT --list`) and give zkrun that"));
        }
    }
    let mut src = Source::read(path, "inventory")?;
    if vault::is_vault(&src.text) {
        let text = decrypt(
            &src.text,
            &format!("the encrypted inventory `{}`", src.path),
        )?;
        src = Source::new(src.path.clone(), text);
    }
    let text = src.text.replace("\r\n", "\n");
    let yaml = |text: &str| -> Result<Vec<value::Op>, value::SourceError> {
        let doc = ansible_yaml::parse(text)?;
        yaml_file::ops(&doc)
    };
    let result = match sources::format_of(path) {
        Format::Yaml => yaml(&text).map_err(|e| source_error(e, &src, "YAML inventory")),
        Format::Ini => ini::parse(&text).map_err(|e| source_error(e, &src, "INI inventory")),
        Format::Either => match yaml(&text) {
            Ok(ops) => Ok(ops),
            Err(y) => ini::parse(&text).map_err(|i| {
                source_error(i, &src, "inventory").note(format!(
                    "read as INI because it is not a YAML inventory ({} at line {})",
                    y.message, y.at.line
                ))
            }),
        },
    };
    result.map(|ops| (src, ops))
}

/// A located diagnostic from a source's own error.
pub(crate) fn source_error(e: value::SourceError, src: &Source, what: &str) -> Diagnostic {
    let width = src
        .text
        .lines()
        .nth(e.at.line.saturating_sub(1))
        // Columns count characters, not bytes.
        .map(|l| {
            l.chars()
                .skip(e.at.column.saturating_sub(1))
                .collect::<String>()
        })
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .map_or(1, |w| w.chars().count())
        })
        .unwrap_or(1);
    let mut d = Diagnostic::new(format!("{what}: {}", e.message)).at(Some(src.snippet_at(
        e.at.line.max(1),
        e.at.column,
        width,
    )));
    if let Some(h) = e.help {
        d = d.help(h);
    }
    d
}

pub(crate) fn did_you_mean_section(word: &str) -> Option<&'static str> {
    did_you_mean(word, ["hosts", "children", "vars"])
}

/// Variables files for one entity, in the order they apply.
type Layers = Vec<Arc<IndexMap<String, Var>>>;

type Decrypt<'a> = dyn Fn(&str, &str) -> Result<String, Diagnostic> + 'a;

/// Every host's variables, merged in Ansible's order.
fn merge(
    data: &Data,
    vars_dirs: &[PathBuf],
    play_dir: Option<&Path>,
    cache: &mut vars_files::Cache,
    decrypt: &Decrypt,
) -> Result<(Vec<Host>, Vec<Diagnostic>), Diagnostics> {
    let depths = data.depths();
    let mut errors = Diagnostics::default();
    let mut warned: HashSet<(String, String)> = HashSet::new();
    let mut warnings = Vec::new();
    // The files for one entity under every vars directory, inventory's first.
    let mut files_for = |kind: &str, name: &str, cache: &mut vars_files::Cache| {
        let mut inv = Vec::new();
        let mut play = Vec::new();
        for dir in vars_dirs {
            for f in vars_files::find(&dir.join(kind), name) {
                match cache.load(&f, "variables file", decrypt) {
                    Ok(v) => inv.push(v),
                    Err(d) => errors.push(d),
                }
            }
        }
        if let Some(dir) = play_dir {
            // The playbook beside the inventory: its files are the same ones.
            if !vars_dirs.iter().any(|d| d == dir) {
                for f in vars_files::find(&dir.join(kind), name) {
                    match cache.load(&f, "variables file", decrypt) {
                        Ok(v) => play.push(v),
                        Err(d) => errors.push(d),
                    }
                }
            }
        }
        (inv, play)
    };
    let mut group_files: HashMap<usize, (Layers, Layers)> = HashMap::new();
    let mut hosts = Vec::with_capacity(data.hosts.len());
    for (h, hd) in data.hosts.values().enumerate() {
        let in_groups = data.host_groups(h);
        let mut sorted: Vec<usize> = in_groups.iter().copied().filter(|g| *g != ALL).collect();
        sorted.sort_by(|a, b| {
            let (ga, gb) = (&data.groups[*a], &data.groups[*b]);
            (depths[*a], ga.priority, &ga.name).cmp(&(depths[*b], gb.priority, &gb.name))
        });
        for g in std::iter::once(ALL).chain(sorted.iter().copied()) {
            if let std::collections::hash_map::Entry::Vacant(e) = group_files.entry(g) {
                e.insert(files_for("group_vars", &data.groups[g].name, cache));
            }
        }
        let mut vars: IndexMap<String, Var> = IndexMap::new();
        let mut decided_by_name =
            |vars: &IndexMap<String, Var>, g: usize, layer: &IndexMap<String, Var>| {
                // Which keys a same-depth, same-priority group set before this one.
                for (k, v) in layer {
                    if let Some(old) = vars.get(k) {
                        let prev = sorted
                            .iter()
                            .position(|x| *x == g)
                            .and_then(|i| i.checked_sub(1))
                            .map(|i| sorted[i]);
                        if let Some(p) = prev {
                            let same = depths[p] == depths[g]
                                && data.groups[p].priority == data.groups[g].priority;
                            let from_p = data.groups[p]
                                .vars
                                .get(k)
                                .is_some_and(|pv| pv.place == old.place);
                            if same
                                && from_p
                                && old.value != v.value
                                && warned.insert((k.clone(), data.groups[g].name.clone()))
                            {
                                warnings.push(
                                Diagnostic::new(format!(
                                    "`{k}` is set by groups `{}` and `{}`, which are equally deep and equally prior; Ansible's rule gives it `{}`'s value because its name sorts later",
                                    data.groups[p].name, data.groups[g].name, data.groups[g].name
                                ))
                                .help(format!(
                                    "set `{k}` in only one of the groups, on the hosts, or give one group `ansible_group_priority`"
                                )),
                            );
                            }
                        }
                    }
                }
            };
        apply(&mut vars, &data.groups[ALL].vars);
        for &g in &sorted {
            decided_by_name(&vars, g, &data.groups[g].vars);
            apply(&mut vars, &data.groups[g].vars);
        }
        let all_files = &group_files[&ALL];
        for layer in all_files.0.iter().chain(&all_files.1) {
            apply(&mut vars, layer);
        }
        for &g in &sorted {
            for layer in &group_files[&g].0 {
                apply(&mut vars, layer);
            }
        }
        for &g in &sorted {
            for layer in &group_files[&g].1 {
                apply(&mut vars, layer);
            }
        }
        apply(&mut vars, &hd.vars);
        let (inv, play) = files_for("host_vars", &hd.name, cache);
        for layer in inv.iter().chain(&play) {
            apply(&mut vars, layer);
        }
        let mut groups: Vec<String> = in_groups
            .iter()
            .map(|g| data.groups[*g].name.clone())
            .collect();
        groups.sort();
        hosts.push(Host {
            name: hd.name.clone(),
            groups,
            vars,
            place: hd.place.clone(),
        });
    }
    errors.into_result()?;
    Ok((hosts, warnings))
}

/// Later layers replace whole values (Ansible's default `hash_behaviour`).
fn apply(vars: &mut IndexMap<String, Var>, layer: &IndexMap<String, Var>) {
    for (k, v) in layer {
        vars.insert(k.clone(), v.clone());
    }
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
pub fn from_yaml(text: &str) -> Result<Inventory, Diagnostics> {
    from_yaml_text("inv.yaml", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_group_vars_beat_parent_and_host_beats_all() {
        let inv = from_yaml(
            "all:\n  vars: {port: 1, x: a}\n  children:\n    zk:\n      vars: {port: 2}\n      hosts:\n        zk1: {x: b}\n        zk2:\n",
        )
        .unwrap();
        let zk1 = inv.host("zk1").unwrap();
        assert_eq!(zk1.vars["port"].value, Value::Int(2));
        assert_eq!(zk1.vars["x"].value, Value::Str("b".into()));
        assert_eq!(
            inv.host("zk2").unwrap().vars["x"].value,
            Value::Str("a".into())
        );
        assert_eq!(inv.members()["zk"], vec!["zk1", "zk2"]);
        assert!(zk1.groups.contains(&"all".to_string()));
    }

    #[test]
    fn equal_groups_are_decided_by_name_with_a_warning() {
        let text = "all:\n  children:\n    b:\n      vars: {port: 2}\n      hosts: {zk1: }\n    a:\n      vars: {port: 1}\n      hosts: {zk1: }\n";
        let inv = from_yaml(text).unwrap();
        assert_eq!(inv.host("zk1").unwrap().vars["port"].value, Value::Int(2));
        assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
        assert!(inv.warnings[0].message.contains("name sorts later"));
    }

    #[test]
    fn cycles_are_found() {
        let err = from_yaml("all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n").unwrap_err();
        assert!(err.0[0].message.contains("creates a loop"), "{:?}", err);
    }

    #[test]
    fn ungrouped_and_all_hosts() {
        let inv =
            from_yaml("all:\n  hosts: {solo: }\n  children:\n    zk:\n      hosts: {zk1: }\n")
                .unwrap();
        assert_eq!(inv.groups["ungrouped"].hosts, ["solo"]);
        assert!(inv.groups["zk"].hosts == ["zk1"]);
        assert_eq!(inv.host("solo").unwrap().groups, ["all", "ungrouped"]);
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    #[test]
    fn an_executable_inventory_is_refused_not_read_as_ini() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cmdb");
        std::fs::write(&p, "#!/bin/sh\ncmdbgen\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = load(&Request {
            sources: &[p.display().to_string()],
            cwd: d.path(),
            playbook_dir: None,
            vault: &[],
        })
        .unwrap_err();
        assert!(
            err.0[0].message.contains("is executable"),
            "{:?}",
            err.0[0].message
        );
    }
}

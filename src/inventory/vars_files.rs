//! `group_vars/` and `host_vars/` beside an inventory or a playbook, found
//! and read as Ansible's `host_group_vars` plugin does (ansible-core
//! `plugins/vars/host_group_vars.py`, `DataLoader.find_vars_files`).
//!
//! For a group or host named `n` in directory `d/group_vars` (or
//! `host_vars`), the first of `d/n`, `d/n.yml`, `d/n.yaml`, `d/n.json` that
//! exists is used — only that one. If it is a directory, every file in it
//! and below with one of those extensions or none, sorted by name, skipping
//! hidden names and names ending in `~`, later files winning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use super::ansible_yaml::{self, NodeKind};
use super::data::{Place, Var};
use super::value::{At, Value};
use crate::diagnostic::Diagnostic;
use crate::yaml::Source;

const EXTENSIONS: &[&str] = &["", ".yml", ".yaml", ".json"];

/// The files holding `name`'s variables under `dir`, in the order they apply.
pub fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    // A host named like a path (`/srv/chroot`) has no vars file (Ansible skips it).
    if name.starts_with('/') || name.is_empty() {
        return Vec::new();
    }
    for ext in EXTENSIONS {
        let p = dir.join(format!("{name}{ext}"));
        if p.is_dir() {
            let mut out = Vec::new();
            in_dir(&p, &mut out);
            return out;
        }
        if p.exists() {
            return vec![p];
        }
    }
    Vec::new()
}

fn in_dir(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for n in names {
        let Some(n) = n.to_str() else { continue };
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let p = dir.join(n);
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| format!(".{e}"))
            .unwrap_or_default();
        if p.is_dir() && ext.is_empty() {
            in_dir(&p, out);
        } else if p.is_file() && EXTENSIONS.contains(&ext.as_str()) {
            out.push(p);
        }
    }
}

/// Variables files already read, by path: a file shared by many hosts is
/// read once.
#[derive(Default)]
pub struct Cache {
    files: HashMap<PathBuf, Arc<IndexMap<String, Var>>>,
    /// Texts of the files read, for diagnostics.
    pub sources: HashMap<Arc<str>, Arc<Source>>,
}

impl Cache {
    /// The variables of one file (an empty file has none).
    pub fn load(
        &mut self,
        path: &Path,
        what: &str,
        decrypt: &dyn Fn(&str, &str) -> Result<String, Diagnostic>,
    ) -> Result<Arc<IndexMap<String, Var>>, Diagnostic> {
        if let Some(v) = self.files.get(path) {
            return Ok(v.clone());
        }
        let src = Source::read(path, what)?;
        let shown: Arc<str> = Arc::from(src.path.as_str());
        let text = if super::vault::is_vault(&src.text) {
            decrypt(&src.text, &format!("the encrypted {what} `{shown}`"))?
        } else {
            src.text.clone()
        };
        let doc = ansible_yaml::parse(&text).map_err(|e| super::source_error(e, &src, what))?;
        let vars: IndexMap<String, Var> = match doc.kind {
            NodeKind::Scalar(Value::Null) => IndexMap::new(),
            NodeKind::Map(entries) => entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        k.text,
                        Var {
                            value: v.to_value(),
                            place: Place {
                                file: shown.clone(),
                                at: At {
                                    line: k.at.line,
                                    column: k.at.column,
                                },
                            },
                        },
                    )
                })
                .collect(),
            _ => {
                return Err(Diagnostic::new(format!(
                    "{what} `{shown}` must be a mapping of variables, not {}",
                    doc.type_name()
                ))
                .at(Some(src.snippet_at(doc.at.line, doc.at.column, 1)))
                .help("write `name: value` lines"));
            }
        };
        let vars = Arc::new(vars);
        self.sources.insert(shown, Arc::new(src));
        self.files.insert(path.to_path_buf(), vars.clone());
        Ok(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_candidate_wins_and_directories_are_read_sorted() {
        let d = tempfile::tempdir().unwrap();
        let gv = d.path();
        std::fs::write(gv.join("zk.yml"), "a: 1").unwrap();
        std::fs::write(gv.join("zk.json"), "{}").unwrap();
        assert_eq!(find(gv, "zk"), vec![gv.join("zk.yml")]);
        std::fs::write(gv.join("zk"), "a: 2").unwrap();
        assert_eq!(
            find(gv, "zk"),
            vec![gv.join("zk")],
            "no extension comes first"
        );
        std::fs::create_dir(gv.join("all")).unwrap();
        for f in ["b.yaml", "a.yml", "c.txt", "d", ".e.yml", "f.yml~"] {
            std::fs::write(gv.join("all").join(f), "").unwrap();
        }
        let got: Vec<_> = find(gv, "all")
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(got, ["a.yml", "b.yaml", "d"]);
        assert!(find(gv, "/chroot").is_empty());
    }
}

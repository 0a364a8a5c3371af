//! Which files an `-i` names and how each is read, by ansible-core's rules
//! (`inventory/manager.py`, the `host_list`, `yaml` and `ini` plugins).
//!
//! - A path to a file: YAML when it ends in `.yml`, `.yaml` or `.json`; INI
//!   when it has another extension; without one, YAML first and INI when
//!   YAML does not give an inventory (Ansible's plugin order).
//! - A directory: every file in it and below, sorted by name, skipping
//!   hidden names, `group_vars`, `host_vars`, `vars_plugins` and the
//!   extensions Ansible ignores (`INVENTORY_IGNORE_EXTS`).
//! - Text with a comma that is not a path: a host list (`-i 'zk1,zk2,'`).
//!
//! Inventory scripts and plugin configurations are not run: zkrun refuses
//! them instead of guessing.

use std::path::{Path, PathBuf};

/// Ansible's default `INVENTORY_IGNORE_EXTS` (`REJECT_EXTS` plus `.orig`,
/// `.cfg`, `.retry`): files a directory inventory skips.
const IGNORED_EXTS: &[&str] = &[
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// Names a directory inventory never reads (Ansible's `IGNORED_ALWAYS`).
const IGNORED_NAMES: &[&str] = &["host_vars", "group_vars", "vars_plugins"];

/// One `-i` argument, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file or directory; `path` as given, `absolute` made absolute.
    Path { path: PathBuf, absolute: PathBuf },
    /// `zk1,zk2,`: hosts named inline.
    HostList(String),
}

impl Source {
    /// The directory whose `group_vars/` and `host_vars/` belong to this
    /// source: the directory itself, or the file's directory.
    pub fn vars_dir(&self) -> Option<PathBuf> {
        match self {
            Source::Path { absolute, .. } if absolute.is_dir() => Some(absolute.clone()),
            Source::Path { absolute, .. } => absolute.parent().map(Path::to_path_buf),
            Source::HostList(_) => None,
        }
    }
}

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Ini,
    /// No extension: YAML, else INI.
    Either,
}

pub fn format_of(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml" | "json") => Format::Yaml,
        Some(_) => Format::Ini,
        None => Format::Either,
    }
}

/// `-i` text → a source; `cwd` for relative paths.
pub fn classify(arg: &str, cwd: &Path) -> Result<Source, String> {
    let expanded = expand_user(arg);
    let path = PathBuf::from(&expanded);
    let absolute = normalize(&cwd.join(&path));
    if absolute.exists() {
        return Ok(Source::Path {
            path: PathBuf::from(arg),
            absolute,
        });
    }
    if arg.contains(',') {
        return Ok(Source::HostList(arg.to_string()));
    }
    Err(format!("the inventory `{arg}` does not exist"))
}

/// The files a directory source holds, in Ansible's order.
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    // Python sorts the raw names, byte by byte.
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    let mut out = Vec::new();
    for name in names {
        let Some(n) = name.to_str() else { continue };
        if n.starts_with('.')
            || IGNORED_NAMES.contains(&n)
            || IGNORED_EXTS.iter().any(|e| n.ends_with(e))
        {
            continue;
        }
        let p = dir.join(n);
        if p.is_dir() {
            out.extend(files_in(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// `~` and `~/…` as the shell and Python's `expanduser` read them.
pub fn expand_user(s: &str) -> String {
    if (s == "~" || s.starts_with("~/"))
        && let Some(home) = std::env::var_os("HOME")
    {
        return format!("{}{}", home.to_string_lossy(), &s[1..]);
    }
    s.to_string()
}

/// `a/./b/../c` → `a/c`, without touching the file system (Python's
/// `normpath`: symlinks are not followed, as Ansible's sources are not).
pub fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(format_of(Path::new("hosts.yml")), Format::Yaml);
        assert_eq!(format_of(Path::new("hosts.json")), Format::Yaml);
        assert_eq!(format_of(Path::new("hosts.ini")), Format::Ini);
        assert_eq!(format_of(Path::new("prod.hosts")), Format::Ini);
        assert_eq!(format_of(Path::new("hosts")), Format::Either);
    }

    #[test]
    fn directories_are_read_sorted_without_ignored_files() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "b.yml",
            "a.ini",
            "x.bak",
            "y.retry",
            "README.md",
            "z~",
            ".hidden",
            "c",
        ] {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        std::fs::create_dir(d.path().join("group_vars")).unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/d.yaml"), "").unwrap();
        let names: Vec<String> = files_in(d.path())
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(d.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.ini", "b.yml", "c", "sub/d.yaml"]);
    }

    #[test]
    fn comma_text_that_is_no_path_is_a_host_list() {
        let cwd = Path::new("/nonexistent-zkrun");
        assert_eq!(
            classify("zk1,zk2,", cwd),
            Ok(Source::HostList("zk1,zk2,".into()))
        );
        assert!(
            classify("missing.ini", cwd)
                .unwrap_err()
                .contains("does not exist")
        );
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}

//! The layers, read from the code's own `crate::` paths: each top-level
//! module may name only the modules listed before it in `LAYERS`, so the
//! layers cannot form a cycle and a newcomer can tell from this list what a
//! module may touch. The pure core also stays free of I/O.

/// Bottom to top. A module may use the ones above it in this list.
const LAYERS: &[&str] = &[
    // Foundations: no knowledge of playbooks or hosts.
    "scrub",      // the one secret scrubber every printed or stored string passes
    "diagnostic", // the one user-facing error type
    "clock",
    "event", // what the runner tells the front ends
    "yaml",
    "render",
    // What the user writes, and the inventory it names.
    "model",
    "inventory",
    // Reaching a host: Exec, the transport trait, ssh, fake.
    "host",
    // ZooKeeper knowledge, then the task types that use it.
    "zk",
    "tasks",
    // Pure: playbook + inventory → every step, rendered.
    "plan",
    // Executes a plan through a transport; emits events.
    "runner",
    // Consumers of events and plans, and the commands.
    "checkpoint",
    "report",
    "preview",
    "cli",
    "load", // files → model → plan, every problem with its place
    "schema",
    "cmd",
    "app",
];

const PURE: &[&str] = &[
    "src/model",
    "src/plan",
    // The inventory's readers and resolution; finding and reading its
    // files (`mod`, `sources`, `vars_files`, `vault`, `ansible_cfg`) is I/O.
    "src/inventory/address.rs",
    "src/inventory/ansible_yaml.rs",
    "src/inventory/connection.rs",
    "src/inventory/data.rs",
    "src/inventory/ini.rs",
    "src/inventory/kv.rs",
    "src/inventory/lazy.rs",
    "src/inventory/pattern.rs",
    "src/inventory/pyliteral.rs",
    "src/inventory/value.rs",
    "src/inventory/yaml_file.rs",
    "src/render.rs",
    "src/tasks",
    "src/diagnostic.rs",
];
const FORBIDDEN: &[&str] = &[
    "tokio",
    "openssh",
    "indicatif",
    "std::fs",
    "std::process",
    "std::net",
];

fn files(path: &str) -> Vec<std::path::PathBuf> {
    let p = std::path::Path::new(path);
    if p.is_file() {
        return vec![p.to_path_buf()];
    }
    if !p.exists() {
        return Vec::new();
    }
    std::fs::read_dir(p)
        .unwrap()
        .flat_map(|e| files(e.unwrap().path().to_str().unwrap()))
        .collect()
}

/// The code without comments (line comments and doc comments), up to its
/// unit tests: a word in prose is not an import.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| match l.find("//") {
            // Keep `//` inside a string literal (a URL): only cut where the
            // quotes before it are balanced.
            Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module of a file under src/.
fn layer_of(path: &std::path::Path) -> String {
    let rel = path.strip_prefix("src").unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::<module>` the code names.
fn named(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .map(|(i, _)| {
            code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn layers_import_only_downwards() {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    for path in files("src") {
        let layer = layer_of(&path);
        if matches!(layer.as_str(), "lib" | "main") {
            continue;
        }
        let Some(mine) = rank(&layer) else {
            wrong.push(format!(
                "{}: module `{layer}` is not in LAYERS",
                path.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        for target in named(&code(&text)) {
            match rank(&target) {
                Some(r) if r < mine || target == layer => {}
                Some(_) => wrong.push(format!(
                    "{} (layer `{layer}`) uses `crate::{target}`, which is not below it",
                    path.display()
                )),
                None => wrong.push(format!(
                    "{} uses `crate::{target}`, which is not in LAYERS",
                    path.display()
                )),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_a_wrong_import() {
    let text =
        "use crate::runner::Runner; // crate::app in a comment\nfn f() { crate::zk::probe(); }";
    assert_eq!(named(&code(text)), ["runner", "zk"]);
}

#[test]
fn pure_modules_do_no_io() {
    for path in PURE.iter().flat_map(|p| files(p)) {
        let text = std::fs::read_to_string(&path).unwrap();
        for word in FORBIDDEN {
            assert!(!text.contains(word), "{} uses `{word}`", path.display());
        }
    }
}

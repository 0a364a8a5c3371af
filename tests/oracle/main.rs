//! Ansible is the oracle: for every inventory case in
//! `tests/fixtures/inventories/`, what zkrun resolves — hosts, groups,
//! variables (`--list-inventory` against `ansible-inventory --list`), the
//! play's hosts and how each is reached (`--list-hosts` against what
//! ansible-core's own connection and become plugins hold) — must equal what
//! ansible-core 2.19 (pinned, from PyPI, set up by `scripts/ansible-oracle
//! setup`) does with the same files, flags and environment. A difference is a
//! failure. Bad inputs must be refused by both (or by zkrun, where it is
//! stricter on purpose) with exit 2 and a message naming the problem.
//! How the Ansible side works: `tests/oracle/README.md`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh copy of a case, so nothing is written into the fixtures.
fn scratch(case: &Path) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("zkrun-oracle-")
        .tempdir()
        .unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", case.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    // Ansible's outputs are written for the committed copy only.
    let _ = std::fs::remove_file(dir.path().join("ansible.json"));
    dir
}

fn ansible(dir: &Path) -> Value {
    let out = Command::new(repo().join("scripts/ansible-oracle"))
        .arg("view")
        .arg(dir)
        .output()
        .expect("scripts/ansible-oracle runs");
    assert!(
        out.status.success(),
        "the Ansible side failed (run `scripts/ansible-oracle setup` first):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the oracle prints JSON")
}

struct Case {
    dir: tempfile::TempDir,
    spec: Value,
}

impl Case {
    fn str_list(&self, key: &str) -> Vec<String> {
        self.spec[key]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    fn playbook_dir(&self) -> PathBuf {
        self.dir
            .path()
            .join(self.spec["playbook_dir"].as_str().unwrap_or("."))
    }

    /// zkrun with the case's environment, in the case's directory.
    fn zkrun(&self, args: &[String]) -> (i32, String, String) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zkrun"));
        c.current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("ANSIBLE_CONFIG")
            .args(args);
        if let Some(env) = self.spec["env"].as_object() {
            for (k, v) in env {
                c.env(k, v.as_str().unwrap());
            }
        }
        let out = c.output().unwrap();
        let shown = |b: &[u8]| {
            String::from_utf8_lossy(b).replace(&self.dir.path().display().to_string(), "<case>")
        };
        (
            out.status.code().unwrap_or(-1),
            shown(&out.stdout),
            shown(&out.stderr),
        )
    }

    fn inventory_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        for i in self.str_list("inventory") {
            a.push("-i".to_string());
            a.push(i);
        }
        a
    }
}

/// `ansible-inventory --list` and zkrun's, made comparable: child lists
/// sorted (Ansible builds them from sets), the `profile` marker dropped.
fn normalize_inventory(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("_meta").and_then(Value::as_object_mut) {
        meta.remove("profile");
    }
    if let Some(groups) = v.as_object_mut() {
        for (_, g) in groups.iter_mut() {
            if let Some(children) = g.get_mut("children").and_then(Value::as_array_mut) {
                children.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    v
}

/// One host's connection, as both sides are compared.
fn ansible_connection(c: &Value, dir: &Path) -> Value {
    let real = dir.display().to_string();
    let become_ = c["become"].as_bool().unwrap_or(false);
    let mut options: Vec<String> = Vec::new();
    for k in ["ssh_common_args", "ssh_extra_args"] {
        if let Some(a) = c[k].as_str() {
            let a = a.replace("<case>", &real);
            options.extend(
                zkrun::inventory::connection::ssh_options_of(&a)
                    .expect("zkrun reads Ansible's ssh args")
                    .into_iter()
                    .map(|o| o.replace(&real, "<case>")),
            );
        }
    }
    let local = c["connection"] == "local";
    json!({
        "connection": c["connection"],
        "address": if local { Value::Null } else { c["address"].clone() },
        "port": if local { Value::Null } else { c["port"].clone() },
        "user": if local { Value::Null } else { c["user"].clone() },
        "key_file": if local { Value::Null } else { c["key_file"].clone() },
        "become": become_,
        "become_user": if become_ { json!(c["become_user"].as_str().unwrap_or("root")) } else { Value::Null },
        "become_password": become_ && c["become_password"].is_string(),
        "ssh_options": if local { json!([]) } else { json!(options) },
    })
}

fn zkrun_connection(h: &Value) -> Value {
    let become_ = h["become"].as_bool().unwrap_or(false);
    let local = h["connection"] == "local";
    json!({
        "connection": h["connection"],
        "address": if local { Value::Null } else { h["address"].clone() },
        "port": if local { Value::Null } else { h["port"].clone() },
        "user": if local { Value::Null } else { h["user"].clone() },
        "key_file": if local { Value::Null } else { h["key_file"].clone() },
        "become": become_,
        "become_user": if become_ { h["become_user"].clone() } else { Value::Null },
        "become_password": become_ && h["become_password"].as_bool().unwrap_or(false),
        "ssh_options": if local { json!([]) } else { h["ssh_options"].clone() },
    })
}

/// A minimal zkrun playbook over the case's play pattern.
fn write_playbook(case: &Case) -> String {
    let dir = case.playbook_dir();
    let pattern = case.spec["pattern"].as_str().unwrap_or("all");
    let path = dir.join("zkrun-oracle.yaml");
    std::fs::write(
        &path,
        format!(
            "name: oracle\nhosts: {}\ntasks:\n  - {{id: look, run: once, status: {{}}}}\n",
            serde_json::to_string(pattern).unwrap()
        ),
    )
    .unwrap();
    path.strip_prefix(case.dir.path())
        .unwrap()
        .display()
        .to_string()
}

fn check(name: &str) -> Result<(), String> {
    let fixture = repo().join("tests/fixtures/inventories").join(name);
    let dir = scratch(&fixture);
    let spec: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.path().join("case.yaml")).unwrap())
            .unwrap();
    let case = Case { dir, spec };
    let theirs = ansible(case.dir.path());
    let zk_error = case.spec["zkrun_error"].as_str().map(str::to_string);
    let args = case.str_list("args");

    // The play's hosts and connections.
    let pb = write_playbook(&case);
    let mut list = vec![
        pb,
        "--list-hosts".to_string(),
        "--output".into(),
        "json".into(),
    ];
    list.extend(case.inventory_args());
    list.extend(args.iter().cloned());
    let (code, out, err) = case.zkrun(&list);

    if let Some(phrase) = &zk_error {
        if code != 2 {
            return Err(format!(
                "zkrun should refuse with exit 2 (\"{phrase}\"), got {code}:\n{out}\n{err}"
            ));
        }
        let text = format!("{out}\n{err}").to_lowercase();
        if !text.contains(&phrase.to_lowercase()) {
            return Err(format!(
                "zkrun refused, but its message does not say \"{phrase}\":\n{err}"
            ));
        }
        return Ok(());
    }
    if case.spec["ansible_error"].as_bool().unwrap_or(false) {
        return Err(
            "Ansible refuses this input, so zkrun must too: give the case a `zkrun_error`".into(),
        );
    }
    if code != 0 {
        return Err(format!("zkrun --list-hosts failed ({code}):\n{err}"));
    }
    let ours: Value = serde_json::from_str(out.lines().next().unwrap_or(""))
        .map_err(|e| format!("{e}: {out}"))?;
    let hosts = &ours["data"]["hosts"];
    let our_names: Vec<&str> = hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    let their_names: Vec<&str> = theirs["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    if our_names != their_names {
        return Err(format!(
            "play hosts differ: zkrun {our_names:?}, Ansible {their_names:?}"
        ));
    }
    for h in hosts.as_array().unwrap() {
        let name = h["name"].as_str().unwrap();
        let t = &theirs["connections"][name];
        if let Some(e) = t["error"].as_str() {
            return Err(format!(
                "Ansible could not build {name}'s connection ({e}), zkrun could"
            ));
        }
        let (mut a, z) = (ansible_connection(t, case.dir.path()), zkrun_connection(h));
        // A vault value is a secret: zkrun shows it masked where Ansible
        // prints it (case 29's vaulted ansible_user).
        for k in ["address", "user", "key_file", "become_user"] {
            if z[k] == "********" && a[k].is_string() {
                a[k] = json!("********");
            }
        }
        if a != z {
            return Err(format!(
                "{name}: connections differ\n  Ansible {}\n  zkrun   {}",
                a, z
            ));
        }
    }

    // The inventory itself.
    let mut inv = vec!["--list-inventory".to_string()];
    inv.extend(case.inventory_args());
    for (i, a) in args.iter().enumerate() {
        if a.starts_with("--vault") || (i > 0 && args[i - 1].starts_with("--vault")) {
            inv.push(a.clone());
        }
    }
    let pb_dir = case.playbook_dir();
    inv.push("--playbook-dir".into());
    inv.push(pb_dir.display().to_string());
    let (code, out, err) = case.zkrun(&inv);
    if code != 0 {
        return Err(format!("zkrun --list-inventory failed ({code}):\n{err}"));
    }
    let ours = normalize_inventory(serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?);
    let theirs_inv = normalize_inventory(theirs["inventory"].clone());
    if ours != theirs_inv {
        return Err(format!(
            "inventories differ\n  Ansible {}\n  zkrun   {}",
            theirs_inv, ours
        ));
    }
    Ok(())
}

#[test]
fn every_inventory_case_resolves_as_ansible_resolves_it() {
    let setup = Command::new(repo().join("scripts/ansible-oracle"))
        .arg("setup")
        .status()
        .unwrap();
    assert!(setup.success(), "scripts/ansible-oracle setup failed");
    let mut names: Vec<String> = std::fs::read_dir(repo().join("tests/fixtures/inventories"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    if let Ok(only) = std::env::var("ZKRUN_ORACLE_CASE") {
        names.retain(|n| n.contains(&only));
    }
    assert!(names.len() >= 25, "the corpus shrank to {}", names.len());
    let mut failures = Vec::new();
    for name in &names {
        if let Err(e) = check(name) {
            failures.push(format!("── {name}\n{e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Ansible:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

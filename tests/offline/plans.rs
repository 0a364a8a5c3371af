//! Snapshots of the dry-run of every shipped playbook against the example
//! inventories: what an SRE reads before anything runs.

use std::path::Path;

use crate::cli::cli_args;
use clap::Parser;
use zkrun::app::load_and_plan;
use zkrun::cli::Cli;

fn plan(playbook: &str, inventory: &str, extra: &[&str]) -> zkrun::plan::Plan {
    let cli = Cli::parse_from(cli_args(
        Path::new(playbook),
        Path::new(inventory),
        extra.iter().map(|s| s.to_string()).collect(),
    ));
    match load_and_plan(&cli) {
        Ok(p) => p,
        Err(d) => panic!("{}", d.render(20)),
    }
}

fn text(p: &zkrun::plan::Plan) -> String {
    console::set_colors_enabled(false);
    zkrun::plan::display::render(p, false)
}

#[test]
fn rolling_restart_on_three_nodes() {
    let p = plan(
        "playbooks/rolling-restart.yaml",
        "examples/inventory-3.yaml",
        &[],
    );
    insta::assert_snapshot!(text(&p));
}

#[test]
fn rolling_restart_on_five_nodes_with_maintenance() {
    let p = plan(
        "playbooks/rolling-restart.yaml",
        "examples/inventory-5.yaml",
        &["maintenance='apt-get clean'"],
    );
    insta::assert_snapshot!(text(&p));
}

/// The inventory (or `-e`) says `zk_manager: systemd`: the same playbook
/// stops and starts the unit, and verify reads its journal too.
#[test]
fn rolling_restart_on_three_nodes_under_systemd() {
    let p = plan(
        "playbooks/rolling-restart.yaml",
        "examples/inventory-3.yaml",
        &["zk_manager=systemd"],
    );
    insta::assert_snapshot!(text(&p));
}

/// The manager is chosen per host: one host's variable changes only its steps.
#[test]
fn the_manager_is_chosen_per_host_by_its_variables() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.yaml");
    std::fs::write(
        &inventory,
        "all:\n  children:\n    zookeeper:\n      hosts:\n        zk1: {ansible_host: 192.0.2.11}\n        zk2: {ansible_host: 192.0.2.12, zk_manager: systemd, zk_unit: zookeeper-server}\n        zk3: {ansible_host: 192.0.2.13}\n",
    )
    .unwrap();
    let p = plan(
        "playbooks/rolling-restart.yaml",
        inventory.to_str().unwrap(),
        &[],
    );
    let r = p.rolling().unwrap();
    let stop = |host: &str| {
        r.steps[host]
            .iter()
            .find_map(|s| match &s.action {
                Some(zkrun::tasks::Action::Stop(stop)) => {
                    Some(zkrun::render::shell_line(&stop.command))
                }
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(stop("zk1"), "/usr/share/zookeeper/bin/zkServer.sh stop");
    assert_eq!(stop("zk2"), "systemctl stop zookeeper-server");
    assert_eq!(stop("zk3"), "/usr/share/zookeeper/bin/zkServer.sh stop");
}

#[test]
fn config_change_on_three_nodes() {
    let p = plan(
        "playbooks/config-change.yaml",
        "examples/inventory-3.yaml",
        &[],
    );
    insta::assert_snapshot!(text(&p));
}

#[test]
fn upgrade_on_five_nodes() {
    let p = plan(
        "playbooks/upgrade.yaml",
        "examples/inventory-5.yaml",
        &["zookeeper_version=3.8.0-11+deb12u2"],
    );
    insta::assert_snapshot!(text(&p));
}

#[test]
fn plan_json_has_the_documented_shape() {
    let p = plan(
        "playbooks/rolling-restart.yaml",
        "examples/inventory-3.yaml",
        &[],
    );
    insta::assert_json_snapshot!(p);
}

#[test]
fn dry_run_lines_fit_80_columns() {
    for (pb, inv, extra) in [
        (
            "playbooks/rolling-restart.yaml",
            "examples/inventory-5.yaml",
            vec!["maintenance='apt-get clean'"],
        ),
        (
            "playbooks/config-change.yaml",
            "examples/inventory-5.yaml",
            vec![],
        ),
        (
            "playbooks/rolling-restart.yaml",
            "examples/inventory-5.yaml",
            vec!["zk_manager=systemd"],
        ),
        (
            "playbooks/upgrade.yaml",
            "examples/inventory-5.yaml",
            vec!["zookeeper_version=3.8.0-11+deb12u2"],
        ),
    ] {
        let t = text(&plan(pb, inv, &extra));
        for line in t.lines() {
            assert!(
                line.chars().count() <= 80,
                "{pb}: {} columns: {line}",
                line.chars().count()
            );
        }
    }
}

#[test]
fn the_fingerprint_ignores_comments_and_run_id_but_not_values() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string("playbooks/rolling-restart.yaml").unwrap();
    let copy = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().to_string()
    };
    let a = copy("a.yaml", &original);
    let b = copy("b.yaml", &format!("# a new comment\n{original}"));
    let c = copy("c.yaml", &original.replace("timeout: 90s", "timeout: 91s"));
    let inv = "examples/inventory-3.yaml";
    let fa = plan(&a, inv, &[]).fingerprint;
    assert_eq!(fa, plan(&b, inv, &[]).fingerprint);
    assert_ne!(fa, plan(&c, inv, &[]).fingerprint);
    assert_ne!(fa, plan(&a, inv, &["backup_root=/srv"]).fingerprint);
}

#[test]
fn secrets_never_reach_the_printed_or_serialized_plan() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("secret.yaml");
    std::fs::write(
        &pb,
        "name: s\nhosts: zookeeper\nsecrets: [token]\ntasks:\n  - id: notify\n    maintain: {command: [curl, -H, \"Authorization: {{ token }}\", http://127.0.0.1:9/]}\n",
    )
    .unwrap();
    let p = plan(
        pb.to_str().unwrap(),
        "examples/inventory-3.yaml",
        &["token=hunter2"],
    );
    let shown = text(&p);
    let json = serde_json::to_string(&p).unwrap();
    assert!(shown.contains("Authorization: ********"), "{shown}");
    assert!(!shown.contains("hunter2") && !json.contains("hunter2"));
    // The real value is still there for the runner.
    let r = p.rolling().unwrap();
    let Some(zkrun::tasks::Action::Maintain(zkrun::tasks::maintain::MaintainStep::Command {
        argv,
        ..
    })) = &r.steps["zk1"][0].action
    else {
        panic!("expected a command step")
    };
    assert_eq!(argv[2].real(), "Authorization: hunter2");
}

#[test]
fn limit_and_when_shape_the_plan() {
    let mut cli_extra = vec![];
    let p = plan(
        "playbooks/rolling-restart.yaml",
        "examples/inventory-3.yaml",
        &cli_extra,
    );
    let r = p.rolling().unwrap();
    assert!(
        r.steps["zk2"].iter().any(|s| s.skip.is_some()),
        "maintain is skipped without -e"
    );
    cli_extra.push("maintenance=true");
    let p = plan(
        "playbooks/rolling-restart.yaml",
        "examples/inventory-3.yaml",
        &cli_extra,
    );
    assert!(
        p.rolling().unwrap().steps["zk2"]
            .iter()
            .all(|s| s.skip.is_none())
    );
}

#[test]
fn a_reader_that_closes_early_ends_zkrun_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    // A plan far larger than a pipe's buffer, so zkrun is still writing
    // when the reader goes.
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("many.yaml");
    let hosts: String = (1..=300)
        .map(|i| format!("        zk{i}: {{ansible_host: 192.0.2.{}}}\n", i % 250 + 1))
        .collect();
    std::fs::write(
        &inventory,
        format!("all:\n  children:\n    zookeeper:\n      hosts:\n{hosts}"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkrun"))
        .arg("playbooks/rolling-restart.yaml")
        .arg("-i")
        .arg(&inventory)
        // JSON: the text collapses hosts whose steps read the same.
        .args(["--dry-run", "--offline", "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then close the pipe, as `| head -c 1` would.
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

#[test]
fn a_closed_stderr_does_not_panic_zkrun() {
    use std::process::{Command, Stdio};
    // stderr is a pipe whose reader is gone (`2>&1 | head -1` once head
    // has left): every write fails with EPIPE. The error about the missing
    // inventory has nowhere to go; zkrun still ends with its exit code for
    // invalid input, not a panic (101).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_zkrun"))
        .args([
            "playbooks/rolling-restart.yaml",
            "-i",
            "/nonexistent/hosts.yaml",
            "--check",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::from(writer))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A directory holding `inv.ini` (one host, `here`, reached with
/// `ansible_connection: local`) and the playbook `pb.yaml`.
fn local_play(playbook: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inv.ini"),
        "here ansible_connection=local\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("pb.yaml"), playbook).unwrap();
    dir
}

/// zkrun run in `dir`.
fn zkrun_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_zkrun"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// `ansible_connection: local`: the host's commands run on this machine,
/// without ssh, through the same wrapper as on a remote host.
#[test]
fn a_local_connection_runs_its_commands_here() {
    let marker = std::env::temp_dir().join(format!("zkrun-local-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let dir = local_play(&format!(
        "name: local\nhosts: here\ntasks:\n  - id: touch\n    run: parallel\n    maintain: {{command: [touch, {}]}}\n",
        marker.display()
    ));
    let out = zkrun_in(
        dir.path(),
        &["pb.yaml", "-i", "inv.ini", "--fresh", "--output", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(marker.exists(), "the command did not run here");
    let _ = std::fs::remove_file(&marker);
}

/// A command past its deadline is ended with its whole process group (a
/// child it started too), and the step says it ran out of time even when
/// the command catches SIGTERM and exits 0.
#[test]
fn a_local_command_past_its_deadline_is_ended_with_its_group() {
    let tag = format!("zkrun-deadline-{}", std::process::id());
    let dir = local_play(&format!(
        "name: local\nhosts: here\ntasks:\n  - id: hang\n    run: parallel\n    timeout: 1s\n    maintain: {{shell: \"sleep 29.{n} & trap 'exit 0' TERM; sleep 28.{n}; wait\"}}\n",
        n = std::process::id()
    ));
    let out = zkrun_in(
        dir.path(),
        &["pb.yaml", "-i", "inv.ini", "--fresh", "--output", "json"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ran past the step's timeout"), "{stdout}");
    let left = std::process::Command::new("pgrep")
        .args(["-f", &format!("sleep 2[89].{}", std::process::id())])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "{tag}: left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

/// `service.cli` (the zkCli path the read once used) still loads, with a
/// note that it is no longer used.
#[test]
fn an_old_service_cli_loads_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string("playbooks/rolling-restart.yaml").unwrap();
    let pb = dir.path().join("pb.yaml");
    std::fs::write(
        &pb,
        shipped.replace(
            "  client_port: 2181\n",
            "  client_port: 2181\n  cli: /usr/share/zookeeper/bin/zkCli.sh\n",
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkrun"))
        .arg(&pb)
        .args(["-i", "examples/inventory-3.yaml", "--dry-run", "--offline"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("`service.cli` is no longer used"),
        "{stderr}"
    );
}

/// A printed plan's fingerprint is keyed with the run's own random key: no
/// plain hash of inputs that hold secrets leaves zkrun.
#[test]
fn a_printed_fingerprint_is_a_keyed_hash() {
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkrun"))
            .args([
                "playbooks/rolling-restart.yaml",
                "-i",
                "examples/inventory-3.yaml",
                "--dry-run",
                "--offline",
                "--output",
                "json",
                "--state",
            ])
            .arg(std::env::temp_dir().join(format!("zkrun-fp-{}.json", std::process::id())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap()
            .to_string();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        v["data"]["fingerprint"].as_str().unwrap().to_string()
    };
    let (a, b) = (run(), run());
    assert!(a.starts_with("hmac-sha256:"), "{a}");
    assert_ne!(a, b, "each run has its own key");
}

/// A state file is read as untrusted: a forged run id (it becomes part of
/// paths) or a host twice in the rolling order is refused, and the state of
/// another playbook is never adopted.
#[test]
fn a_forged_or_foreign_state_file_is_refused() {
    let pb = "name: local\nhosts: here\ntasks:\n  - id: noop\n    run: parallel\n    maintain: {command: [\"true\"]}\n";
    let dir = local_play(pb);
    std::fs::write(dir.path().join("other.yaml"), pb).unwrap();
    let zkrun = |args: &[&str]| zkrun_in(dir.path(), args);
    let out = zkrun(&["pb.yaml", "-i", "inv.ini", "--state", "s.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("s.json")).unwrap()).unwrap();

    let out = zkrun(&[
        "other.yaml",
        "-i",
        "inv.ini",
        "--state",
        "s.json",
        "--dry-run",
        "--offline",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("belongs to run"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for (field, value, says) in [
        ("run_id", serde_json::json!("../../etc/x"), "run id"),
        ("order", serde_json::json!(["here", "here"]), "twice"),
    ] {
        let mut forged = state.clone();
        forged[field] = value;
        std::fs::write(dir.path().join("f.json"), forged.to_string()).unwrap();
        let out = zkrun(&[
            "pb.yaml",
            "-i",
            "inv.ini",
            "--state",
            "f.json",
            "--dry-run",
            "--offline",
        ]);
        assert_eq!(out.status.code(), Some(2), "{field}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{field}: {err}");
    }
}

/// Completions and the man page come from the flags themselves.
#[test]
fn completions_and_the_man_page_are_generated_from_the_flags() {
    let zkrun = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkrun"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for shell in ["bash", "zsh", "fish"] {
        let script = zkrun(&["--completions", shell]);
        assert!(
            script.contains("list-hosts") && script.contains("vault-password-file"),
            "{shell}"
        );
    }
    let bash = zkrun(&["--completions", "bash"]);
    let check = std::process::Command::new("bash")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bash.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(check.success(), "bash cannot parse the completion script");
    let man = zkrun(&["--man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH zkrun 1"),
        "{}",
        &man[..80]
    );
    assert!(
        man.contains("\\-\\-list\\-hosts") || man.contains("list\\-hosts"),
        "the man page lists the flags"
    );
}

/// An error that quotes a secret's value (minijinja names a missing
/// template by its name, here the password) shows it masked, although the
/// plan never stood and the scrubber never learnt the secret.
#[test]
fn an_error_quoting_a_secret_masks_it() {
    let dir = local_play(
        "name: s\nhosts: here\nsecrets: [zk_password]\nvars: {zk_password: s3cret-value-123}\ntasks:\n  - id: x\n    run: parallel\n    maintain: {shell: \"{% include zk_password %}\"}\n",
    );
    let out = zkrun_in(dir.path(), &["pb.yaml", "-i", "inv.ini", "--check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("s3cret-value-123"), "{err}");
}

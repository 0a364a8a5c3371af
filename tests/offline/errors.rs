//! Every bad input has a fixture and a snapshot of the message an SRE sees.
//! Messages are plain text here: colour is off when not on a terminal.

use std::path::{Path, PathBuf};

use crate::cli::cli_args;
use clap::Parser;
use zkrun::app::load_and_plan;
use zkrun::cli::Cli;

fn cli(playbook: &Path, inventory: &Path) -> Cli {
    Cli::parse_from(cli_args(playbook, inventory, Vec::new()))
}

/// The rendered errors; panics if the input was accepted.
fn errors_for(c: &Cli) -> String {
    console::set_colors_enabled(false);
    match load_and_plan(c) {
        Ok(_) => panic!("{:?} was accepted", c.playbook),
        Err(d) => d.render(20),
    }
}

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new("tests/fixtures").join(dir))
        .expect("fixtures directory")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn each_bad_playbook_has_a_located_message() {
    let inventory = Path::new("tests/fixtures/inventory.yaml");
    for playbook in fixtures("playbook") {
        let name = playbook.file_stem().unwrap().to_string_lossy().to_string();
        let text = errors_for(&cli(&playbook, inventory));
        insta::assert_snapshot!(format!("playbook-{name}"), text);
    }
}

#[test]
fn each_bad_inventory_has_a_located_message() {
    let playbook = Path::new("tests/fixtures/playbook.yaml");
    for inventory in fixtures("inventory") {
        let name = inventory.file_stem().unwrap().to_string_lossy().to_string();
        let text = errors_for(&cli(playbook, &inventory));
        insta::assert_snapshot!(format!("inventory-{name}"), text);
    }
}

#[test]
fn problems_in_both_files_are_reported_together() {
    let text = errors_for(&cli(
        Path::new("tests/fixtures/playbook/unknown-field.yaml"),
        Path::new("tests/fixtures/inventory/bad-port.yaml"),
    ));
    assert!(text.contains("unknown field `servce`"), "{text}");
    assert!(text.contains("not a port"), "{text}");
    assert!(text.contains("2 problems found"), "{text}");
}

#[test]
fn missing_file_and_directory_are_refused_by_name() {
    let inventory = Path::new("tests/fixtures/inventory.yaml");
    let text = errors_for(&cli(Path::new("tests/fixtures/no-such.yaml"), inventory));
    insta::assert_snapshot!("missing-file", text);
    let text = errors_for(&cli(Path::new("tests/fixtures"), inventory));
    insta::assert_snapshot!("directory", text);
}

#[test]
fn a_50_mib_file_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let line = "# padding padding padding padding padding padding padding padding\n";
    let text = line.repeat(50 * 1024 * 1024 / line.len() + 1);
    std::fs::write(&big, text).unwrap();
    let out = errors_for(&cli(&big, Path::new("tests/fixtures/inventory.yaml")));
    assert!(
        out.contains("is 50.0 MiB; zkrun reads files up to 16 MiB"),
        "{out}"
    );
}

#[test]
fn binary_bytes_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin.yaml");
    std::fs::write(&bin, b"name: x\nhosts: \xff\xfe\x00\x01\n").unwrap();
    let out = errors_for(&cli(&bin, Path::new("tests/fixtures/inventory.yaml")));
    assert!(
        out.contains("is not UTF-8 text: invalid byte at line 2"),
        "{out}"
    );
}

#[test]
fn undefined_variable_names_every_host_once() {
    let out = errors_for(&cli(
        Path::new("tests/fixtures/playbook/undefined-variable.yaml"),
        Path::new("tests/fixtures/inventory.yaml"),
    ));
    assert_eq!(
        out.matches("undefined variable `zk_hoem`").count(),
        1,
        "{out}"
    );
    assert!(out.contains("for hosts zk1, zk2, zk3"), "{out}");
    assert!(out.contains("did you mean `zk_home`?"), "{out}");
}

#[test]
fn a_two_node_ensemble_is_refused_unless_quorum_loss_is_allowed() {
    let playbook = Path::new("playbooks/rolling-restart.yaml");
    let inventory = Path::new("tests/fixtures/small/two-nodes.yaml");
    let text = errors_for(&cli(playbook, inventory));
    insta::assert_snapshot!("two-node-ensemble", text);
    let mut args = cli_args(playbook, inventory, Vec::new());
    args.push("--allow-quorum-loss".into());
    let plan = load_and_plan(&Cli::parse_from(args)).expect("allowed");
    assert_eq!(plan.hosts.len(), 2);
}

/// `service.manager` chosen per host by a template: a value it renders to
/// that names no manager is reported at the field, with the hosts.
#[test]
fn a_manager_template_rendering_no_manager_is_located() {
    let text = errors_for(&Cli::parse_from(cli_args(
        Path::new("playbooks/rolling-restart.yaml"),
        Path::new("tests/fixtures/inventory.yaml"),
        vec!["zk_manager=upstart".into()],
    )));
    insta::assert_snapshot!("manager-renders-unknown", text);
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_playbook() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("bom.yaml");
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(std::fs::read("playbooks/rolling-restart.yaml").unwrap());
    std::fs::write(&pb, bytes).unwrap();
    let c = cli(&pb, Path::new("tests/fixtures/inventory.yaml"));
    assert!(load_and_plan(&c).is_ok());
}

#[test]
fn a_fifo_or_a_device_is_refused_by_kind_and_never_read() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("playbook.yaml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (playbook, kind) in [
        (fifo.as_path(), "a named pipe (FIFO)"),
        (Path::new("/dev/zero"), "a device"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zkrun"))
            .arg(playbook)
            .args(["-i", "tests/fixtures/inventory.yaml", "--check"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Bounded: a zkrun that reads the FIFO would wait forever.
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("zkrun is still reading {}", playbook.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("is {kind}, not a regular file")),
            "{err}"
        );
    }
}

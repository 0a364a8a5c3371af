//! The backup task's script, run here on data directories laid out as
//! ZooKeeper leaves them: sparse txn logs, preallocated to 64 MiB.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

const MIB: u64 = 1 << 20;

/// A txn log as ZooKeeper leaves it: `written` bytes, then preallocated
/// to 64 MiB by one zero byte at the end (a hole between, where the
/// filesystem has holes).
fn txn_log(path: &Path, written: &[u8]) {
    let mut f = fs::File::create(path).unwrap();
    f.write_all(written).unwrap();
    f.seek(SeekFrom::Start(64 * MIB - 1)).unwrap();
    f.write_all(&[0]).unwrap();
}

/// Runs the real backup script on a data dir laid out by `logs`
/// (name, bytes written) beside snapshot.5; returns the backup dir.
fn back_up(dir: &Path, logs: &[(&str, Vec<u8>)]) -> std::path::PathBuf {
    back_up_with(dir, logs, None, &[]).0
}

/// The same, with `path_first` ahead of PATH and `env` set; also returns
/// stderr.
fn back_up_with(
    dir: &Path,
    logs: &[(&str, Vec<u8>)],
    path_first: Option<&Path>,
    env: &[(&str, &str)],
) -> (std::path::PathBuf, String) {
    let data = dir.join("data");
    fs::create_dir_all(data.join("version-2")).unwrap();
    fs::write(data.join("myid"), "1\n").unwrap();
    let conf = dir.join("zoo.cfg");
    fs::write(&conf, format!("dataDir={}\n", data.display())).unwrap();
    // A complete snapshot ends with 00 00 00 01 2F.
    fs::write(data.join("version-2/snapshot.5"), b"snap\0\0\0\x01/").unwrap();
    for (name, bytes) in logs {
        txn_log(&data.join("version-2").join(name), bytes);
    }
    let dest = dir.join("backup");
    let mut sh = Command::new("sh");
    sh.envs(env.iter().copied());
    if let Some(first) = path_first {
        let path = std::env::var("PATH").unwrap_or_default();
        sh.env("PATH", format!("{}:{path}", first.display()));
    }
    let out = sh
        .args(["-c", zkrun::tasks::backup::BACKUP, "zkrun-backup"])
        .arg(&conf)
        .arg(&dest)
        .arg("0")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = Command::new("sha256sum")
        .args(["-c", "--quiet", "MANIFEST.sha256"])
        .current_dir(&dest)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    (dest, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A txn log in ZooKeeper's format: header, then per txn crc (8 bytes),
/// length (4, big-endian), the txn, 'B'.
fn records(txns: &[&[u8]]) -> Vec<u8> {
    let mut v = b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0".to_vec();
    for t in txns {
        v.extend(7u64.to_be_bytes());
        v.extend((t.len() as u32).to_be_bytes());
        v.extend(*t);
        v.push(b'B');
    }
    v
}

#[test]
fn a_txn_log_in_zookeepers_format_is_cut_after_its_last_record() {
    let dir = tempfile::tempdir().unwrap();
    // A txn ending in zeros: the record still ends in its 'B'.
    let written = records(&[b"create /a", b"set /a \0\0\0\0"]);
    let dest = back_up(dir.path(), &[("log.6", written.clone())]);
    assert_eq!(fs::read(dest.join("version-2/log.6")).unwrap(), written);
}

#[test]
fn a_locale_the_host_lacks_does_not_stop_the_cut() {
    // Over SSH a client's LANG/LC_* reach the host (Debian's ssh_config
    // sends them, sshd accepts them); one the host lacks makes perl warn.
    let dir = tempfile::tempdir().unwrap();
    let written = records(&[b"create /a"]);
    let (dest, said) = back_up_with(
        dir.path(),
        &[("log.6", written.clone())],
        None,
        &[("LC_ALL", "xx_YY.UTF-8"), ("LANG", "xx_YY.UTF-8")],
    );
    assert_eq!(
        fs::read(dest.join("version-2/log.6")).unwrap(),
        written,
        "{said}"
    );
}

#[test]
fn without_perl_a_txn_log_is_copied_whole_and_the_log_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let perl = bin.join("perl");
    fs::write(&perl, "#!/bin/sh\necho 'perl: not here' >&2\nexit 127\n").unwrap();
    let mut mode = fs::metadata(&perl).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    fs::set_permissions(&perl, mode).unwrap();
    let (dest, said) = back_up_with(
        dir.path(),
        &[("log.6", records(&[b"create /a"]))],
        Some(&bin),
        &[],
    );
    assert_eq!(
        fs::metadata(dest.join("version-2/log.6")).unwrap().len(),
        64 * MIB
    );
    assert!(said.contains("whole: perl: not here"), "{said}");
}

#[test]
fn a_txn_log_shorter_than_its_header_is_left_out_and_one_of_zeros_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data/version-2");
    fs::create_dir_all(&data).unwrap();
    // Caught as ZooKeeper created it: no header yet.
    fs::write(data.join("log.9"), b"ZKL").unwrap();
    let (dest, said) = back_up_with(dir.path(), &[("log.6", vec![])], None, &[]);
    assert!(!dest.join("version-2/log.9").exists());
    assert!(said.contains("log.9: 3 bytes"), "{said}");
    // Nothing but a hole: ZooKeeper cannot read it either; its first
    // 16 bytes are kept, so the copy fails the same way.
    assert_eq!(fs::read(dest.join("version-2/log.6")).unwrap(), [0; 16]);
}

#[test]
fn a_txn_log_is_copied_up_to_its_last_written_byte_with_its_zeros_inside() {
    let dir = tempfile::tempdir().unwrap();
    // Header, a record, a run of zeros inside the written part (a znode
    // holding zeros), the last record ending in its 'B'.
    let mut written = b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0rec1".to_vec();
    written.extend(std::iter::repeat_n(0u8, (MIB + 5) as usize));
    written.extend(b"rec2\0\0B");
    let header_only = b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0".to_vec();
    let dest = back_up(
        dir.path(),
        &[
            ("log.3", b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0old".to_vec()),
            ("log.6", written.clone()),
            ("log.9", header_only.clone()),
        ],
    );
    let copied = |name: &str| fs::read(dest.join("version-2").join(name)).unwrap();
    assert_eq!(copied("log.6"), written);
    // The header stays whole even though its dbid is zeros.
    assert_eq!(copied("log.9"), header_only);
    assert_eq!(copied("log.3"), b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0old");
    // Mode and mtime as the original's (cp -p).
    let (a, b) = (
        fs::metadata(dir.path().join("data/version-2/log.6")).unwrap(),
        fs::metadata(dest.join("version-2/log.6")).unwrap(),
    );
    assert_eq!((a.mode(), a.mtime()), (b.mode(), b.mtime()));
    // The backup is its owner's only: a snapshot holds every znode.
    assert_eq!(fs::metadata(&dest).unwrap().mode() & 0o777, 0o700);
    // The snapshot is copied whole.
    assert_eq!(copied("snapshot.5"), b"snap\0\0\0\x01/");
}

#[test]
fn a_txn_log_without_holes_is_cut_where_its_zeros_begin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("plain");
    fs::create_dir_all(&data).unwrap();
    // Zeros written out (a filesystem without holes, or a copy made by a
    // tool that fills them): the same cut.
    let mut bytes = b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\x07rec\0B".to_vec();
    let written = bytes.len();
    bytes.resize((3 * MIB) as usize, 0);
    let log = data.join("log.1");
    fs::write(&log, &bytes).unwrap();
    let out = Command::new("sh")
        .args(["-c", &format!("{}\nlog_end \"$1\"", log_end_fn()), "t"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        written.to_string()
    );
}

/// The `log_end` function, cut out of the script.
fn log_end_fn() -> &'static str {
    let s = zkrun::tasks::backup::BACKUP;
    let a = s.find("log_end() {").unwrap();
    let b = a + s[a..].find("\n}\n").unwrap() + 2;
    &s[a..b]
}

//! The state file on disk: where it lives, reading it without trusting
//! it, writing it atomically, archiving it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{FORMAT, State};
use crate::clock::now;

/// Where the state of a (playbook, inventory) pair lives by default.
pub fn default_path(dir: &Path, playbook: &Path, inventory: &[String]) -> PathBuf {
    let abs = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut h = Sha256::new();
    h.update(abs(playbook).to_string_lossy().as_bytes());
    for source in inventory {
        h.update([0]);
        h.update(abs(Path::new(source)).to_string_lossy().as_bytes());
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let stem = playbook
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    dir.join(format!("{stem}-{hex}.json"))
}

/// A state file is small: a run of thousands of hosts writes a few MiB.
pub(super) const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a state file, with its journal replayed: None when there is none;
/// an error that says what is wrong when it cannot be trusted.
pub fn load(path: &Path) -> Result<Option<State>, String> {
    // Only a regular file of sane size: a FIFO or /dev/zero given as
    // `--state` must not hang zkrun or eat its memory.
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return Err(format!(
                "the state file {} is not a regular file",
                path.display()
            ));
        }
        Ok(m) if m.len() > MAX_STATE_BYTES => {
            return Err(format!(
                "the state file {} is {} MiB, larger than any state zkrun writes",
                path.display(),
                m.len() / (1024 * 1024)
            ));
        }
        _ => {}
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read the state file {}: {e}",
                path.display()
            ));
        }
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "the state file {} is truncated or corrupt ({e}); zkrun will not guess where the last run stopped",
            path.display()
        )
    })?;
    let format = value.get("format").and_then(|f| f.as_u64()).unwrap_or(0);
    if format > u64::from(FORMAT) {
        return Err(format!(
            "the state file {} was written by a newer zkrun (format {format}, this one reads {FORMAT}); resume with that version",
            path.display()
        ));
    }
    let mut state: State = serde_json::from_value(value).map_err(|e| {
        format!(
            "the state file {} is not a zkrun state ({e})",
            path.display()
        )
    })?;
    super::journal::replay(path, &mut state)?;
    // The run id becomes part of backup and log paths; the order is the
    // hosts the run restarts one by one: neither may be forged into
    // something else.
    crate::clock::check_run_id(&state.run_id)
        .map_err(|m| format!("the state file {}: {m}", path.display()))?;
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = state.order.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(format!(
            "the state file {} names host `{dup}` twice in its rolling order; it was not written by zkrun",
            path.display()
        ));
    }
    Ok(Some(state))
}

/// Writes the state atomically: temp file, fsync, rename, fsync the directory.
/// `O_NOFOLLOW` (Linux): open fails on a symlink.
pub(crate) const O_NOFOLLOW: i32 = 0o400000;

pub fn save(path: &Path, state: &State) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A name no one can guess or plant beforehand, created new (O_EXCL)
    // and never through a symlink (O_NOFOLLOW).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = dir.join(format!(
        ".{}.{}.{nanos:x}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let bytes = serde_json::to_vec_pretty(state).expect("state serializes");
    let bytes = crate::scrub::bytes(&bytes).into_owned();
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!(
            "cannot write the state file {} ({e}); the previous state is intact",
            path.display()
        )
    })
}

/// Moves a finished or abandoned state aside (`--fresh`).
pub fn archive(path: &Path) -> Result<PathBuf, String> {
    // The archive holds what the journal adds: fold it in first.
    if super::journal::path(path).exists() {
        if let Some(state) = load(path)? {
            save(path, &state)?;
        }
        let _ = fs::remove_file(super::journal::path(path));
    }
    let to = path.with_extension(format!("json.{}", now()));
    fs::rename(path, &to).map_err(|e| format!("cannot archive {}: {e}", path.display()))?;
    Ok(to)
}

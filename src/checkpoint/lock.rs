//! One run at a time: an exclusive flock on `<state>.lock`, naming its
//! holder, taken over when the holder is gone.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::clock::now;

/// The exclusive lock of a run; released when dropped or when the process dies.
pub struct Lock {
    file: File,
    /// Set when the previous holder died without releasing cleanly.
    pub took_over: Option<String>,
}

impl Lock {
    pub fn acquire(state: &Path) -> Result<Lock, String> {
        let path = state.with_extension("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(crate::checkpoint::store::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| format!("cannot open the lock {}: {e}", path.display()))?;
        let holder = fs::read_to_string(&path).unwrap_or_default();
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "another zkrun is running this playbook on this inventory: {}",
                    if holder.trim().is_empty() {
                        "holder unknown".to_string()
                    } else {
                        holder.trim().to_string()
                    }
                ));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
        let took_over = (!holder.trim().is_empty()).then(|| holder.trim().to_string());
        let me = format!(
            "pid {} on {} (user {}) since {}",
            std::process::id(),
            fs::read_to_string("/proc/sys/kernel/hostname")
                .unwrap_or_default()
                .trim(),
            user(),
            crate::clock::utc(now())
        );
        file.set_len(0).ok();
        file.write_all(me.as_bytes()).ok();
        file.sync_all().ok();
        Ok(Lock { file, took_over })
    }
}

/// The login name, or the uid when the environment does not say.
fn user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
            let uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next())
                .unwrap_or("?");
            format!("uid {uid}")
        })
}

impl Drop for Lock {
    fn drop(&mut self) {
        // An empty lock file means "released cleanly".
        let _ = self.file.set_len(0);
    }
}

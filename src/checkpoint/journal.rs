//! The journal beside a state file: the changes of the running run, one
//! JSON line each, appended and made durable in groups.
//!
//! Why a journal and not the whole state at every step: a rewrite is a new
//! file, its fsync, a rename and the directory's fsync (0.4 ms for a 20 KB
//! state on this machine's ext4), and blocks every host while it happens.
//! An append is one write and one fdatasync (0.13 ms), runs off the async
//! runtime, and one of them covers the changes of every host that asked
//! meanwhile (group commit).
//!
//! What a crash leaves: the state as written at the start, and the journal
//! up to its last completed fdatasync, perhaps with a torn line after it.
//! A torn tail was never acknowledged, so no step waited for it: it is
//! left out on replay. An unreadable line followed by readable ones is not
//! a torn tail: the journal is refused as corrupt.

use std::cell::{Cell, RefCell};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::store::O_NOFOLLOW;
use super::{Entry, State};

/// `<state>.journal`.
pub fn path(state: &Path) -> PathBuf {
    let mut p = state.as_os_str().to_owned();
    p.push(".journal");
    PathBuf::from(p)
}

/// Applies the journal beside `state_path`, if any, to the state read from it.
pub(super) fn replay(state_path: &Path, state: &mut State) -> Result<(), String> {
    let p = path(state_path);
    let bytes = match fs::symlink_metadata(&p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Ok(m) if !m.is_file() => {
            return Err(format!("the journal {} is not a regular file", p.display()));
        }
        Ok(m) if m.len() > super::store::MAX_STATE_BYTES => {
            return Err(format!(
                "the journal {} is {} MiB, larger than any run writes",
                p.display(),
                m.len() / (1024 * 1024)
            ));
        }
        _ => fs::read(&p).map_err(|e| format!("cannot read the journal {}: {e}", p.display()))?,
    };
    let mut lines = bytes.split_inclusive(|b| *b == b'\n');
    // Another run's journal (or one torn before its header was whole)
    // holds nothing of this state's run.
    match lines.next().map(serde_json::from_slice::<Header>) {
        Some(Ok(h)) if h.run_id == state.run_id => {}
        _ => return Ok(()),
    }
    let mut torn: Option<usize> = None;
    for (n, line) in lines.by_ref().enumerate() {
        let whole = line.ends_with(b"\n");
        match serde_json::from_slice::<Entry>(line) {
            // Entries follow each other: one already in the state is
            // skipped; a gap means a lost write, not a torn tail.
            Ok(entry) if whole && entry.seq <= state.seq + 1 => state.apply(&entry),
            Ok(entry) if whole => {
                return Err(format!(
                    "the journal {} skips from change {} to {} at line {}; zkrun will not guess where the last run stopped",
                    p.display(),
                    state.seq,
                    entry.seq,
                    n + 2
                ));
            }
            _ => {
                torn = Some(n + 2);
                break;
            }
        }
    }
    if let Some(n) = torn
        && lines.any(|l| serde_json::from_slice::<Entry>(l).is_ok())
    {
        return Err(format!(
            "the journal {} is corrupt at line {n} (readable lines follow it); zkrun will not guess where the last run stopped",
            p.display()
        ));
    }
    Ok(())
}

/// The journal being written, with the changes queued for its next write.
pub struct Journal {
    file: Arc<File>,
    path: PathBuf,
    queued: RefCell<Vec<u8>>,
    /// Batches queued so far, and how many of them are on disk.
    batches: Cell<u64>,
    durable: Cell<u64>,
    /// One write and fdatasync at a time; those who wait for it meanwhile
    /// are covered by the next one.
    writer: tokio::sync::Mutex<()>,
    /// The first write that failed: every later one fails with it.
    failed: RefCell<Option<String>>,
}

/// The journal's first line: whose run it records. A journal left by
/// another run (a crash between a fresh run's first save and the old
/// journal's removal) is not replayed into this one.
#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    run_id: String,
}

impl Journal {
    /// An empty journal of run `run_id` beside the state file. Call it
    /// after the state was saved whole: an earlier journal, already in that
    /// state (or another run's), is removed.
    pub fn create(state_path: &Path, run_id: &str) -> Result<Journal, String> {
        let p = path(state_path);
        let io = |e: std::io::Error| format!("cannot create the journal {}: {e}", p.display());
        match fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        let mut file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(O_NOFOLLOW)
            .open(&p)
            .map_err(io)?;
        let mut header = serde_json::to_vec(&Header {
            run_id: run_id.to_string(),
        })
        .expect("plain data serializes");
        header.push(b'\n');
        file.write_all(&header).map_err(io)?;
        file.sync_data().map_err(io)?;
        // The journal's name must survive a crash as well as its lines.
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(Journal {
            file: Arc::new(file),
            path: p,
            queued: RefCell::new(Vec::new()),
            batches: Cell::new(0),
            durable: Cell::new(0),
            writer: tokio::sync::Mutex::new(()),
            failed: RefCell::new(None),
        })
    }

    /// Queues entries for the next write (not yet on disk); returns their
    /// batch, durable once `durable_batches()` reaches it (0: nothing queued).
    pub fn queue(&self, entries: &[Entry]) -> u64 {
        if entries.is_empty() {
            return 0;
        }
        let mut q = self.queued.borrow_mut();
        for e in entries {
            serde_json::to_writer(&mut *q, e).expect("plain data serializes");
            q.push(b'\n');
        }
        self.batches.set(self.batches.get() + 1);
        self.batches.get()
    }

    /// How many batches are on disk.
    pub fn durable_batches(&self) -> u64 {
        self.durable.get()
    }

    /// Returns once everything queued before the call is on disk: one write
    /// and fdatasync, off the runtime, for all that was queued meanwhile.
    pub async fn durable(&self) -> Result<(), String> {
        let mine = self.batches.get();
        let _writer = self.writer.lock().await;
        if self.durable.get() >= mine {
            return Ok(());
        }
        // After a failed write, what is on disk is unknown (half a line?):
        // nothing more is appended, and nothing more is acknowledged.
        if let Some(e) = self.failed.borrow().as_ref() {
            return Err(e.clone());
        }
        let upto = self.batches.get();
        let bytes = crate::scrub::bytes(&self.queued.take()).into_owned();
        let file = self.file.clone();
        let written = tokio::task::spawn_blocking(move || {
            (&*file).write_all(&bytes)?;
            file.sync_data()
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        if let Err(e) = written {
            let e = format!(
                "cannot write the journal {} ({e}); what the run did since its last write is not recorded",
                self.path.display()
            );
            *self.failed.borrow_mut() = Some(e.clone());
            return Err(e);
        }
        self.durable.set(upto);
        Ok(())
    }

    /// Everything queued is in the state file, saved whole: the journal goes.
    pub fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Change, Phase, State, load, save};
    use super::*;

    fn state() -> State {
        let mut s: State = serde_json::from_value(serde_json::json!({
            "format": 1, "zkrun": "0", "run_id": "20261130T000000-abcd", "fingerprint": "x",
            "playbook": "p", "inventory": "i", "started": 1, "updated": 1, "finished": false,
            "order": ["zk1", "zk2", "zk3"], "steps": {}, "decisions": []
        }))
        .unwrap();
        s.seq = 0;
        s
    }

    fn step(seq: u64, key: &str, phase: Phase) -> Entry {
        Entry {
            seq,
            at: 100 + seq,
            change: Change::Step {
                key: key.into(),
                phase,
            },
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_state_reads_back_with_its_journal_replayed_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let mut s = state();
        save(&p, &s).unwrap();
        let j = Journal::create(&p, &s.run_id).unwrap();
        let a = [step(1, "zk1/stop", Phase::Running)];
        s.apply(&a[0]);
        j.queue(&a);
        let b = [
            step(2, "zk1/stop", Phase::Done),
            Entry {
                seq: 3,
                at: 103,
                change: Change::Decision {
                    text: "leader zk1 moved last".into(),
                },
            },
        ];
        for e in &b {
            s.apply(e);
        }
        j.queue(&b);
        j.durable().await.unwrap();
        assert_eq!(load(&p).unwrap().unwrap(), s);
        // Saved whole with the journal still there (a crash before it was
        // removed): its entries are not applied twice.
        save(&p, &s).unwrap();
        assert_eq!(load(&p).unwrap().unwrap().decisions.len(), 1);
        j.remove();
        assert!(!path(&p).exists());
    }

    #[test]
    fn a_torn_tail_is_left_out_and_a_corrupt_middle_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        save(&p, &state()).unwrap();
        let line = |e: &Entry| format!("{}\n", serde_json::to_string(e).unwrap());
        let header = "{\"run_id\":\"20261130T000000-abcd\"}\n";
        let one = line(&step(1, "zk1/stop", Phase::Running));
        let two = line(&step(2, "zk1/stop", Phase::Done));
        for torn in [&two[..two.len() - 1], &two[..10], "\0\0\0\0"] {
            fs::write(path(&p), format!("{header}{one}{torn}")).unwrap();
            let s = load(&p).unwrap().unwrap();
            assert_eq!(s.steps["zk1/stop"].phase, Phase::Running, "{torn:?}");
            assert_eq!(s.seq, 1);
        }
        fs::write(path(&p), format!("{header}{one}garbage\n{two}")).unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("corrupt at line 3"), "{e}");
        // A lost write between two that were made.
        let three = line(&step(3, "zk2/stop", Phase::Running));
        fs::write(path(&p), format!("{header}{one}{three}")).unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("skips from change 1 to 3"), "{e}");
        // Another run's journal is not this one's.
        fs::write(path(&p), format!("{{\"run_id\":\"other\"}}\n{one}{two}")).unwrap();
        assert_eq!(load(&p).unwrap().unwrap().seq, 0);
    }
}

//! What the ERROR lines a server logged since its start mean: which are a
//! reason to stop the roll, and which ZooKeeper writes in normal operation.
//!
//! The host filters its log (or the unit's journal) with `FILTER`, a small
//! awk program, so that only a summary crosses the connection however many
//! lines a start wrote; `judge` reads that summary here.

/// An awk program over log lines (on stdin) that prints the ERROR lines
/// worth judging, the last 20 of them, and these markers (see `judge`):
/// - `zkrun-replayed COUNT FIRST LAST HIGHEST`: transactions replayed a
///   second time at start (decimal zxids, for the note only);
/// - `zkrun-digest-on-replay ZXID`: a digest mismatch on one of those;
/// - `zkrun-rc N`: the exit status of the command that fed it, when that
///   command appended its own `zkrun-rc N` line (journalctl does);
/// - `zkrun-end`: the program ran to its end. Without it the filter did
///   not run (no awk, a syntax it refused), and nothing was checked.
///
/// - `zkrun-peer-gone SID LINE`: the connection to peer SID closed under
///   a message (`QuorumCnxManager$SendWorker`, "Failed to send last
///   message", at ERROR): a peer restarting does that.
///
/// Left out at once: "Exiting JVM with code 0". ZooKeeper logs every JVM
/// exit at ERROR, a clean one too, and on Debian each zkCli read writes one
/// into the same log (`ServiceUtils.requestSystemExit`).
///
/// Written for every awk Debian has shipped (mawk 1.3.3 has no `[[:space:]]`):
/// blanks are `[ \t]`. Replayed zxids are kept as text, compared exactly.
/// ZooKeeper 3.4 spells the replay line "higestZxid".
pub const FILTER: &str = r#"
/^zkrun-rc [0-9]+$/ { rc = $2; next }
/[0-9]+\(high?estZxid\) > [0-9]+\(next log\) for type/ {
    if ($0 !~ /(^|[ \t])ERROR[ \t]/) next
    h = $0; sub(/\(hig.*/, "", h); sub(/.*[^0-9]/, "", h)
    n = $0; sub(/\(next log\).*/, "", n); sub(/.*[^0-9]/, "", n)
    replayed[n] = 1
    if (count == 0 || n + 0 < first + 0) first = n
    if (count == 0 || n + 0 > last + 0) last = n
    if (h + 0 > highest + 0) highest = h
    count++
    next
}
/First digest mismatch on txn: / || /Digests are not matching\. Value is Zxid\. Value:/ {
    z = $0
    if (z ~ /First digest mismatch/) { sub(/.*First digest mismatch on txn: [^,]*,[^,]*,/, "", z); sub(/,.*/, "", z) }
    else { sub(/.*Value:/, "", z); sub(/[^0-9].*/, "", z) }
    if (z in replayed) { print "zkrun-digest-on-replay " z; next }
    kept[total % 20] = $0; total++
    next
}
!/(^|[ \t])ERROR[ \t]/ { next }
/Exiting JVM with code 0$/ { next }
/\[SendWorker:[0-9]+:QuorumCnxManager/ && /Failed to send last message/ {
    s = $0; sub(/.*\[SendWorker:/, "", s); sub(/:.*/, "", s)
    print "zkrun-peer-gone " s " " $0
    next
}
{ kept[total % 20] = $0; total++ }
END {
    from = total > 20 ? total - 20 : 0
    for (i = from; i < total; i++) print kept[i % 20]
    if (count > 0) print "zkrun-replayed " count " " first " " last " " highest
    if (rc != "") print "zkrun-rc " rc
    print "zkrun-end"
}
"#;

/// Transactions a start replayed a second time (zxids, for the note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub count: u64,
    pub first: u64,
    pub last: u64,
    pub highest: u64,
}

/// The verdict on a start's ERROR lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Judged {
    /// Lines that stop the roll (and, when the log could not be read in
    /// full, a line that says so).
    pub errors: Vec<String>,
    /// Transactions replayed a second time at start, when there were any.
    pub replayed: Option<Replayed>,
    /// The zxid of a digest mismatch that the replay explains.
    pub digest_on_replay: Option<u64>,
    /// Connections to peers that closed (their server id, the line): for
    /// the caller to judge, who knows which peers restarted meanwhile.
    pub peers_gone: Vec<(u32, String)>,
}

/// Judges `FILTER`'s output; `what` names the log in a failure to read it.
///
/// At start a node replays its transaction log over its newest snapshot
/// (`FileTxnSnapLog.fastForwardFromEdits`, 3.8). The log may hold
/// transactions the snapshot already has, or the same transactions twice
/// (a fuzzy snapshot; a log written again after a DIFF sync): ZooKeeper
/// logs each at ERROR ("N(highestZxid) > M(next log) for type T") and
/// applies it again, which leaves the tree as it was. Its digest check
/// (`DataTree.compareDigest`, on since 3.6) then compares the digest logged
/// with the transaction against a tree that already held it: "First digest
/// mismatch on txn: session,cxid,zxid,time,type" at ERROR, once per JVM,
/// and "Digests are not matching. Value is Zxid. Value:Z" at WARN for each
/// later one. For a zxid that was replayed that is the replay, not a
/// divergence; a mismatch on any other zxid, at either level, is an error,
/// as is every other ERROR line.
pub fn judge(output: &str, what: &str) -> Judged {
    let mut judged = Judged::default();
    let mut ended = false;
    for line in output.lines() {
        if let Some(summary) = line.strip_prefix("zkrun-replayed ") {
            judged.replayed = parse_replayed(summary);
        } else if let Some((sid, line)) = line
            .strip_prefix("zkrun-peer-gone ")
            .and_then(|l| l.split_once(' '))
            .and_then(|(sid, l)| Some((sid.parse().ok()?, l)))
        {
            judged.peers_gone.push((sid, line.to_string()));
        } else if let Some(z) = line.strip_prefix("zkrun-digest-on-replay ") {
            judged.digest_on_replay = judged.digest_on_replay.or(z.trim().parse().ok());
        } else if let Some(rc) = line.strip_prefix("zkrun-rc ") {
            if rc.trim() != "0" {
                judged.errors.push(format!(
                    "(reading {what} failed with exit {}: nothing in it was checked)",
                    rc.trim()
                ));
            }
        } else if line == "zkrun-end" {
            ended = true;
        } else if !line.trim().is_empty() {
            judged.errors.push(line.to_string());
        }
    }
    if !ended {
        judged.errors.push(format!(
            "(the filter over {what} did not run to its end: nothing in it was checked)"
        ));
    }
    judged
}

fn parse_replayed(summary: &str) -> Option<Replayed> {
    let mut n = summary.split_whitespace().map(|w| w.parse::<u64>().ok());
    Some(Replayed {
        count: n.next()??,
        first: n.next()??,
        last: n.next()??,
        highest: n.next()??,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FILTER as the host's awk runs it.
    fn filter(log: &str) -> String {
        let out = std::process::Command::new("sh")
            .args(["-c", r#"printf '%s' "$0" | awk "$1""#, log, FILTER])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A start on the testbed under a client writing 50/s (ZooKeeper 3.8.0):
    /// the log replayed 0x500000001.. again after reaching 0x500000069.
    const REPLAY_START: &str = "\
2026-11-30 07:22:34,601 - INFO  [main:FileSnap@85] - Reading snapshot /var/lib/zookeeper/version-2/snapshot.300000201
2026-11-30 07:22:34,670 - ERROR [main:FileTxnSnapLog@345] - 21474836585(highestZxid) > 21474836481(next log) for type 1
2026-11-30 07:22:34,672 - WARN  [main:RateLogger@87] - Message:Digests are not matching. Value is Zxid. Value:21474836481
2026-11-30 07:22:34,673 - ERROR [main:DataTree@1818] - First digest mismatch on txn: 144116387554590720,442,21474836481,1796023272191,1
, '/zkrun-bench-w/w-0000001952,#78,v{s{31,s{'world,'anyone}}},F,1953
, expected digest is 2,4393237412099
, actual digest is 4631438594909, 
2026-11-30 07:22:34,673 - ERROR [main:FileTxnSnapLog@345] - 21474836585(highestZxid) > 21474836482(next log) for type 1
2026-11-30 07:22:34,673 - ERROR [main:FileTxnSnapLog@345] - 21474836585(highestZxid) > 21474836483(next log) for type 1
2026-11-30 07:22:35,001 - ERROR [main:ServiceUtils@42] - Exiting JVM with code 0
";

    #[test]
    fn a_digest_mismatch_inside_the_replayed_run_is_the_replay() {
        let out = filter(REPLAY_START);
        let judged = judge(&out, "the log");
        assert_eq!(judged.errors, Vec::<String>::new(), "{out}");
        assert_eq!(
            judged.replayed,
            Some(Replayed {
                count: 3,
                first: 21474836481,
                last: 21474836483,
                highest: 21474836585
            })
        );
        assert_eq!(judged.digest_on_replay, Some(21474836481));
    }

    #[test]
    fn a_digest_mismatch_outside_it_and_other_errors_stay_errors() {
        let log = format!(
            "{REPLAY_START}\
2026-11-30 07:22:36,000 - ERROR [CommitProcessor:2:DataTree@1818] - First digest mismatch on txn: 1,2,21474836700,3,1
2026-11-30 07:22:36,100 - ERROR [QuorumPeer[myid=2]:QuorumPeer@1180] - Unable to load database on disk
2026-11-30 07:22:36,200 - ERROR [main:ServiceUtils@42] - Exiting JVM with code 1
"
        );
        let judged = judge(&filter(&log), "the log");
        let tails: Vec<&str> = judged
            .errors
            .iter()
            .map(|l| &l[l.rfind(" - ").unwrap() + 3..])
            .collect();
        assert_eq!(
            tails,
            [
                "First digest mismatch on txn: 1,2,21474836700,3,1",
                "Unable to load database on disk",
                "Exiting JVM with code 1"
            ]
        );
    }

    #[test]
    fn without_a_replay_a_digest_mismatch_is_an_error() {
        let log = "2026-11-30 07:22:36,000 - ERROR [main:DataTree@1818] - First digest mismatch on txn: 1,2,21474836481,3,1\n";
        let judged = judge(&filter(log), "the log");
        assert_eq!(judged.errors.len(), 1);
        assert_eq!(judged.replayed, None);
    }

    /// Seen on a serial-2 roll: the node restarted with zk1 and logged its
    /// connection to server 1 closing. The caller judges it by the batch.
    #[test]
    fn a_closed_peer_connection_is_told_apart_with_its_server_id() {
        let line = "2026-11-30 10:26:06,192 - ERROR [SendWorker:1:QuorumCnxManager$SendWorker@1265] - Failed to send last message. Shutting down thread.";
        let other = "2026-11-30 10:26:06,300 - ERROR [main:QuorumPeer@1] - something else";
        let judged = judge(&filter(&format!("{line}\n{other}\n")), "the log");
        assert_eq!(judged.peers_gone, [(1, line.to_string())]);
        assert_eq!(judged.errors, [other.to_string()]);
    }

    #[test]
    fn only_the_last_twenty_errors_cross_the_connection() {
        let log: String = (0..50)
            .map(|i| format!("2026-11-30 07:22:36,000 - ERROR [x] - failure {i}\n"))
            .collect();
        let judged = judge(&filter(&log), "the log");
        assert_eq!(judged.errors.len(), 20);
        assert!(judged.errors[19].ends_with("failure 49"));
        assert!(judged.errors[0].ends_with("failure 30"));
    }

    #[test]
    fn a_mismatch_between_two_replayed_runs_is_no_replay() {
        let log = "\
2026-11-30 07:22:34,670 - ERROR [main:FileTxnSnapLog@345] - 12884901904(highestZxid) > 12884901893(next log) for type 1
2026-11-30 07:22:34,670 - ERROR [main:FileTxnSnapLog@345] - 21474836585(highestZxid) > 21474836481(next log) for type 1
2026-11-30 07:22:34,673 - ERROR [main:DataTree@1818] - First digest mismatch on txn: 1,2,17179869216,3,1
";
        let judged = judge(&filter(log), "the log");
        assert_eq!(judged.errors.len(), 1, "{judged:?}");
        assert_eq!(judged.digest_on_replay, None);
    }

    /// After the first mismatch ZooKeeper logs later ones at WARN only.
    #[test]
    fn later_mismatches_logged_at_warn_are_judged_too() {
        let log = format!(
            "{REPLAY_START}\
2026-11-30 07:22:34,674 - WARN  [main:RateLogger@87] - Message:Digests are not matching. Value is Zxid. Value:21474836482
2026-11-30 07:22:40,000 - WARN  [CommitProcessor:2:RateLogger@87] - Message:Digests are not matching. Value is Zxid. Value:21474836999
"
        );
        let judged = judge(&filter(&log), "the log");
        assert_eq!(judged.errors.len(), 1, "{judged:?}");
        assert!(judged.errors[0].ends_with("Value:21474836999"));
    }

    #[test]
    fn zookeeper_3_4_spells_the_replay_line_its_own_way() {
        let log = "2026-11-30 07:22:34,670 - ERROR [main:FileTxnSnapLog@240] - 5(higestZxid) > 3(next log) for type 1\n";
        let judged = judge(&filter(log), "the log");
        assert!(judged.errors.is_empty(), "{judged:?}");
        assert_eq!(judged.replayed.map(|r| r.count), Some(1));
    }

    #[test]
    fn a_log_that_was_not_read_in_full_is_an_error() {
        // The filter never ran: no end marker.
        let judged = judge("", "the journal of zookeeper.service");
        assert_eq!(
            judged.errors,
            [
                "(the filter over the journal of zookeeper.service did not run to its end: nothing in it was checked)"
            ]
        );
        // The command feeding it failed (journalctl refusing a cursor).
        let judged = judge(&filter("zkrun-rc 1\n"), "the journal of zookeeper.service");
        assert_eq!(
            judged.errors,
            [
                "(reading the journal of zookeeper.service failed with exit 1: nothing in it was checked)"
            ]
        );
        assert!(judge(&filter("zkrun-rc 0\n"), "x").errors.is_empty());
    }
}

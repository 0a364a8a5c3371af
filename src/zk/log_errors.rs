//! What the ERROR lines a server logged since its start mean: which are a
//! reason to stop the roll, and which ZooKeeper writes in normal operation.
//!
//! The host filters its log (or the unit's journal) with `FILTER`, a small
//! awk program, so that only a summary crosses the connection however many
//! lines a start wrote; `judge` reads that summary here.

/// An awk program over log lines (on stdin) that prints the ERROR lines
/// worth judging, the last `KEPT` of them, and one summary line for the
/// transactions replayed a second time at start (see `judge`):
/// `zkrun-replayed COUNT FIRST LAST HIGHEST` (decimal zxids).
///
/// Left out at once: "Exiting JVM with code 0". ZooKeeper logs every JVM
/// exit at ERROR, a clean one too, and on Debian each zkCli read writes one
/// into the same log (`ServiceUtils.requestSystemExit`).
///
/// awk compares zxids as doubles: exact up to 2^53, an epoch of 2^21.
pub const FILTER: &str = r#"
!/(^|[[:space:]])ERROR[[:space:]]/ { next }
/Exiting JVM with code 0$/ { next }
/[0-9]+\(highestZxid\) > [0-9]+\(next log\) for type/ {
    h = $0; sub(/\(highestZxid\).*/, "", h); sub(/.*[^0-9]/, "", h)
    n = $0; sub(/\(next log\).*/, "", n); sub(/.*[^0-9]/, "", n)
    h += 0; n += 0
    if (count == 0 || n < first) first = n
    if (count == 0 || n > last) last = n
    if (h > highest) highest = h
    count++
    next
}
{ kept[total % 20] = $0; total++ }
END {
    from = total > 20 ? total - 20 : 0
    for (i = from; i < total; i++) print kept[i % 20]
    if (count > 0) printf "zkrun-replayed %d %.0f %.0f %.0f\n", count, first, last, highest
}
"#;

/// The marker of `FILTER`'s summary line.
const REPLAYED: &str = "zkrun-replayed ";

/// Transactions a start replayed a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    pub count: u64,
    pub first: u64,
    pub last: u64,
    pub highest: u64,
}

/// The verdict on a start's ERROR lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Judged {
    /// Lines that stop the roll.
    pub errors: Vec<String>,
    /// Transactions replayed a second time at start, when there were any.
    pub replayed: Option<Replayed>,
    /// The zxid of a digest mismatch that the replay explains.
    pub digest_on_replay: Option<u64>,
}

/// Judges `FILTER`'s output.
///
/// At start a node replays its transaction log over its newest snapshot
/// (`FileTxnSnapLog.fastForwardFromEdits`, 3.8). The log may hold
/// transactions the snapshot already has, or the same transactions twice
/// (a fuzzy snapshot; a log written again after a DIFF sync): ZooKeeper
/// logs each at ERROR ("N(highestZxid) > M(next log) for type T") and
/// applies it again, which leaves the tree as it was. Its digest check
/// (`DataTree.compareDigest`, on since 3.6) then compares the digest logged
/// with the transaction against a tree that already held it, and logs
/// "First digest mismatch on txn: session,cxid,zxid,time,type": for a zxid
/// inside the replayed run that is the replay, not a divergence. A digest
/// mismatch on any other transaction, and every other ERROR line, stays an
/// error.
pub fn judge(output: &str) -> Judged {
    let mut judged = Judged::default();
    let mut mismatches = Vec::new();
    for line in output.lines() {
        if let Some(summary) = line.strip_prefix(REPLAYED) {
            judged.replayed = parse_replayed(summary);
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        mismatches.push((line.to_string(), digest_mismatch_zxid(line)));
    }
    for (line, zxid) in mismatches {
        match (zxid, judged.replayed) {
            (Some(z), Some(r)) if (r.first..=r.last).contains(&z) && z <= r.highest => {
                judged.digest_on_replay = Some(z);
            }
            _ => judged.errors.push(line),
        }
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

/// The zxid of "First digest mismatch on txn: session,cxid,zxid,time,type".
fn digest_mismatch_zxid(line: &str) -> Option<u64> {
    let (_, rest) = line.split_once("First digest mismatch on txn: ")?;
    rest.split(',').nth(2)?.trim().parse().ok()
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
        let judged = judge(&out);
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
        let judged = judge(&filter(&log));
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
        let judged = judge(&filter(log));
        assert_eq!(judged.errors.len(), 1);
        assert_eq!(judged.replayed, None);
    }

    #[test]
    fn only_the_last_twenty_errors_cross_the_connection() {
        let log: String = (0..50)
            .map(|i| format!("2026-11-30 07:22:36,000 - ERROR [x] - failure {i}\n"))
            .collect();
        let judged = judge(&filter(&log));
        assert_eq!(judged.errors.len(), 20);
        assert!(judged.errors[19].ends_with("failure 49"));
        assert!(judged.errors[0].ends_with("failure 30"));
    }
}

//! What restarting the leader means for client sessions.

/// Unmeasured, an outage is not assumed small: data this large (znodes,
/// from `srvr`) makes a new leader's sync take seconds.
pub const LARGE_DATA_ZNODES: u64 = 100_000;

/// Unmeasured, sessions this short or shorter are at risk: a busy
/// ensemble's election and sync can take several seconds.
pub const SHORT_SESSION_MS: u64 = 10_000;

/// Restarting the leader leaves every client of the ensemble without a
/// server for an election. A session whose timeout is not well above that
/// may expire, and its ephemeral nodes (locks, registrations) vanish.
/// `measured_outage_ms`: the leader's worst leader-unavailable time from
/// `mntr`, None when `mntr` is not answered; `znodes`: the leader's `srvr`
/// node count. Returns the line to show and whether it is a warning.
pub fn session_check(
    bounds: (u64, u64),
    measured_outage_ms: Option<u64>,
    znodes: Option<u64>,
) -> (String, bool) {
    let (min, max) = bounds;
    let secs = |ms: u64| format!("{:.1}s", ms as f64 / 1000.0);
    let range = format!("client sessions may negotiate {}–{}", secs(min), secs(max));
    let Some(outage) = measured_outage_ms else {
        let data = znodes.map(|n| format!(", {n} znodes")).unwrap_or_default();
        let line = format!(
            "{range}; expected leader outage unknown (not measured by the leader's mntr{data})"
        );
        let large = znodes.is_some_and(|n| n >= LARGE_DATA_ZNODES);
        if large || min <= SHORT_SESSION_MS {
            let why = if large {
                "with this much data a new leader's sync can take seconds"
            } else {
                "a busy ensemble's election can take seconds"
            };
            return (
                format!(
                    "{line}: {why}, and sessions near {} may expire when the leader restarts; \
                     measure it: whitelist mntr (4lw.commands.whitelist) on a ZooKeeper that reports \
                     zk_max_leader_unavailable_time (3.6+), or time a leader restart in staging",
                    secs(min)
                ),
                true,
            );
        }
        return (line, false);
    };
    let line = format!(
        "{range}; expected leader outage {} (the leader's mntr, worst so far)",
        secs(outage)
    );
    if outage.saturating_mul(2) >= min {
        (
            format!(
                "{line}: clients with sessions near {} may expire when the leader restarts \
                 (their ephemeral nodes vanish); raise minSessionTimeout or the clients' timeouts",
                secs(min)
            ),
            true,
        )
    } else {
        (line, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_outage_near_the_smallest_session_is_a_warning() {
        let (line, warn) = session_check((4000, 40000), Some(334), None);
        assert!(!warn, "{line}");
        assert!(
            line.contains("4.0s–40.0s") && line.contains("0.3s"),
            "{line}"
        );
        let (line, warn) = session_check((4000, 40000), Some(2500), None);
        assert!(warn && line.contains("may expire"), "{line}");
        // Unmeasured is unknown, not small: short sessions or much data warn,
        // and the warning says how to measure.
        let (line, warn) = session_check((4000, 40000), None, Some(10));
        assert!(
            warn && line.contains("unknown") && line.contains("whitelist"),
            "{line}"
        );
        let (line, warn) = session_check((30000, 60000), None, Some(2_000_000));
        assert!(warn && line.contains("2000000 znodes"), "{line}");
        let (line, warn) = session_check((30000, 60000), None, Some(50));
        assert!(!warn && line.contains("unknown"), "{line}");
        // Hostile mntr values do not overflow.
        assert!(session_check((4000, 40000), Some(u64::MAX), None).1);
    }
}

//! Elections, counted from the leader's epoch.

/// Elections counted from the leader's epoch (the high 32 bits of its
/// zxid), which every successful election raises: unlike leader names, a
/// leader re-elected after losing its quorum still shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elections {
    pub before: u32,
    pub after: u32,
    pub count: u32,
    /// One per restart of the node that led at the time.
    pub expected: u32,
}

impl Elections {
    pub fn count(before: u32, after: u32, leader_restarts: u32) -> Elections {
        Elections {
            before,
            after,
            count: after.saturating_sub(before),
            expected: leader_restarts,
        }
    }

    /// More elections than leader restarts: the ensemble lost its quorum
    /// (or its leader) during the run.
    pub fn quorum_lost(&self) -> bool {
        self.count > self.expected
    }

    pub fn describe(&self) -> String {
        let s = |n: u32| if n == 1 { "" } else { "s" };
        let base = format!(
            "{} election{} (epoch {} → {}), {} expected for {} leader restart{}",
            self.count,
            s(self.count),
            self.before,
            self.after,
            self.expected,
            self.expected,
            s(self.expected)
        );
        if self.quorum_lost() {
            format!(
                "QUORUM LOST: {base}: the ensemble lost its quorum or its leader during the run"
            )
        } else {
            base
        }
    }
}

/// Leader restarts recorded by stops (`host/leader_restarts`: how often the
/// host was stopped while it led).
pub fn leader_restarts(facts: &std::collections::HashMap<String, String>) -> u32 {
    facts
        .iter()
        .filter(|(k, _)| k.ends_with("/leader_restarts"))
        .filter_map(|(_, v)| v.parse::<u32>().ok())
        .fold(0u32, u32::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elections_come_from_epochs() {
        let e = Elections::count(1, 2, 1);
        assert!(!e.quorum_lost());
        let e = Elections::count(1, 3, 1);
        assert!(e.quorum_lost() && e.describe().starts_with("QUORUM LOST"));
        let mut facts = std::collections::HashMap::new();
        // Counted per stop of the leader of the moment: zk3 twice (a
        // recovery, then its turn again), not overwritten.
        facts.insert("zk3/leader_restarts".to_string(), "2".to_string());
        facts.insert(
            "zk1/leader_zxid_before_stop".to_string(),
            "zk3 0x100000001".to_string(),
        );
        assert_eq!(leader_restarts(&facts), 2);
    }
}

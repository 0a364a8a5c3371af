//! What steps record: facts go into the run's checkpoint (keyed
//! `host/name`, so a resumed run still has them) and into the event
//! stream, where the reports read them. One name each, typed here.

/// A fact's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// The ensemble table and session line (a healthy check).
    Ensemble,
    /// The leader's epoch at a healthy check.
    Epoch,
    /// Elections since the first healthy check, from the epochs.
    Elections,
    /// `<leader> 0x<zxid>` right before a stop.
    LeaderZxidBeforeStop,
    /// How often this host was stopped while it led.
    LeaderRestarts,
    /// Who leads once a node is verified, and that leader's epoch.
    Leader,
    LeaderEpoch,
    /// The leader's `mntr` timings, `key=value` words.
    MntrTimings,
    /// Where the server log ended before a start (bytes).
    LogOffset,
    /// Where the unit's journal ended before a start (`manager: systemd`):
    /// journalctl's cursor, empty when the unit had logged nothing yet.
    LogCursor,
    /// A backup's sha256 manifest.
    Manifest,
}

impl Fact {
    pub const ALL: [Fact; 11] = [
        Fact::Ensemble,
        Fact::Epoch,
        Fact::Elections,
        Fact::LeaderZxidBeforeStop,
        Fact::LeaderRestarts,
        Fact::Leader,
        Fact::LeaderEpoch,
        Fact::MntrTimings,
        Fact::LogOffset,
        Fact::LogCursor,
        Fact::Manifest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fact::Ensemble => "ensemble",
            Fact::Epoch => "epoch",
            Fact::Elections => "elections",
            Fact::LeaderZxidBeforeStop => "leader_zxid_before_stop",
            Fact::LeaderRestarts => "leader_restarts",
            Fact::Leader => "leader",
            Fact::LeaderEpoch => "leader_epoch",
            Fact::MntrTimings => "mntr_timings",
            Fact::LogOffset => "log_offset",
            Fact::LogCursor => "log_cursor",
            Fact::Manifest => "manifest",
        }
    }

    /// The fact an event names.
    pub fn parse(name: &str) -> Option<Fact> {
        Fact::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl AsRef<str> for Fact {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

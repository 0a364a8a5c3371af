//! The rolling order ZooKeeper needs: the leader goes last, so the ensemble
//! holds one election per roll instead of one per restart. Decided live
//! before each batch, since leadership moves as nodes restart.

use super::probe;
use crate::host::exec::Exec;
use crate::host::policy::Policy;
use crate::host::transport::Transport;

/// The leader-last policy the runner is handed.
pub struct LeaderLast;

impl Policy for LeaderLast {
    /// The leader, asked of every node; None when there is not exactly one
    /// (the gates before each stop still protect the quorum).
    async fn goes_last<T: Transport>(&self, x: &Exec<'_, T>) -> Option<String> {
        let v = probe::view(x).await;
        match v.leaders()[..] {
            [one] => Some(one.to_string()),
            _ => None,
        }
    }

    /// The ensemble table.
    async fn look<T: Transport>(&self, x: &Exec<'_, T>) -> String {
        probe::view(x).await.table()
    }

    /// The node answers `srvr` with a mode (serving clients).
    async fn in_service<T: Transport>(&self, x: &Exec<'_, T>) -> bool {
        matches!(
            probe::node(x, x.host).await,
            super::ensemble::NodeState::Serving(_)
        )
    }
}

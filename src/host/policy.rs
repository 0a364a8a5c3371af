//! The runner's questions to the live service, as a trait: defined here,
//! below both, so the service's module can answer them (ZooKeeper's:
//! `zk::order::LeaderLast`) and the runner can ask without knowing it.

use super::exec::Exec;
use super::transport::Transport;

/// What only the live service can tell, asked by the runner at its
/// decision points. The service's own module implements it (for ZooKeeper,
/// `zk::order::LeaderLast`), so the runner stays service-neutral.
#[allow(async_fn_in_trait)] // used generically, never as `dyn`
pub trait Policy {
    /// Before each batch of a rolling stage that defers a host (`leader_last`
    /// in the plan): the host to move behind the others, if any.
    async fn goes_last<T: Transport>(&self, x: &Exec<'_, T>) -> Option<String>;
    /// When a resumed run begins: the service as it is now, for the record.
    async fn look<T: Transport>(&self, x: &Exec<'_, T>) -> String;
    /// Whether the service on `x.host` is in service now: a failed step
    /// leaves nothing to bring back when it is.
    async fn in_service<T: Transport>(&self, x: &Exec<'_, T>) -> bool;
}

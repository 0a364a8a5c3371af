//! `stop`: stop the service and wait until the process has really gone.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use std::time::Duration;

use futures_util::future::Either;

use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::tasks::context::Cx;
use crate::tasks::fact::Fact;
use crate::tasks::status::WATCH;
use crate::zk::ensemble::NodeState;
use crate::zk::probe;

/// SIGTERM to "$1" if it is still a ZooKeeper server (a recycled PID is
/// left alone), up to 10 s for it to go, then SIGKILL.
const ESCALATE: &str = r#"is_zk() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q 'org[.]apache[.]zookeeper[.]server[.]quorum[.]QuorumPeerMain'; }
is_zk "$1" || exit 0
kill -TERM "$1" 2>/dev/null || exit 0
i=0
while [ $i -lt 100 ] && is_zk "$1" && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; do sleep 0.1; i=$((i + 1)); done
if is_zk "$1" && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; then kill -KILL "$1"; fi"#;

fn join(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
use crate::host::Endpoint;
use crate::render::Text;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopArgs {
    /// Send SIGKILL when the process is still there at the timeout. Off by
    /// default: a node that will not stop is a reason to look, not to kill.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StopStep {
    pub command: Vec<Text>,
    /// Prints the server's PID as the service manager knows it (the pid
    /// file, or systemd's MainPID): escalation kills that PID, never by name.
    pub pid_of: Vec<Text>,
    pub force: bool,
    pub client: Endpoint,
}

pub fn plan(args: &StopArgs, cx: &Cx) -> Option<StopStep> {
    Some(StopStep {
        command: cx.service.control("stop"),
        pid_of: cx.service.main_pid(),
        force: args.force,
        client: cx.service.client.clone(),
    })
}

impl StopStep {
    /// Stops the service, then waits until the JVM has exited and the client
    /// port is closed: `zkServer.sh stop` returns before either.
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        let pids = probe::server_pids(x, x.host)
            .await
            .map_err(StepError::new)?;
        if pids.is_empty() {
            x.note("no ZooKeeper server process runs: already stopped");
            return Ok(());
        }
        x.note(&format!("server pids before stop: {pids:?}"));
        let main_pid = self.main_pid(x).await;
        // Wait for this server's own process: another JVM on the host (a
        // second instance, another ensemble's observer) is not ours to wait for.
        let ours: Vec<u32> = match main_pid {
            Some(p) if pids.contains(&p) => vec![p],
            _ => pids.clone(),
        };
        // For the record: where the leader was before this node went down.
        let view = probe::view(x).await;
        if let [leader] = view.leaders()[..]
            && let Some(zxid) = view.leader_zxid()
        {
            x.fact(Fact::LeaderZxidBeforeStop, format!("{leader} 0x{zxid:x}"));
            // Counted, not overwritten: a leader stopped again after a
            // recovery causes another election.
            if leader == x.host.name {
                let n = x
                    .recall(Fact::LeaderRestarts)
                    .and_then(|n| n.parse::<u32>().ok())
                    .unwrap_or(0);
                x.fact(Fact::LeaderRestarts, n.saturating_add(1).to_string());
            }
        }
        // The stop is done when the JVM has exited and the port is closed,
        // which the node says before the script does: `zkServer.sh stop`
        // sleeps a second after its kill. The script runs while the node
        // is watched; whichever ends first decides, and a script that
        // fails before the node is gone fails the step.
        let script = x.check(&self.command, None);
        let gone = probe::poll(x, WATCH, async || {
            let left: Vec<u32> = probe::server_pids(x, x.host)
                .await?
                .into_iter()
                .filter(|p| ours.contains(p))
                .collect();
            if !left.is_empty() {
                return Err(format!("pid {} still runs", join(&left)));
            }
            match probe::node(x, x.host).await {
                NodeState::Down => Ok(()),
                _ => Err(format!("{} still answers", self.client)),
            }
        });
        futures_util::pin_mut!(script, gone);
        let waited = match futures_util::future::select(gone, script).await {
            Either::Left((w, _script)) => w,
            Either::Right((r, gone)) => {
                r?;
                gone.await
            }
        };
        match waited {
            Ok(()) => Ok(()),
            Err(why) if self.force => {
                let Some(pid) = main_pid else {
                    return Err(StepError::new(format!(
                        "ZooKeeper did not stop within {}s ({why}) and its PID is unknown (no pid file), so it cannot be forced",
                        x.timeout.as_secs()
                    ))
                    .help("stop it on the host by hand; zkrun never kills by process name"));
                };
                x.note(&format!("force: SIGTERM, then SIGKILL, to pid {pid} ({why})"));
                let argv = [
                    Text::plain("sh"),
                    Text::plain("-c"),
                    Text::plain(ESCALATE),
                    Text::plain("zkrun-escalate"),
                    Text::plain(pid.to_string()),
                ];
                // The step's own time is up: the escalation gets its own.
                let out = x.run_for(&argv, None, Duration::from_secs(20)).await?;
                if out.success() {
                    Ok(())
                } else {
                    Err(StepError::new(format!(
                        "forcing pid {pid} to stop failed (exit {:?}): {}",
                        out.code,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )))
                }
            }
            Err(why) => Err(StepError::new(format!(
                "ZooKeeper did not stop within {}s: {why}",
                x.timeout.as_secs()
            ))
            .help("look at the node (jstack, its log); `stop: {force: true}` sends SIGKILL at the timeout")),
        }
    }

    /// The server's PID as its manager records it (pid file or MainPID).
    async fn main_pid<T: Transport>(&self, x: &Exec<'_, T>) -> Option<u32> {
        probe::recorded_pid(x, &self.pid_of).await
    }

    /// Before anything stops: the manager's record of the server's PID is
    /// there and names a running server. Without it the stop command finds
    /// nothing to stop (and waits its whole timeout), and a stale pid file
    /// makes the start refuse ("already running as process N").
    pub async fn inspect<T: Transport>(&self, x: &Exec<'_, T>) -> super::Inspection {
        // `systemctl stop` stops the unit's whole cgroup and needs no PID
        // (a `Type=oneshot` unit has MainPID 0, a wrapper's is not Java).
        if self.pid_of.first().is_some_and(|w| w.real() == "systemctl") {
            return super::Inspection::default();
        }
        let pids = match probe::server_pids(x, x.host).await {
            Ok(p) => p,
            Err(e) => return super::Inspection::problem(StepError::new(e)),
        };
        if pids.is_empty() {
            return super::Inspection::default();
        }
        let recorded = self.main_pid(x).await;
        let how = crate::render::shell_line(&self.pid_of);
        match recorded {
            Some(p) if pids.contains(&p) => super::Inspection::default(),
            Some(p) => super::Inspection::problem(
                StepError::new(format!(
                    "the server's recorded PID on {} is {p}, but the running ZooKeeper server is pid {}: a stale pid file",
                    x.host.name,
                    join(&pids)
                ))
                .help(format!(
                    "write the running server's PID where `{how}` reads it (or restart the node by hand with its manager); no node was stopped"
                )),
            ),
            // A server already on its way down (a stop that an earlier,
            // killed run began: the script removes the pid file first)
            // answers nothing; the stop will wait for it to go.
            None if matches!(probe::node(x, x.host).await, NodeState::Down) => {
                super::Inspection::default()
            }
            None => super::Inspection::problem(
                StepError::new(format!(
                    "ZooKeeper runs on {} (pid {}) but its manager has no record of its PID, so `stop` could not stop it",
                    x.host.name,
                    join(&pids)
                ))
                .help(format!(
                    "the server was started outside its manager; write its PID where `{how}` reads it, or restart it by hand with its manager; no node was stopped"
                )),
            ),
        }
    }

    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![
            format!("run: {}", crate::render::shell_line(&self.command)),
            format!("wait until the JVM exits and {} closes", self.client),
        ];
        if self.force {
            lines.push("SIGKILL if it is still running at the timeout".into());
        }
        lines
    }
}

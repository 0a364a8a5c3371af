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
use crate::zk::{probe, systemd};

/// Forcing a stop happens after the step's own time is up: it gets its own.
const FORCE_TIME: Duration = Duration::from_secs(20);

/// SIGTERM to "$1" if it is still a ZooKeeper server (a recycled PID is
/// left alone), up to 10 s for it to go, then SIGKILL and up to 5 s more;
/// it fails only when the process is still there. A process that exits
/// between the check and the signal is no failure.
const ESCALATE: &str = r#"is_zk() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q 'org[.]apache[.]zookeeper[.]server[.]quorum[.]QuorumPeerMain'; }
is_zk "$1" || exit 0
kill -TERM "$1" 2>/dev/null || exit 0
i=0
while [ $i -lt 100 ] && is_zk "$1" && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; do sleep 0.1; i=$((i + 1)); done
if is_zk "$1" && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; then kill -KILL "$1" 2>/dev/null || true; fi
i=0
while [ $i -lt 50 ] && is_zk "$1" && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; do sleep 0.1; i=$((i + 1)); done
! is_zk "$1" || [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" = Z ] || { echo "pid $1 still runs after SIGKILL" >&2; exit 1; }"#;

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
    /// The unit, with `manager: systemd`: which JVMs are this server's is
    /// decided by the unit they run in, and a forced stop of a unit
    /// without a main PID kills the unit's processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Text>,
}

pub fn plan(args: &StopArgs, cx: &Cx) -> Option<StopStep> {
    Some(StopStep {
        command: cx.service.control("stop"),
        pid_of: cx.service.main_pid(),
        force: args.force,
        client: cx.service.client.clone(),
        unit: cx.service.systemd_unit(),
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
            // Under systemd the unit is stopped all the same: one waiting to
            // restart its crashed JVM (`Restart=`) would bring it back, and
            // one generated from a SysV script stays "active (exited)" after
            // a crash, so the next `systemctl start` would do nothing.
            if self.unit.is_some() {
                x.check(&self.command, None).await?;
                x.note("no ZooKeeper server process runs; the unit is stopped too, so systemd does not start it again");
            } else {
                x.note("no ZooKeeper server process runs: already stopped");
            }
            return Ok(());
        }
        x.note(&format!("server pids before stop: {pids:?}"));
        let main_pid = self.main_pid(x).await;
        // Wait for this server's own process: another JVM on the host (a
        // second instance, another ensemble's observer) is not ours to wait
        // for. Under systemd without a main PID (a unit generated from a
        // SysV script records none), ours are the JVMs in the unit.
        let in_unit = match &self.unit {
            Some(unit) => systemd::pid_units(x, unit.real(), &pids).await.ok(),
            None => None,
        };
        let ours: Vec<u32> = match (main_pid, &in_unit) {
            (Some(p), _) if pids.contains(&p) => vec![p],
            (_, Some(found)) if found.known() => found.ours.clone(),
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
        let asked = std::time::Instant::now();
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
        let (waited, script_done) = match futures_util::future::select(gone, script).await {
            Either::Left((w, _script)) => (w, false),
            Either::Right((r, gone)) => {
                r?;
                (gone.await, true)
            }
        };
        match waited {
            Ok(()) => {
                // For the step's log: what "stopped" rested on, and when.
                x.note(&format!(
                    "stopped after {} ms: {} {} exited and {} no longer answers{}",
                    asked.elapsed().as_millis(),
                    if ours.len() == 1 { "pid" } else { "pids" },
                    join(&ours),
                    self.client,
                    if script_done {
                        ""
                    } else {
                        "; the stop command was not waited for past that"
                    }
                ));
                Ok(())
            }
            Err(why) if self.force => match (&self.unit, main_pid) {
                // systemd's main PID is no server (a wrapper's, or none at
                // all): the unit's own processes are what it stops.
                (Some(unit), pid) if !pid.is_some_and(|p| pids.contains(&p)) => {
                    self.kill_unit(x, unit, pid, &ours, &why).await
                }
                (_, Some(pid)) => self.escalate(x, pid, &why).await,
                (_, None) => Err(StepError::new(format!(
                    "ZooKeeper did not stop within {}s ({why}) and its PID is unknown (no pid file), so it cannot be forced",
                    x.timeout.as_secs()
                ))
                .help("stop it on the host by hand; zkrun never kills by process name")),
            },
            Err(why) => Err(StepError::new(format!(
                "ZooKeeper did not stop within {}s: {why}",
                x.timeout.as_secs()
            ))
            .help("look at the node (jstack, its log); `stop: {force: true}` sends SIGKILL at the timeout")),
        }
    }

    /// SIGTERM, then SIGKILL, to the recorded server PID.
    async fn escalate<T: Transport>(
        &self,
        x: &Exec<'_, T>,
        pid: u32,
        why: &str,
    ) -> Result<(), StepError> {
        x.note(&format!(
            "force: SIGTERM, then SIGKILL, to pid {pid} ({why})"
        ));
        let argv = [
            Text::plain("sh"),
            Text::plain("-c"),
            Text::plain(ESCALATE),
            Text::plain("zkrun-escalate"),
            Text::plain(pid.to_string()),
        ];
        // The step's own time is up: the escalation gets its own.
        let out = x.run_for(&argv, None, FORCE_TIME).await?;
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

    /// SIGKILL to every process of the unit (`systemctl kill`: the unit's
    /// cgroup, nothing outside it), then up to 10 s for this server's JVMs
    /// to go.
    async fn kill_unit<T: Transport>(
        &self,
        x: &Exec<'_, T>,
        unit: &Text,
        main_pid: Option<u32>,
        ours: &[u32],
        why: &str,
    ) -> Result<(), StepError> {
        let name = systemd::unit_name(&unit.shown);
        let record = match main_pid {
            None => "MainPID 0: the unit records no main process (a unit generated from a SysV script has none)".to_string(),
            Some(p) => format!("its MainPID {p} is no ZooKeeper server (a wrapper's)"),
        };
        x.note(&format!(
            "force: {record}, so SIGKILL to the processes of unit {name} with systemctl kill ({why})"
        ));
        let argv = [
            Text::plain("systemctl"),
            Text::plain("kill"),
            Text::plain("--signal=SIGKILL"),
            unit.clone(),
        ];
        let shown = crate::render::shell_line(&argv);
        let out = x.run_for(&argv, None, FORCE_TIME).await?;
        if !out.success() {
            return Err(StepError::new(format!(
                "ZooKeeper did not stop within {}s ({why}), and `{shown}` failed (exit {:?}): {}",
                x.timeout.as_secs(),
                out.code,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
            .help(format!(
                "stop it on {} by hand; zkrun never kills by process name",
                x.host.name
            )));
        }
        // `systemctl kill` returns once the signal is sent. A deadline, not
        // a count of rounds: each round's query may itself take a while.
        let mut left: Vec<u32> = ours.to_vec();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            left = probe::server_pids(x, x.host)
                .await
                .map_err(StepError::new)?
                .into_iter()
                .filter(|p| ours.contains(p))
                .collect();
            if left.is_empty() {
                return Ok(());
            }
            x.sleep(WATCH).await;
        }
        Err(StepError::new(format!(
            "`{shown}` was sent, but pid {} still runs 10s later",
            join(&left)
        ))
        .help(format!(
            "look at the process on {} (a JVM in uninterruptible I/O does not die until the I/O ends)",
            x.host.name
        )))
    }

    /// The server's PID as its manager records it (pid file or MainPID).
    async fn main_pid<T: Transport>(&self, x: &Exec<'_, T>) -> Option<u32> {
        probe::recorded_pid(x, &self.pid_of).await
    }

    /// Before anything stops: the manager's record of the server's PID is
    /// there and names a running server (under systemd: the server runs in
    /// the unit). Without it the stop command finds nothing to stop (and
    /// waits its whole timeout), and a stale pid file makes the start
    /// refuse ("already running as process N").
    pub async fn inspect<T: Transport>(&self, x: &Exec<'_, T>) -> super::Inspection {
        let pids = match probe::server_pids(x, x.host).await {
            Ok(p) => p,
            Err(e) => return super::Inspection::problem(StepError::new(e)),
        };
        if pids.is_empty() {
            return super::Inspection::default();
        }
        if let Some(unit) = &self.unit {
            return self.inspect_unit(x, unit, &pids).await;
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

    /// Under systemd: `systemctl stop` stops the unit's whole cgroup and
    /// needs no PID (a `Type=oneshot` or SysV unit has MainPID 0, a
    /// wrapper's is not Java), but it stops nothing outside the unit. A
    /// server started by hand, or by its script, keeps running and the
    /// stop would wait its whole timeout for it.
    async fn inspect_unit<T: Transport>(
        &self,
        x: &Exec<'_, T>,
        unit: &Text,
        pids: &[u32],
    ) -> super::Inspection {
        let found = match systemd::pid_units(x, unit.real(), pids).await {
            Ok(f) => f,
            Err(e) => return super::Inspection::problem(StepError::new(e)),
        };
        if !found.ours.is_empty() {
            return super::Inspection::default();
        }
        // Nothing answers on this node's port: the JVMs are another
        // instance's, or one on its way down (a stop an earlier, killed run
        // began); the stop waits for the port alone.
        if matches!(probe::node(x, x.host).await, NodeState::Down) {
            return super::Inspection::default();
        }
        let name = systemd::unit_name(&unit.shown);
        let stop = crate::render::shell_line(&self.command);
        let (pid_word, their) = if pids.len() == 1 {
            ("pid", "its unit")
        } else {
            ("pids", "their units")
        };
        let start = format!(
            "start it through systemd (stop it by hand, then `systemctl start {unit}`), or use `manager: script` for {} (`zk_manager: script` with the shipped playbooks); no node was stopped",
            x.host.name
        );
        let message = if found.known() {
            let units: Vec<&str> = found
                .units
                .iter()
                .map(|(_, u)| u.as_deref().unwrap_or("none"))
                .collect();
            format!(
                "ZooKeeper runs on {} ({pid_word} {}) outside unit {name} ({their}: {}), so `{stop}` would not stop it",
                x.host.name,
                join(pids),
                units.join(", ")
            )
        } else {
            format!(
                "ZooKeeper runs on {} ({pid_word} {}) but systemd does not manage it (`ps -o unit=` names no unit: no systemd on the host, or a ps without it), so `{stop}` would not stop it",
                x.host.name,
                join(pids)
            )
        };
        super::Inspection::problem(StepError::new(message).help(start))
    }

    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![
            format!("run: {}", crate::render::shell_line(&self.command)),
            format!("wait until the JVM exits and {} closes", self.client),
        ];
        if self.force {
            lines.push(match &self.unit {
                Some(unit) => format!(
                    "SIGKILL if it is still running at the timeout: to the unit's MainPID, \
                     or with `systemctl kill` to the processes of {} when it has none",
                    systemd::unit_name(&unit.shown)
                ),
                None => "SIGKILL if it is still running at the timeout".into(),
            });
        }
        lines
    }
}

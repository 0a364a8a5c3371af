//! `start`: start the service. It returns before the node serves: `verify`
//! is what waits for it.

use futures_util::future::Either;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::render::Text;
use crate::tasks::context::Cx;
use crate::tasks::fact::Fact;
use crate::tasks::status::WATCH;
use crate::zk::{probe, systemd};

/// The journal cursor a start records when the journal cannot be read.
pub const UNREADABLE: &str = "-";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartArgs {}

#[derive(Debug, Clone, Serialize)]
pub struct StartStep {
    pub command: Vec<Text>,
    /// Prints the server's PID as its manager records it: a start is
    /// skipped when that process is a running ZooKeeper server.
    pub pid_of: Vec<Text>,
    /// The server log, read for fatal lines when the start fails.
    pub log: Text,
    /// The unit, with `manager: systemd`: its journal's end is recorded
    /// for `verify`, and its status and journal explain a failed start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Text>,
}

pub fn plan(_: &StartArgs, cx: &Cx) -> Option<StartStep> {
    Some(StartStep {
        command: cx.service.control("start"),
        pid_of: cx.service.main_pid(),
        log: cx.service.log.clone(),
        unit: cx.service.systemd_unit(),
    })
}

impl StartStep {
    /// Starts the service unless this server already runs (so a resumed
    /// run does not start a second JVM).
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        // This server, not any JVM on the host (a second instance, another
        // ensemble's node): the one its manager recorded, or whatever
        // answers on its client port.
        let pids = probe::server_pids(x, x.host)
            .await
            .map_err(StepError::new)?;
        if let Some(pid) = probe::recorded_pid(x, &self.pid_of).await
            && pids.contains(&pid)
        {
            x.note(&format!(
                "this server already runs (pid {pid}): not starting another"
            ));
            return Ok(());
        }
        if !matches!(
            probe::node(x, x.host).await,
            crate::zk::ensemble::NodeState::Down
        ) {
            x.note("something answers on this server's client port already: not starting another");
            return Ok(());
        }
        // Where the log ends now: verify reads only what this start wrote.
        let size = x
            .query(
                x.host,
                &[
                    "sh",
                    "-c",
                    r#"stat -c %s "$0" 2>/dev/null || echo 0"#,
                    self.log.real(),
                ],
                probe::PROBE_TIMEOUT,
            )
            .await;
        if let Ok(out) = size
            && let Ok(n) = String::from_utf8_lossy(&out.stdout).trim().parse::<u64>()
        {
            x.fact(Fact::LogOffset, n.to_string());
        }
        // A unit may log to the journal instead (or as well): where it
        // ends now. Without a journal to read, nothing is recorded and
        // verify reads the file alone.
        if let Some(unit) = &self.unit {
            // Recorded on every start, so a second start in the same run
            // never leaves verify reading from the first one's cursor.
            let cursor = systemd::cursor(x, unit.real()).await;
            if cursor.is_none() {
                x.note(&format!(
                    "the journal of {unit} cannot be read here (no journalctl, or this user may not read the system journal): verify will not check it; `become` reads it as root"
                ));
            }
            x.fact(Fact::LogCursor, cursor.unwrap_or_else(|| UNREADABLE.into()));
        }
        // The start is done when a new JVM of this server runs; `verify`
        // then waits for it to serve and sync. `zkServer.sh start` sleeps a
        // second before its own verdict: it runs while the host is watched,
        // and whichever ends first decides. A JVM that dies in that second
        // (the script's "FAILED TO START") does not serve: verify fails on
        // it, with the server's log.
        let script = x.check(&self.command, None);
        let runs = probe::poll(x, WATCH, async || {
            let now = probe::server_pids(x, x.host).await?;
            match now.iter().find(|p| !pids.contains(p)) {
                Some(p) => Ok(*p),
                None => Err("no new ZooKeeper JVM yet".to_string()),
            }
        });
        futures_util::pin_mut!(script, runs);
        let result = match futures_util::future::select(script, runs).await {
            Either::Left((r, _runs)) => r.map(|_| ()),
            Either::Right((Ok(pid), _script)) => {
                x.note(&format!(
                    "a new JVM runs (pid {pid}): not waiting for the script's own sleep"
                ));
                Ok(())
            }
            Either::Right((Err(_), script)) => script.await.map(|_| ()),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.explain(x, e).await),
        }
    }

    /// Why it did not start is in the server's log (and, for a unit, in
    /// systemd's status and the journal), not in the command's output.
    async fn explain<T: Transport>(&self, x: &Exec<'_, T>, mut e: StepError) -> StepError {
        let unit = self.unit.as_ref().map(Text::real);
        let fatal = probe::fatal_log_lines(x, x.host, self.log.real(), unit).await;
        // Lines in parentheses are zkrun's notes (no log, not readable).
        let found = fatal.iter().any(|l| !l.starts_with('('));
        let status = match unit {
            Some(unit) => systemd::status_lines(x, unit).await,
            None => Vec::new(),
        };
        if found {
            e.help =
                Some("the server's log says why (above); fix it on the host and run again".into());
        } else if let Some(unit) = &self.unit
            && !status.is_empty()
        {
            e.help = Some(format!(
                "systemd's status of the unit is above; `journalctl -u {unit}` on {} has the rest; fix it on the host and run again",
                x.host.name
            ));
        }
        if found || !status.is_empty() {
            e.tail = status.into_iter().chain(fatal).collect();
        } else {
            // Nothing better to show: the command's own output stays, with
            // why no log line is.
            e.tail.extend(fatal);
        }
        e
    }

    pub fn describe(&self) -> Vec<String> {
        vec![format!("run: {}", crate::render::shell_line(&self.command))]
    }
}

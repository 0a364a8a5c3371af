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
use crate::zk::probe;

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
}

pub fn plan(_: &StartArgs, cx: &Cx) -> Option<StartStep> {
    Some(StartStep {
        command: cx.service.control("start"),
        pid_of: cx.service.main_pid(),
        log: cx.service.log.clone(),
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
            Err(mut e) => {
                // Why it did not start is in the server's log, not the script's output.
                let fatal = probe::fatal_log_lines(x, x.host, self.log.real()).await;
                if !fatal.is_empty() {
                    e.tail = fatal;
                    e.help = Some(
                        "the server's log says why (above); fix it on the host and run again"
                            .into(),
                    );
                }
                Err(e)
            }
        }
    }

    pub fn describe(&self) -> Vec<String> {
        vec![format!("run: {}", crate::render::shell_line(&self.command))]
    }
}

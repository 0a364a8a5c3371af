//! `stop`: stop the service and wait until the process has really gone.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::context::Cx;
use crate::runner::exec::{Exec, StepError};
use crate::tasks::status::POLL;
use crate::transport::Transport;
use crate::zk::ensemble::NodeState;
use crate::zk::probe;

fn join(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
use crate::render::Text;
use crate::zk::Endpoint;

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
    pub force: bool,
    pub client: Endpoint,
}

pub fn plan(args: &StopArgs, cx: &Cx) -> Option<StopStep> {
    Some(StopStep {
        command: cx.service.control("stop"),
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
        // For the record: where the leader was before this node went down.
        let view = probe::view(x).await;
        if let [leader] = view.leaders()[..]
            && let Some(s) = view.stats(leader)
        {
            x.fact(
                "leader_zxid_before_stop",
                format!("{leader} 0x{:x}", s.zxid),
            );
        }
        x.check(&self.command, None).await?;
        let waited = probe::poll(x, POLL, async || {
            let left = probe::server_pids(x, x.host).await?;
            if !left.is_empty() {
                return Err(format!("pid {} still runs", join(&left)));
            }
            match probe::node(x, x.host).await {
                NodeState::Down => Ok(()),
                _ => Err(format!("{} still answers", self.client)),
            }
        })
        .await;
        match waited {
            Ok(()) => Ok(()),
            Err(why) if self.force => {
                let left = probe::server_pids(x, x.host).await.unwrap_or_default();
                x.note(&format!("force: SIGKILL to {left:?} ({why})"));
                let mut argv = vec![Text::plain("kill"), Text::plain("-KILL")];
                argv.extend(left.iter().map(|p| Text::plain(p.to_string())));
                x.run(&argv, None).await?;
                Ok(())
            }
            Err(why) => Err(StepError::new(format!(
                "ZooKeeper did not stop within {}s: {why}",
                x.timeout.as_secs()
            ))
            .help("look at the node (jstack, its log); `stop: {force: true}` sends SIGKILL at the timeout")),
        }
    }

    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![
            format!("run: {}", super::shell_line(&self.command)),
            format!("wait until the JVM exits and {} closes", self.client),
        ];
        if self.force {
            lines.push("SIGKILL if it is still running at the timeout".into());
        }
        lines
    }
}

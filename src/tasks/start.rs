//! `start`: start the service. It returns before the node serves: `verify`
//! is what waits for it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::context::Cx;
use crate::render::Text;
use crate::runner::exec::{Exec, StepError};
use crate::transport::Transport;
use crate::zk::probe;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartArgs {}

#[derive(Debug, Clone, Serialize)]
pub struct StartStep {
    pub command: Vec<Text>,
}

pub fn plan(_: &StartArgs, cx: &Cx) -> Option<StartStep> {
    Some(StartStep {
        command: cx.service.control("start"),
    })
}

impl StartStep {
    /// Starts the service unless a server already runs (so a resumed run
    /// does not start a second JVM).
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        let pids = probe::server_pids(x, x.host)
            .await
            .map_err(StepError::new)?;
        if !pids.is_empty() {
            x.note(&format!(
                "a server already runs (pid {pids:?}): not starting another"
            ));
            return Ok(());
        }
        x.check(&self.command, None).await.map(drop)
    }

    pub fn describe(&self) -> Vec<String> {
        vec![format!("run: {}", super::shell_line(&self.command))]
    }
}

//! `stop`: stop the service and wait until the process has really gone.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::context::Cx;
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

//! `start`: start the service. It returns before the node serves: `verify`
//! is what waits for it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::context::Cx;
use crate::render::Text;

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
    pub fn describe(&self) -> Vec<String> {
        vec![format!("run: {}", super::shell_line(&self.command))]
    }
}

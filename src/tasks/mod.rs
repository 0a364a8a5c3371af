//! The six task types, one file each. A file holds the task's arguments (what
//! the playbook says), its planned step (what will run, rendered for one host)
//! and how the plan describes that step.

pub mod backup;
pub mod maintain;
pub mod start;
pub mod status;
pub mod stop;
pub mod verify;

use serde::Serialize;

use crate::model::task::TaskKind;
use crate::plan::context::Cx;
use crate::runner::exec::{Exec, StepError};
use crate::transport::Transport;

/// A task rendered for one host.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Action {
    Backup(backup::BackupStep),
    Status(status::StatusStep),
    Stop(stop::StopStep),
    Maintain(maintain::MaintainStep),
    Start(start::StartStep),
    Verify(verify::VerifyStep),
}

impl Action {
    pub fn plan(kind: &TaskKind, cx: &Cx) -> Option<Action> {
        Some(match kind {
            TaskKind::Backup(a) => Action::Backup(backup::plan(a, cx)?),
            TaskKind::Status(a) => Action::Status(status::plan(a, cx)?),
            TaskKind::Stop(a) => Action::Stop(stop::plan(a, cx)?),
            TaskKind::Maintain(a) => Action::Maintain(maintain::plan(a, cx)?),
            TaskKind::Start(a) => Action::Start(start::plan(a, cx)?),
            TaskKind::Verify(a) => Action::Verify(verify::plan(a, cx)?),
        })
    }

    /// Runs the step on its host.
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        match self {
            Action::Maintain(s) => s.execute(x).await,
            Action::Status(s) => s.execute(x).await,
            Action::Stop(s) => s.execute(x).await,
            Action::Start(s) => s.execute(x).await,
            Action::Verify(s) => s.execute(x).await,
            Action::Backup(s) => s.execute(x).await,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Action::Backup(_) => "backup",
            Action::Status(_) => "status",
            Action::Stop(_) => "stop",
            Action::Maintain(_) => "maintain",
            Action::Start(_) => "start",
            Action::Verify(_) => "verify",
        }
    }

    /// What the step does, a line per effect, for the dry-run.
    pub fn describe(&self) -> Vec<String> {
        match self {
            Action::Backup(s) => s.describe(),
            Action::Status(s) => s.describe(),
            Action::Stop(s) => s.describe(),
            Action::Maintain(s) => s.describe(),
            Action::Start(s) => s.describe(),
            Action::Verify(s) => s.describe(),
        }
    }

    /// Default timeouts: long enough for a healthy node, short enough that a
    /// stuck one is noticed while the operator is still watching.
    pub fn default_timeout(kind: &TaskKind) -> crate::model::Duration {
        use crate::model::Duration;
        match kind {
            TaskKind::Backup(_) => Duration::secs(600),
            TaskKind::Status(_) => Duration::secs(60),
            TaskKind::Stop(_) => Duration::secs(60),
            TaskKind::Maintain(_) => Duration::secs(300),
            TaskKind::Start(_) => Duration::secs(60),
            TaskKind::Verify(_) => Duration::secs(120),
        }
    }
}

/// An argv shown as a shell would read it.
pub fn shell_line(argv: &[crate::render::Text]) -> String {
    argv.iter()
        .map(|a| crate::render::shell_quote(&a.shown))
        .collect::<Vec<_>>()
        .join(" ")
}

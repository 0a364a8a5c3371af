//! The six task types, one file each. A file holds the task's arguments (what
//! the playbook says), its planned step (what will run, rendered for one host)
//! and how the plan describes that step.

pub mod backup;
pub mod context;
pub mod fact;
pub mod maintain;
pub mod start;
pub mod status;
pub mod stop;
pub mod verify;

use serde::Serialize;

use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::render::Text;
use context::Cx;
use serde::de::MapAccess;

/// What a playbook's tasks may be: the closed set of task types, each with
/// the arguments it takes (defined in its own file).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Copy the node's data (snapshot, transaction logs, epochs, myid, config).
    Backup(backup::BackupArgs),
    /// Check the ensemble's health.
    Status(status::StatusArgs),
    /// Stop the ZooKeeper service and wait for the process to exit.
    Stop(stop::StopArgs),
    /// Change the stopped node: a command, a shell script, or a rendered file.
    Maintain(maintain::MaintainArgs),
    /// Start the ZooKeeper service.
    Start(start::StartArgs),
    /// Wait until the node serves in the expected mode and is synced.
    Verify(verify::VerifyArgs),
}

/// A task's type, without its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Backup,
    Status,
    Stop,
    Maintain,
    Start,
    Verify,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Backup,
        Kind::Status,
        Kind::Stop,
        Kind::Maintain,
        Kind::Start,
        Kind::Verify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Backup => "backup",
            Kind::Status => "status",
            Kind::Stop => "stop",
            Kind::Maintain => "maintain",
            Kind::Start => "start",
            Kind::Verify => "verify",
        }
    }

    /// What a step of this kind does to its node's service: the runner
    /// brings back a node that a failure would otherwise leave out of
    /// service, and the roll report times the outage from it.
    pub fn effect(self) -> Effect {
        match self {
            Kind::Stop => Effect::TakesOut,
            Kind::Start => Effect::BringsBack,
            Kind::Verify => Effect::Confirms,
            Kind::Backup | Kind::Status | Kind::Maintain => Effect::None,
        }
    }

    /// Does a step of this kind only look (never change a host)? It starts
    /// without waiting for the checkpoint to reach the disk (its end still
    /// does).
    pub fn reads_only(self) -> bool {
        matches!(self, Kind::Status | Kind::Verify)
    }

    /// The kind an event names (`StepStarted.kind`).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TaskKind {
    pub fn kind(&self) -> Kind {
        match self {
            TaskKind::Backup(_) => Kind::Backup,
            TaskKind::Status(_) => Kind::Status,
            TaskKind::Stop(_) => Kind::Stop,
            TaskKind::Maintain(_) => Kind::Maintain,
            TaskKind::Start(_) => Kind::Start,
            TaskKind::Verify(_) => Kind::Verify,
        }
    }
}

/// The playbook, with zkrun's task types.
pub type Playbook = crate::model::playbook::Playbook<TaskKind>;
/// One task of it.
pub type Task = crate::model::task::Task<TaskKind>;

impl crate::model::task::Kinds for TaskKind {
    const NAMES: &'static [&'static str] =
        &["backup", "status", "stop", "maintain", "start", "verify"];

    fn read<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<Self, A::Error> {
        // `stop:` with nothing after it means "stop with the defaults".
        Ok(match name {
            "backup" => TaskKind::Backup(map.next_value()?),
            "status" => TaskKind::Status(map.next_value::<Option<_>>()?.unwrap_or_default()),
            "stop" => TaskKind::Stop(map.next_value::<Option<_>>()?.unwrap_or_default()),
            "maintain" => TaskKind::Maintain(map.next_value()?),
            "start" => TaskKind::Start(map.next_value::<Option<_>>()?.unwrap_or_default()),
            "verify" => TaskKind::Verify(map.next_value::<Option<_>>()?.unwrap_or_default()),
            _ => unreachable!("NAMES lists exactly these types"),
        })
    }

    fn name(&self) -> &'static str {
        self.kind().as_str()
    }
}

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

    /// What the step does to its node's service: the runner brings back a
    /// node that a failure would otherwise leave out of service.
    pub fn effect(&self) -> Effect {
        self.kind().effect()
    }

    pub fn kind(&self) -> Kind {
        match self {
            Action::Backup(_) => Kind::Backup,
            Action::Status(_) => Kind::Status,
            Action::Stop(_) => Kind::Stop,
            Action::Maintain(_) => Kind::Maintain,
            Action::Start(_) => Kind::Start,
            Action::Verify(_) => Kind::Verify,
        }
    }

    /// A read-only look at the host before anything runs anywhere (and in a
    /// dry-run): what would make the step fail part-way is found while every
    /// node is still untouched.
    pub async fn inspect<T: Transport>(&self, x: &Exec<'_, T>) -> Inspection {
        match self {
            Action::Backup(s) => s.inspect(x).await,
            Action::Maintain(s) => s.inspect(x).await,
            Action::Stop(s) => {
                let control = inspect_control(x, &s.command).await;
                if control.problem.is_some() {
                    return control;
                }
                s.inspect(x).await
            }
            Action::Start(s) => inspect_control(x, &s.command).await,
            Action::Verify(s) => s.inspect(x).await,
            Action::Status(_) => Inspection::default(),
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
    pub fn default_timeout(kind: Kind) -> crate::model::Duration {
        use crate::model::Duration;
        match kind {
            Kind::Backup => Duration::secs(600),
            Kind::Status => Duration::secs(60),
            Kind::Stop => Duration::secs(60),
            Kind::Maintain => Duration::secs(300),
            Kind::Start => Duration::secs(60),
            Kind::Verify => Duration::secs(120),
        }
    }
}

/// A step's effect on its node's service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Takes the node out of service (from the moment it starts).
    TakesOut,
    /// Puts it back (once it succeeds).
    BringsBack,
    /// Waits until it serves again, healthy.
    Confirms,
}

/// What a read-only look at a host found.
#[derive(Debug, Default)]
pub struct Inspection {
    /// For the dry-run: a template's diff, the room for a backup.
    pub notes: Vec<String>,
    /// Would make the step fail part-way: the run is refused before any
    /// host is touched.
    pub problem: Option<StepError>,
}

impl Inspection {
    pub fn note(line: impl Into<String>) -> Inspection {
        Inspection {
            notes: vec![line.into()],
            problem: None,
        }
    }

    pub fn problem(e: StepError) -> Inspection {
        Inspection {
            notes: Vec::new(),
            problem: Some(e),
        }
    }
}

/// The service's start/stop command exists on the host: its script is
/// executable, or systemd knows its unit.
async fn inspect_control<T: Transport>(x: &Exec<'_, T>, command: &[Text]) -> Inspection {
    let (argv, what) = match command {
        [systemctl, _, unit] if systemctl.real() == "systemctl" => (
            vec![Text::plain("systemctl"), Text::plain("cat"), unit.clone()],
            format!("systemd unit {unit}"),
        ),
        [script, ..] => (
            vec![Text::plain("test"), Text::plain("-x"), script.clone()],
            format!("script {script}"),
        ),
        [] => return Inspection::default(),
    };
    match x.run(&argv, None).await {
        Ok(out) if out.success() => Inspection::default(),
        Ok(_) => Inspection::problem(
            StepError::new(format!("the {what} is not there on {}", x.host.name))
                .help("fix `service:` in the playbook (or the host), then run again"),
        ),
        Err(e) => Inspection::problem(e),
    }
}

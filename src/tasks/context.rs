//! What a task sees while it is planned for one host: rendering with errors
//! that land in the right place, and the service as rendered for the host.

use std::cell::RefCell;
use std::collections::HashMap;

use indexmap::IndexMap;

use crate::diagnostic::Diagnostic;
use crate::host::Endpoint;
use crate::host::PlanHost;
use crate::model::Template;
use crate::model::playbook::Manager;
use crate::render::{Context, RenderError, Renderer, Text};
use crate::yaml::{Part, Source, YamlPath};

/// zkServer.sh, not ZooKeeper, owns the pid file: found by the script's own
/// rule (its `ZOO_DATADIR`: the text after the last `=` of the dataDir
/// line, trimmed). One shared text for every step of every host.
static PID_FILE_SCRIPT: std::sync::LazyLock<Text> = std::sync::LazyLock::new(|| {
    Text::plain(
        r#"d=$(grep "^[[:space:]]*dataDir" "$0" | sed -e 's/.*=//' | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'); cat "${ZOOPIDFILE:-$d/zookeeper_server.pid}" 2>/dev/null"#,
    )
});

/// The service block rendered for one host.
#[derive(Debug, Clone)]
pub struct ServiceOnHost {
    /// `service.manager` as rendered for this host.
    pub manager: Manager,
    pub script: Text,
    pub unit: Text,
    pub config: Text,
    pub log: Text,
    pub client: Endpoint,
}

impl ServiceOnHost {
    /// Prints the server's PID as its manager records it.
    pub fn main_pid(&self) -> Vec<Text> {
        match self.manager {
            Manager::Script => vec![
                Text::plain("sh"),
                Text::plain("-c"),
                PID_FILE_SCRIPT.clone(),
                self.config.clone(),
            ],
            Manager::Systemd => vec![
                Text::plain("systemctl"),
                Text::plain("show"),
                Text::plain("--property=MainPID"),
                Text::plain("--value"),
                self.unit.clone(),
            ],
        }
    }

    /// The unit, when systemd manages the service: what its processes,
    /// status and journal are looked up by.
    pub fn systemd_unit(&self) -> Option<Text> {
        (self.manager == Manager::Systemd).then(|| self.unit.clone())
    }

    /// The command that starts or stops the service, as an argv.
    pub fn control(&self, verb: &str) -> Vec<Text> {
        match self.manager {
            Manager::Script => vec![self.script.clone(), Text::plain(verb)],
            Manager::Systemd => vec![
                Text::plain("systemctl"),
                Text::plain(verb),
                self.unit.clone(),
            ],
        }
    }
}

/// Problems found while rendering, grouped so one mistake made for a
/// thousand hosts is reported once, with the hosts listed.
#[derive(Default)]
pub struct Problems {
    /// (message, location) → the diagnostic and the hosts it applies to.
    found: RefCell<IndexMap<ProblemKey, (Diagnostic, Vec<String>)>>,
}

type ProblemKey = (String, Option<String>);

impl Problems {
    pub fn add(&self, d: Diagnostic, host: &str) {
        let key = (d.message.clone(), d.location());
        let mut found = self.found.borrow_mut();
        let entry = found.entry(key).or_insert_with(|| (d, Vec::new()));
        if !host.is_empty() && !entry.1.iter().any(|h| h == host) {
            entry.1.push(host.to_string());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.found.borrow().is_empty()
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.found
            .into_inner()
            .into_values()
            .map(|(d, hosts)| match hosts.len() {
                0 => d,
                1 => d.note(format!("for host {}", hosts[0])),
                n => {
                    let shown: Vec<&str> = hosts.iter().take(5).map(String::as_str).collect();
                    let more = if n > 5 {
                        format!(" and {} more", n - 5)
                    } else {
                        String::new()
                    };
                    d.note(format!("for hosts {}{more}", shown.join(", ")))
                }
            })
            .collect()
    }
}

pub struct Cx<'a> {
    pub host: &'a PlanHost,
    pub service: &'a ServiceOnHost,
    pub renderer: &'a Renderer,
    pub vars: &'a Context,
    pub src: &'a Source,
    /// The task's place in the playbook (`tasks/3`) and its id for messages.
    pub task_path: YamlPath,
    pub task_id: &'a str,
    pub files: &'a HashMap<String, String>,
    pub problems: &'a Problems,
    /// `--allow-quorum-loss` was given.
    pub allow_quorum_loss: bool,
}

impl Cx<'_> {
    pub fn field(&self, segments: &[&str]) -> YamlPath {
        segments
            .iter()
            .fold(self.task_path.clone(), |p, s| p.key(s))
    }

    /// Renders a templated field of the task; on failure records a located
    /// problem and returns None.
    pub fn text(&self, t: &Template, segments: &[&str]) -> Option<Text> {
        self.text_at(t, &self.field(segments))
    }

    pub fn text_at(&self, t: &Template, at: &YamlPath) -> Option<Text> {
        render_field(
            self.renderer,
            self.vars,
            t.as_str(),
            self.src,
            at,
            &format!("task `{}`", self.task_id),
            &self.host.name,
            self.problems,
        )
    }

    /// A template file named by `src`, rendered for this host.
    pub fn file(&self, name: &str, segments: &[&str]) -> Option<Text> {
        let at = self.field(segments);
        let Some(text) = self.files.get(name) else {
            self.problems.add(
                Diagnostic::new(format!("template file `{name}` was not loaded"))
                    .at(self.src.locate(&at, Part::Value)),
                &self.host.name,
            );
            return None;
        };
        match self.renderer.render(text, self.vars) {
            Ok(t) => Some(t),
            Err(e) => {
                let d = Diagnostic::new(format!(
                    "{} in template file `{name}` (task `{}`)",
                    e.message(),
                    self.task_id
                ))
                .at(self.src.locate(&at, Part::Value));
                self.problems.add(with_suggestion(d, &e), &self.host.name);
                None
            }
        }
    }
}

fn with_suggestion(d: Diagnostic, e: &RenderError) -> Diagnostic {
    match e {
        RenderError::Undefined {
            suggestion: Some(s),
            ..
        } => d.help(format!(
            "did you mean `{s}`? Variables come from the inventory, the playbook's `vars` and `-e`"
        )),
        RenderError::Undefined { .. } => d.help(
            "define it in the inventory (host or group vars), the playbook's `vars`, or with `-e name=value`",
        ),
        RenderError::Other(_) => d,
    }
}

/// Renders one templated value and reports a failure at its place.
#[allow(clippy::too_many_arguments)]
pub fn render_field(
    renderer: &Renderer,
    vars: &Context,
    source: &str,
    src: &Source,
    at: &YamlPath,
    what: &str,
    host: &str,
    problems: &Problems,
) -> Option<Text> {
    match renderer.render(source, vars) {
        Ok(t) => Some(t),
        Err(e) => {
            let snippet = match &e {
                RenderError::Undefined { name, .. } => src.locate_within(at, name),
                RenderError::Other(_) => src.locate(at, Part::Value),
            };
            let label = match &e {
                RenderError::Undefined { .. } => "not defined",
                RenderError::Other(_) => "here",
            };
            let d = Diagnostic::new(format!("{} in {what}", e.message()))
                .at(snippet)
                .label(label);
            problems.add(with_suggestion(d, &e), host);
            None
        }
    }
}

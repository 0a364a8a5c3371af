//! playbook + inventory + extra variables → Plan. Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::Value;

use super::fingerprint::fingerprint;
use super::hosts::{rolling_order, select_hosts};
use super::ids::{check_phases, task_ids};
use super::{FORMAT, Plan, PlanHost, Rolling, Stage, Step, TaskInfo};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::host::Endpoint;
use crate::inventory::connection::{self, Connection};
use crate::inventory::lazy::{HostBuilder, HostVars, Lazy, RawVar};
use crate::inventory::{Host, Inventory, Value as InvValue};

use crate::model::playbook::Manager;
use crate::model::task::{Kinds, Run};
use crate::model::{Duration, TaskId};
use crate::render::{Context, Renderer};
use crate::tasks::Action;
use crate::tasks::context::{Cx, Problems, ServiceOnHost, render_field};
use crate::tasks::{Playbook, Task};
use crate::yaml::{Part, Source, YamlPath};

pub struct Inputs<'a> {
    pub playbook: &'a Playbook,
    pub playbook_src: &'a Source,
    pub inventory: &'a Inventory,
    /// ansible.cfg, the environment and the command line: how hosts are
    /// reached when their variables do not say.
    pub connection: &'a connection::Defaults,
    /// `-e` variables, highest precedence.
    pub extra_vars: &'a IndexMap<String, serde_json::Value>,
    pub limit: Option<&'a str>,
    pub run_id: &'a str,
    /// Template files named by `maintain: {template: {src}}`, already read.
    pub files: &'a HashMap<String, String>,
    /// The run's fingerprint key (see `fingerprint`); None: a plain sha256.
    pub fingerprint_key: Option<&'a str>,
    /// `--allow-quorum-loss`: roll an ensemble too small to keep a quorum
    /// without one node.
    pub allow_quorum_loss: bool,
}

/// The smallest ensemble that keeps a quorum with one node stopped.
const SMALLEST_SAFE_ENSEMBLE: usize = 3;

const DEFAULT_DELAY: Duration = Duration::secs(5);

pub fn build(i: &Inputs) -> Result<Plan, Diagnostics> {
    let pb = i.playbook;
    let src = i.playbook_src;
    let mut errors = Diagnostics::default();

    let ids = task_ids(pb, src, &mut errors);
    check_phases(pb, src, &mut errors);
    let chosen = select_hosts(i, &mut errors);
    let order = chosen
        .as_ref()
        .and_then(|(_, targets)| rolling_order(i, targets, &mut errors));
    // Without hosts and an order nothing can be rendered; other problems
    // (duplicate ids, misplaced tasks) still let rendering find more.
    let (Some((selected, targets)), Some((order, leader_last))) = (chosen, order) else {
        return Err(errors);
    };
    let is_target: HashSet<&str> = targets.iter().map(|h| h.name.as_str()).collect();

    let secrets: HashSet<String> = pb.secrets.iter().cloned().collect();
    let renderer = Renderer::new(secrets.clone());
    let problems = Problems::default();

    // Layers shared by every host, built once.
    let shared = shared_builtins(i, &selected);
    let raw_of =
        |vars: &IndexMap<String, serde_json::Value>, place: &str| -> Vec<(String, RawVar)> {
            vars.iter()
                .map(|(k, v)| {
                    let raw = RawVar {
                        value: InvValue::from_json(v),
                        place: Some(place.to_string()),
                        secret: secrets.contains(k),
                        ready: None,
                        ready_redacted: None,
                    };
                    (k.clone(), raw)
                })
                .collect()
        };
    let playbook_vars = raw_of(&pb.vars, &format!("{} (`vars`)", src.path));
    let extra_vars = raw_of(i.extra_vars, "-e");
    let lazy_env = Arc::new(crate::render::syntax_env());
    let mut secret_values: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let decrypted = Arc::new(i.inventory.decrypted.clone());
    // `hostvars`: any inventory host's variables, rendered lazily with that
    // host's own layers (built on first use from a copy of the inventory's
    // hosts, so the object can outlive this call's borrows).
    let builder: Arc<std::sync::OnceLock<Box<HostBuilder>>> = Arc::default();
    let names: Vec<String> = i.inventory.hosts.iter().map(|h| h.name.clone()).collect();
    let hv_real = HostVars::new(names.clone(), builder.clone(), false);
    let hv_redacted = HostVars::new(names, builder.clone(), true);
    let layers = Arc::new(Layers {
        shared,
        hostvars: (
            Value::from_dyn_object(hv_real),
            Value::from_dyn_object(hv_redacted),
        ),
        playbook_vars,
        extra_vars,
        secrets: secrets.clone(),
    });
    {
        let layers = layers.clone();
        let hosts: Arc<Vec<Host>> = i.inventory.hosts.clone();
        let index = i.inventory.index.clone();
        let (decrypted, env) = (decrypted.clone(), lazy_env.clone());
        let _ = builder.set(Box::new(move |name: &str, redact: bool| {
            let host = &hosts[*index.get(name)?];
            let raw = Arc::new(layers.raw(host, &|_| None));
            Some(Lazy::new(raw, decrypted.clone(), env.clone(), redact))
        }));
    }

    let infos: Vec<TaskInfo> = pb
        .tasks
        .iter()
        .zip(&ids)
        .map(|(t, id)| task_info(t, id))
        .collect();
    let once_host = order[0].as_str();

    // One host at a time: its variables are needed only while its steps
    // are rendered, which keeps memory flat for large inventories.
    let mut hosts: Vec<PlanHost> = Vec::with_capacity(selected.len());
    // Steps by task, then host: each task's column is moved into its stage
    // and freed, so the steps never stand in memory twice.
    let mut per_task: Vec<Vec<Option<Step>>> = pb
        .tasks
        .iter()
        .map(|_| Vec::with_capacity(selected.len()))
        .collect();
    for host in &selected {
        let raw = layers.raw(host, &|p| Some(i.inventory.describe(p)));
        let names: Vec<String> = raw.keys().cloned().collect();
        let raw = Arc::new(raw);
        let real = Lazy::new(raw.clone(), decrypted.clone(), lazy_env.clone(), false);
        let redacted = real
            .has_secrets()
            .then(|| Lazy::new(raw.clone(), decrypted.clone(), lazy_env.clone(), true));
        let why = {
            let real = real.clone();
            Box::new(move || real.error().map(|e| e.to_string()))
        };
        let vars = Context::lazy(
            Value::from_dyn_object(real.clone()),
            redacted.map(Value::from_dyn_object),
            names,
            why,
        );
        let connection = host_connection(host, &raw, &real, i.inventory, i.connection, &mut errors);
        for name in &pb.secrets {
            if let Some(v) = real.var(name).filter(|v| !v.is_undefined() && !v.is_none()) {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                secret_values.insert(text);
            }
        }
        if let Some(p) = &connection.become_password {
            secret_values.insert(p.0.clone());
        }
        let service = render_service(pb, host, &connection, &renderer, &vars, src, &problems);
        let plan_host = PlanHost {
            name: host.name.clone(),
            connection: connection.clone(),
            zookeeper: service
                .as_ref()
                .map(|s| s.client.clone())
                .unwrap_or(Endpoint {
                    address: connection.address.clone(),
                    port: pb.service.client_port,
                }),
            four_letter_words: pb.service.four_letter_words,
            config: service
                .as_ref()
                .map(|s| s.config.real().to_string())
                .unwrap_or_default(),
        };
        for (ti, task) in pb.tasks.iter().enumerate() {
            let step = match &service {
                Some(_) if !is_target.contains(host.name.as_str()) => None,
                Some(_) if task.run == Run::Once && host.name != once_host => None,
                Some(service) => {
                    let cx = Cx {
                        host: &plan_host,
                        service,
                        renderer: &renderer,
                        vars: &vars,
                        src,
                        task_path: YamlPath::root().key("tasks").index(ti),
                        task_id: ids[ti].as_str(),
                        files: i.files,
                        problems: &problems,
                        allow_quorum_loss: i.allow_quorum_loss,
                    };
                    plan_step(task, &ids[ti], &cx)
                }
                None => None,
            };
            per_task[ti].push(step);
        }
        hosts.push(plan_host);
    }
    let position: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(n, h)| (h.name.as_str(), n))
        .collect();

    let serial = pb.rolling.serial.of(order.len());
    let mut stages: Vec<Stage> = Vec::new();
    let mut rolling: Option<Rolling> = None;
    for (ti, task) in pb.tasks.iter().enumerate() {
        match task.run {
            Run::Once => {
                if let Some(step) = per_task[ti][position[once_host]].take() {
                    stages.push(Stage::Once {
                        task: infos[ti].clone(),
                        step,
                    });
                }
            }
            Run::Parallel => {
                let steps: Vec<Step> = std::mem::take(&mut per_task[ti])
                    .into_iter()
                    .flatten()
                    .collect();
                stages.push(Stage::Parallel {
                    task: infos[ti].clone(),
                    steps,
                });
            }
            Run::Rolling => {
                let r = rolling.get_or_insert_with(|| Rolling {
                    order: pb.rolling.order.describe().to_string(),
                    leader_last,
                    serial: serial as u32,
                    max_failures: pb.rolling.max_failures,
                    hosts: order.clone(),
                    batches: order.chunks(serial).map(<[String]>::to_vec).collect(),
                    tasks: Vec::new(),
                    steps: order.iter().map(|h| (h.clone(), Vec::new())).collect(),
                });
                r.tasks.push(infos[ti].clone());
                for name in &order {
                    if let Some(step) = per_task[ti][position[name.as_str()]].take() {
                        r.steps[name].push(step);
                    }
                }
                per_task[ti] = Vec::new();
                // The rolling block is contiguous (checked above): close it
                // when the next task is not a rolling one.
                if pb.tasks.get(ti + 1).is_none_or(|t| t.run != Run::Rolling) {
                    stages.push(Stage::Rolling(rolling.take().expect("just filled")));
                }
            }
        }
    }

    errors.0.extend(problems.into_diagnostics());
    let stops_nodes = stages.iter().any(|s| match s {
        Stage::Rolling(r) => r
            .tasks
            .iter()
            .any(|t| t.kind.effect() == crate::tasks::Effect::TakesOut),
        _ => false,
    });
    // With hosts that cannot be reached as written, their count says nothing.
    if stops_nodes && !i.allow_quorum_loss && errors.is_empty() {
        check_quorum_slack(pb, src, hosts.len(), serial, &mut errors);
    }
    if !errors.is_empty() {
        // The secrets are not registered with the scrubber until the plan
        // stands: a message quoting one (a failed `{% include secret %}`)
        // is masked here.
        for d in &mut errors.0 {
            mask(d, &secret_values);
        }
        return Err(errors);
    }

    Ok(Plan {
        format: FORMAT,
        name: pb.name.clone(),
        playbook: src.path.clone(),
        inventory: i.inventory.shown.clone(),
        run_id: i.run_id.to_string(),
        fingerprint: fingerprint(i, &selected, &hosts),
        targets: targets.iter().map(|h| h.name.clone()).collect(),
        hosts,
        stages,
        secrets: secret_values.into_iter().collect(),
        fingerprint_key: i.fingerprint_key.unwrap_or_default().to_string(),
    })
}

/// A batch stops all its hosts at once: more of them than the ensemble's
/// fault tolerance (voters − quorum) loses the quorum while they are down.
/// The play's hosts stand for the voters here (observers are only known
/// live, where the gates count voters alone).
fn check_quorum_slack(
    pb: &Playbook,
    src: &Source,
    members: usize,
    serial: usize,
    errors: &mut Diagnostics,
) {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    if members < SMALLEST_SAFE_ENSEMBLE {
        errors.push(
            Diagnostic::new(format!(
                "the play's ensemble has {members} node{}: stopping any one of them loses the quorum, \
                 so every restart is an outage for its clients",
                s(members)
            ))
            .at(src.locate(&YamlPath::root().key("hosts"), Part::Value))
            .label(format!("{members} host{}", s(members)))
            .note("a quorum is a majority of the voters: 3 nodes survive one stop, 1 or 2 do not")
            .help("to restart it anyway, pass --allow-quorum-loss; if the inventory is missing nodes, add them"),
        );
        return;
    }
    let tolerance = members - crate::zk::ensemble::quorum(members);
    if serial > tolerance {
        let at = YamlPath::root().key("rolling").key("serial");
        errors.push(
            Diagnostic::new(format!(
                "`serial: {}` stops {serial} node{} at once, but an ensemble of {members} keeps its quorum \
                 with at most {tolerance} down",
                pb.rolling.serial,
                s(serial)
            ))
            .at(src.locate(&at, Part::Value))
            .label(format!("{serial} at once"))
            .note(format!(
                "a quorum is a majority of the voters: {} of {members}; with {serial} stopped, only {} would vote",
                crate::zk::ensemble::quorum(members),
                members - serial
            ))
            .help(if tolerance == 1 {
                "use `serial: 1`; --allow-quorum-loss rolls it anyway, with an outage".to_string()
            } else {
                format!(
                    "use `serial: {tolerance}` or less (1 is the safest); --allow-quorum-loss rolls it anyway, with an outage"
                )
            }),
        );
    }
}

/// One task on one host; None when rendering failed (the problem is recorded).
fn plan_step(task: &Task, id: &TaskId, cx: &Cx) -> Option<Step> {
    let r#become = task.r#become.unwrap_or(cx.host.connection.r#become);
    let step = |skip, action| Step {
        task: id.clone(),
        host: cx.host.name.clone(),
        r#become,
        skip,
        action,
    };
    if let Some(when) = &task.when {
        match cx.renderer.condition(&when.0, cx.vars) {
            Ok(true) => {}
            Ok(false) => return Some(step(Some(format!("when `{}` is false", when.0)), None)),
            Err(e) => {
                let d = Diagnostic::new(format!("{} in the `when` of task `{id}`", e.message()))
                    .at(cx.src.locate(&cx.field(&["when"]), Part::Value));
                cx.problems.add(d, &cx.host.name);
                return None;
            }
        }
    }
    let action = Action::plan(&task.kind, cx)?;
    Some(step(None, Some(action)))
}

/// Every host's connection from the inventory alone: when the playbook
/// cannot be read, the inventory's problems are still all found.
pub fn check_connections(inventory: &Inventory, defaults: &connection::Defaults) -> Diagnostics {
    let mut errors = Diagnostics::default();
    let env = Arc::new(crate::render::syntax_env());
    let decrypted = Arc::new(inventory.decrypted.clone());
    // The inventory's layers alone: no play, no `-e`, no `hostvars`.
    let layers = Layers {
        shared: BTreeMap::new(),
        hostvars: (Value::UNDEFINED, Value::UNDEFINED),
        playbook_vars: Vec::new(),
        extra_vars: Vec::new(),
        secrets: HashSet::new(),
    };
    for host in inventory.hosts.iter() {
        let raw = Arc::new(layers.raw(host, &|p| Some(inventory.describe(p))));
        let real = Lazy::new(raw.clone(), decrypted.clone(), env.clone(), false);
        host_connection(host, &raw, &real, inventory, defaults, &mut errors);
    }
    errors
}

/// The host's connection from its rendered variables; a problem is
/// reported at the variable that causes it.
fn host_connection(
    host: &Host,
    raw: &BTreeMap<String, RawVar>,
    real: &Arc<Lazy>,
    inventory: &Inventory,
    defaults: &connection::Defaults,
    errors: &mut Diagnostics,
) -> Connection {
    let lookup = |k: &str| -> Result<Option<Value>, String> {
        if !raw.contains_key(k) {
            return Ok(None);
        }
        real.clear_errors();
        match real.var(k) {
            Some(v) => Ok(Some(v)),
            None => Err(real
                .error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "cannot be rendered".into())),
        }
    };
    match connection::resolve(&host.name, &lookup, defaults) {
        Ok(c) => c,
        Err(e) => {
            let place = match e.var.as_deref() {
                Some(v) => host.vars.get(v).map(|v| &v.place),
                None => Some(&host.place),
            };
            let mut d = Diagnostic::new(format!("host `{}`: {}", host.name, e.message))
                .at(place.and_then(|p| {
                    inventory.snippet(p, e.var.as_deref().map_or(1, |v| v.chars().count()))
                }));
            if let Some(h) = e.help {
                d = d.help(h);
            }
            errors.push(d);
            Connection::default()
        }
    }
}

/// Replaces secret values in a diagnostic's texts with `********`.
fn mask(d: &mut Diagnostic, secrets: &std::collections::BTreeSet<String>) {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let hide = |s: &mut String| *s = crate::scrub::with(s, &secrets);
    hide(&mut d.message);
    d.notes.iter_mut().for_each(hide);
    if let Some(h) = d.help.as_mut() {
        hide(h);
    }
    if let Some(s) = d.snippet.as_mut() {
        hide(&mut s.line_text);
        if let Some(l) = s.label.as_mut() {
            hide(l);
        }
    }
}

/// The layers of a host's variables that every host shares.
struct Layers {
    shared: BTreeMap<String, Value>,
    /// `hostvars`, real and redacted.
    hostvars: (Value, Value),
    playbook_vars: Vec<(String, RawVar)>,
    extra_vars: Vec<(String, RawVar)>,
    secrets: HashSet<String>,
}

impl Layers {
    /// One host's variables before rendering, in Ansible's order, lowest
    /// first: magic variables, the inventory's, the play's `vars`, `-e`.
    /// Values render when used (see `inventory::lazy`).
    fn raw(
        &self,
        host: &Host,
        describe: &dyn Fn(&crate::inventory::Place) -> Option<String>,
    ) -> BTreeMap<String, RawVar> {
        let mut raw: BTreeMap<String, RawVar> = self
            .shared
            .iter()
            .map(|(k, v)| (k.clone(), RawVar::ready(v.clone())))
            .collect();
        raw.insert(
            "hostvars".into(),
            RawVar {
                ready_redacted: Some(self.hostvars.1.clone()),
                ..RawVar::ready(self.hostvars.0.clone())
            },
        );
        let magic = |v: Value| RawVar::ready(v);
        raw.insert(
            "inventory_hostname".into(),
            magic(Value::from(host.name.as_str())),
        );
        let short = host.name.split('.').next().unwrap_or(&host.name);
        raw.insert("inventory_hostname_short".into(), magic(Value::from(short)));
        let group_names: Vec<&str> = host
            .groups
            .iter()
            .map(String::as_str)
            .filter(|g| *g != "all")
            .collect();
        raw.insert(
            "group_names".into(),
            magic(Value::from_serialize(&group_names)),
        );
        for (k, v) in &host.vars {
            raw.insert(
                k.clone(),
                RawVar {
                    value: v.value.clone(),
                    place: describe(&v.place),
                    secret: self.secrets.contains(k),
                    ready: None,
                    ready_redacted: None,
                },
            );
        }
        raw.extend(self.playbook_vars.iter().cloned());
        raw.extend(self.extra_vars.iter().cloned());
        raw
    }
}

/// `groups`, `play_hosts`, `run_id`: the same for every host (`hostvars`
/// is an object of its own, see `Layers`).
fn shared_builtins(i: &Inputs, selected: &[&Host]) -> BTreeMap<String, Value> {
    let mut b = BTreeMap::new();
    b.insert(
        "groups".into(),
        Value::from_serialize(i.inventory.members()),
    );
    let play_hosts: Vec<&str> = selected.iter().map(|h| h.name.as_str()).collect();
    b.insert("play_hosts".into(), Value::from_serialize(&play_hosts));
    b.insert("run_id".into(), Value::from(i.run_id));
    b
}

fn render_service(
    pb: &Playbook,
    host: &Host,
    connection: &Connection,
    renderer: &Renderer,
    cx: &Context,
    src: &Source,
    problems: &Problems,
) -> Option<ServiceOnHost> {
    let s = &pb.service;
    let at = YamlPath::root().key("service");
    let field = |t: &crate::model::Template, name: &str| {
        render_field(
            renderer,
            cx,
            t.as_str(),
            src,
            &at.key(name),
            "`service`",
            &host.name,
            problems,
        )
    };
    let manager = field(&s.manager, "manager").and_then(|t| {
        let m = Manager::parse(t.real());
        if m.is_none() {
            let d = Diagnostic::new(format!(
                "`service.manager` renders to `{}`; it takes `script` or `systemd`",
                t.shown.trim()
            ))
            .at(src.locate(&at.key("manager"), Part::Value))
            .label(format!("renders to `{}`", t.shown.trim()))
            .help(
                "give the variable it reads `script` or `systemd` for these hosts \
                 (in the inventory, the playbook's `vars`, or with `-e`)",
            );
            problems.add(d, &host.name);
        }
        m
    });
    let script = field(&s.script, "script");
    let unit = field(&s.unit, "unit");
    let config = field(&s.config, "config");
    let log = field(&s.log, "log");
    let address = match &s.client_address {
        Some(t) => field(t, "client_address").map(|t| t.real().to_string()),
        None => Some(connection.address.clone()),
    };
    Some(ServiceOnHost {
        manager: manager?,
        script: script?,
        unit: unit?,
        config: config?,
        log: log?,
        client: Endpoint {
            address: address?,
            port: s.client_port,
        },
    })
}

fn task_info(t: &Task, id: &TaskId) -> TaskInfo {
    TaskInfo {
        id: id.clone(),
        kind: t.kind.kind(),
        name: t.name.clone().unwrap_or_else(|| t.kind.name().to_string()),
        run: t.run,
        timeout: t
            .timeout
            .unwrap_or_else(|| Action::default_timeout(t.kind.kind())),
        retries: t.retries,
        delay: t.delay.unwrap_or(DEFAULT_DELAY),
    }
}

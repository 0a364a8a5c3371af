//! playbook + inventory + extra variables → Plan. Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap, HashSet};

use indexmap::IndexMap;
use minijinja::Value;
use sha2::{Digest, Sha256};

use super::{FORMAT, Plan, PlanHost, Rolling, Stage, Step, TaskInfo};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::host::Endpoint;
use crate::inventory::{Host, Inventory, pattern};
use crate::model::playbook::Order;
use crate::model::task::{Kinds, Run};
use crate::model::{Duration, TaskId};
use crate::render::{Context, Renderer};
use crate::tasks::Action;
use crate::tasks::context::{Cx, Problems, ServiceOnHost, render_field};
use crate::tasks::{Playbook, Task, TaskKind};
use crate::yaml::{Part, Source, YamlPath};

pub struct Inputs<'a> {
    pub playbook: &'a Playbook,
    pub playbook_src: &'a Source,
    pub inventory: &'a Inventory,
    pub inventory_src: &'a Source,
    /// `-e` variables, highest precedence.
    pub extra_vars: &'a IndexMap<String, serde_json::Value>,
    pub limit: Option<&'a str>,
    pub run_id: &'a str,
    /// Template files named by `maintain: {template: {src}}`, already read.
    pub files: &'a HashMap<String, String>,
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
    let shared = shared_builtins(i, &selected, &secrets);
    let playbook_vars = to_values(pb.vars.iter());
    let extra_vars = to_values(i.extra_vars.iter());

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
    let mut per_host: Vec<Vec<Option<Step>>> = Vec::with_capacity(selected.len());
    for host in &selected {
        let mut own = shared.clone();
        own.insert("inventory_hostname".into(), Value::from(host.name.as_str()));
        let group_names: Vec<&str> = host
            .groups
            .iter()
            .map(String::as_str)
            .filter(|g| *g != "all")
            .collect();
        own.insert("group_names".into(), Value::from_serialize(&group_names));
        let inventory_vars = to_values(host.vars.iter().map(|(k, v)| (k, &v.value)));
        let vars = Context::new(
            &[&own, &inventory_vars, &playbook_vars, &extra_vars],
            &secrets,
        );
        let service = render_service(pb, host, &renderer, &vars, src, &problems);
        let plan_host = PlanHost {
            name: host.name.clone(),
            connection: host.connection.clone(),
            zookeeper: service
                .as_ref()
                .map(|s| s.client.clone())
                .unwrap_or(Endpoint {
                    address: host.connection.address.clone(),
                    port: pb.service.client_port,
                }),
            four_letter_words: pb.service.four_letter_words,
        };
        let steps = match &service {
            Some(_) if !is_target.contains(host.name.as_str()) => Vec::new(),
            Some(service) => pb
                .tasks
                .iter()
                .enumerate()
                .map(|(ti, task)| {
                    if task.run == Run::Once && host.name != once_host {
                        return None;
                    }
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
                })
                .collect(),
            None => Vec::new(),
        };
        hosts.push(plan_host);
        per_host.push(steps);
    }
    let position: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(n, h)| (h.name.as_str(), n))
        .collect();
    let mut take = |hi: usize, ti: usize| per_host[hi].get_mut(ti).and_then(Option::take);

    let serial = pb.rolling.serial.of(order.len());
    let mut stages: Vec<Stage> = Vec::new();
    let mut rolling: Option<Rolling> = None;
    for (ti, task) in pb.tasks.iter().enumerate() {
        match task.run {
            Run::Once => {
                if let Some(step) = take(position[once_host], ti) {
                    stages.push(Stage::Once {
                        task: infos[ti].clone(),
                        step,
                    });
                }
            }
            Run::Parallel => {
                let steps: Vec<Step> = (0..hosts.len()).filter_map(|hi| take(hi, ti)).collect();
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
                    if let Some(step) = take(position[name.as_str()], ti) {
                        r.steps[name].push(step);
                    }
                }
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
        Stage::Rolling(r) => r.tasks.iter().any(|t| t.kind == crate::tasks::Kind::Stop),
        _ => false,
    });
    if stops_nodes && !i.allow_quorum_loss {
        check_quorum_slack(pb, src, hosts.len(), serial, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    Ok(Plan {
        format: FORMAT,
        name: pb.name.clone(),
        playbook: src.path.clone(),
        inventory: i.inventory_src.path.clone(),
        run_id: i.run_id.to_string(),
        fingerprint: fingerprint(i, &selected),
        targets: targets.iter().map(|h| h.name.clone()).collect(),
        hosts,
        stages,
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

fn to_values<'a>(
    vars: impl Iterator<Item = (&'a String, &'a serde_json::Value)>,
) -> BTreeMap<String, Value> {
    vars.map(|(k, v)| (k.clone(), Value::from_serialize(v)))
        .collect()
}

/// `groups`, `hostvars`, `play_hosts`, `run_id`: the same for every host.
fn shared_builtins(
    i: &Inputs,
    selected: &[&Host],
    secrets: &HashSet<String>,
) -> BTreeMap<String, Value> {
    let mut b = BTreeMap::new();
    b.insert(
        "groups".into(),
        Value::from_serialize(i.inventory.members()),
    );
    // Secret variables are left out of `hostvars`: a value reached through
    // another host could not be redacted.
    let hostvars: IndexMap<&str, IndexMap<&str, &serde_json::Value>> = i
        .inventory
        .hosts
        .iter()
        .map(|h| {
            let vars = h
                .vars
                .iter()
                .filter(|(k, _)| !secrets.contains(*k))
                .map(|(k, v)| (k.as_str(), &v.value))
                .collect();
            (h.name.as_str(), vars)
        })
        .collect();
    b.insert("hostvars".into(), Value::from_serialize(&hostvars));
    let play_hosts: Vec<&str> = selected.iter().map(|h| h.name.as_str()).collect();
    b.insert("play_hosts".into(), Value::from_serialize(&play_hosts));
    b.insert("run_id".into(), Value::from(i.run_id));
    b
}

fn render_service(
    pb: &Playbook,
    host: &Host,
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
    let script = field(&s.script, "script");
    let unit = field(&s.unit, "unit");
    let config = field(&s.config, "config");
    let cli = field(&s.cli, "cli");
    let log = field(&s.log, "log");
    let address = match &s.client_address {
        Some(t) => field(t, "client_address").map(|t| t.real().to_string()),
        None => Some(host.connection.address.clone()),
    };
    Some(ServiceOnHost {
        manager: s.manager,
        script: script?,
        unit: unit?,
        config: config?,
        cli: cli?,
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

/// Explicit ids as written; the rest are named after their type (`stop`,
/// then `stop-2`, ...). Duplicates are errors: checkpoints key on ids.
fn task_ids(pb: &Playbook, src: &Source, errors: &mut Diagnostics) -> Vec<TaskId> {
    let tasks = YamlPath::root().key("tasks");
    let explicit: HashSet<&str> = pb
        .tasks
        .iter()
        .filter_map(|t| t.id.as_ref().map(|i| i.as_str()))
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut counts: HashMap<&str, usize> = TaskKind::NAMES.iter().map(|k| (*k, 0)).collect();
    let mut ids = Vec::with_capacity(pb.tasks.len());
    for (n, t) in pb.tasks.iter().enumerate() {
        let id = match &t.id {
            Some(id) => id.clone(),
            None => {
                let kind = t.kind.name();
                let mut candidate;
                loop {
                    let c = counts.get_mut(kind).expect("known kind");
                    *c += 1;
                    candidate = if *c == 1 {
                        kind.to_string()
                    } else {
                        format!("{kind}-{c}")
                    };
                    if !explicit.contains(candidate.as_str()) {
                        break;
                    }
                }
                TaskId(candidate)
            }
        };
        if let Some(first) = seen.get(id.as_str()) {
            let first_at = src
                .locate(&tasks.index(*first).key("id"), Part::Value)
                .or_else(|| src.locate(&tasks.index(*first), Part::Value))
                .map(|s| format!("{}:{}:{}", s.path, s.line, s.column))
                .unwrap_or_default();
            errors.push(
                Diagnostic::new(format!("duplicate task id `{id}`"))
                    .at(src.locate(&tasks.index(n).key("id"), Part::Value))
                    .label("used again here")
                    .note(format!("first used by task {} at {first_at}", first + 1))
                    .help("checkpoints and logs are keyed on task ids; give each task its own"),
            );
        } else {
            seen.insert(id.0.clone(), n);
        }
        ids.push(id);
    }
    ids
}

/// Rolling tasks form one block; `once` and `parallel` tasks go before or
/// after it, never inside, so "what runs when" reads top to bottom.
fn check_phases(pb: &Playbook, src: &Source, errors: &mut Diagnostics) {
    let tasks = YamlPath::root().key("tasks");
    if pb.tasks.is_empty() {
        errors.push(
            Diagnostic::new("the playbook has no tasks")
                .at(src.locate(&YamlPath::root().key("tasks"), Part::Key))
                .help("add tasks such as `- {id: stop, stop: {}}`"),
        );
        return;
    }
    let first = pb.tasks.iter().position(|t| t.run == Run::Rolling);
    let last = pb.tasks.iter().rposition(|t| t.run == Run::Rolling);
    if let (Some(first), Some(last)) = (first, last) {
        for n in first..=last {
            let t = &pb.tasks[n];
            if t.run != Run::Rolling {
                errors.push(
                    Diagnostic::new(format!(
                        "task {} runs `{}` but sits inside the rolling part",
                        n + 1,
                        t.run.as_str()
                    ))
                    .at(src.locate(&tasks.index(n).key("run"), Part::Value))
                    .help("move it before the first or after the last rolling task"),
                );
            }
        }
    }
}

/// The play's hosts (the `hosts:` pattern: the ensemble every check looks
/// at) and, within them, the targets (after --limit: the hosts steps run on).
type Chosen<'a> = (Vec<&'a Host>, Vec<&'a Host>);

fn select_hosts<'a>(i: &'a Inputs, errors: &mut Diagnostics) -> Option<Chosen<'a>> {
    let at = YamlPath::root().key("hosts");
    let inv = i.inventory;
    let mut chosen = match pattern::select(inv, &i.playbook.hosts) {
        Ok(c) => c,
        Err(m) => {
            errors.push(
                Diagnostic::new(format!(
                    "`hosts: {}` matches nothing: {m}",
                    i.playbook.hosts
                ))
                .at(i.playbook_src.locate(&at, Part::Value))
                .note(format!("inventory: {}", i.inventory_src.path)),
            );
            return None;
        }
    };
    if chosen.is_empty() {
        errors.push(
            Diagnostic::new(format!(
                "`hosts: {}` matches no host of the inventory",
                i.playbook.hosts
            ))
            .at(i.playbook_src.locate(&at, Part::Value))
            .note(format!("inventory: {}", i.inventory_src.path)),
        );
        return None;
    }
    let play: Vec<&Host> = chosen.iter().map(|n| &inv.hosts[*n]).collect();
    if let Some(limit) = i.limit {
        match pattern::select(inv, limit) {
            Ok(l) => chosen.retain(|h| l.contains(h)),
            Err(m) => {
                errors.push(Diagnostic::new(format!("--limit `{limit}`: {m}")));
                return None;
            }
        }
        if chosen.is_empty() {
            errors.push(Diagnostic::new(format!(
                "--limit `{limit}` leaves none of the play's hosts (`hosts: {}`)",
                i.playbook.hosts
            )));
            return None;
        }
    }
    Some((play, chosen.into_iter().map(|n| &inv.hosts[n]).collect()))
}

/// The planned order of the rolling part, and whether the leader is moved
/// last at run time.
fn rolling_order(
    i: &Inputs,
    selected: &[&Host],
    errors: &mut Diagnostics,
) -> Option<(Vec<String>, bool)> {
    let names: Vec<String> = selected.iter().map(|h| h.name.clone()).collect();
    match &i.playbook.rolling.order {
        Order::Inventory => Some((names, false)),
        Order::LeaderLast => Some((names, true)),
        Order::Explicit(list) => {
            let at = YamlPath::root().key("rolling").key("order");
            let mut out: Vec<String> = Vec::new();
            let before = errors.0.len();
            for (n, h) in list.iter().enumerate() {
                let item = at.index(n);
                if i.inventory.host(h.as_str()).is_none() {
                    errors.push(
                        Diagnostic::new(format!(
                            "`rolling.order` names `{h}`, which is not in the inventory"
                        ))
                        .at(i.playbook_src.locate(&item, Part::Value)),
                    );
                } else if out.contains(&h.0) {
                    errors.push(
                        Diagnostic::new(format!("`rolling.order` names `{h}` twice"))
                            .at(i.playbook_src.locate(&item, Part::Value))
                            .help("each host is restarted once; list it once"),
                    );
                } else if names.contains(&h.0) {
                    // Hosts outside --limit are dropped, not errors.
                    out.push(h.0.clone());
                }
            }
            let missing: Vec<&str> = names
                .iter()
                .filter(|n| !list.iter().any(|h| &h.0 == *n))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                errors.push(
                    Diagnostic::new(format!("`rolling.order` leaves out {}", missing.join(", ")))
                        .at(i.playbook_src.locate(&at, Part::Key))
                        .help("an explicit order lists every host of the play exactly once"),
                );
            }
            (errors.0.len() == before).then_some((out, false))
        }
    }
}

fn fingerprint(i: &Inputs, selected: &[&Host]) -> String {
    let hosts: Vec<serde_json::Value> = selected
        .iter()
        .map(|h| {
            let vars: IndexMap<&str, &serde_json::Value> =
                h.vars.iter().map(|(k, v)| (k.as_str(), &v.value)).collect();
            serde_json::json!({"name": h.name, "vars": vars, "connection": h.connection})
        })
        .collect();
    let mut files: Vec<(&String, &String)> = i.files.iter().collect();
    files.sort();
    let input = serde_json::json!({
        "format": FORMAT,
        "playbook": i.playbook,
        "hosts": hosts,
        "extra_vars": i.extra_vars,
        "limit": i.limit,
        "files": files,
    });
    let bytes = serde_json::to_vec(&input).expect("plain data serializes");
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

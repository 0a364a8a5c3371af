//! A task: common fields plus exactly one typed action (`stop: {...}`).
//!
//! The task mapping is read by hand rather than with `#[serde(flatten)]`:
//! flatten buffers the input and loses line numbers, and a hand-written
//! visitor can say "unknown task type `restart`" instead of a generic
//! "unknown field".

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::template::Condition;
use super::{Duration, TaskId};
use crate::diagnostic::did_you_mean;

/// The task types a playbook may use. The model knows their names, not
/// their arguments: those belong to the layer that implements the types
/// (`crate::tasks::TaskKind`), which reads them here through `read`.
pub trait Kinds: Sized + fmt::Debug + Clone + Serialize + JsonSchema {
    /// Every type key, in the order messages list them.
    const NAMES: &'static [&'static str];
    /// Reads the value of the type key `name` (one of `NAMES`).
    fn read<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<Self, A::Error>;
    fn name(&self) -> &'static str;
}

#[derive(Debug, Clone, Serialize)]
pub struct Task<K> {
    pub id: Option<TaskId>,
    pub name: Option<String>,
    pub run: Run,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub delay: Option<Duration>,
    pub r#become: Option<bool>,
    pub when: Option<Condition>,
    #[serde(flatten)]
    pub kind: K,
}

/// Where a task runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Run {
    /// Once for the whole play (an ensemble check, a notification).
    Once,
    /// On every host at the same time, outside the rolling part (backups).
    Parallel,
    /// Host by host inside the rolling part: the default.
    #[default]
    Rolling,
}

impl Run {
    pub fn as_str(self) -> &'static str {
        match self {
            Run::Once => "once",
            Run::Parallel => "parallel",
            Run::Rolling => "rolling",
        }
    }
}

const COMMON: [&str; 8] = [
    "id", "name", "run", "timeout", "retries", "delay", "become", "when",
];

enum Key {
    Common(&'static str),
    Kind(&'static str),
}

struct KeySeed<'a> {
    seen: &'a [&'static str],
    kind: Option<&'static str>,
    kinds: &'static [&'static str],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a task field name")
    }

    // Errors are raised here, while the key is read, so serde_yaml places
    // them at the key rather than at the start of the task.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        if let Some(c) = COMMON.iter().find(|c| **c == v) {
            if self.seen.contains(c) {
                return Err(E::custom(format!("duplicate field `{v}`")));
            }
            return Ok(Key::Common(c));
        }
        if let Some(k) = self.kinds.iter().find(|k| **k == v) {
            if let Some(first) = self.kind {
                return Err(E::custom(format!(
                    "task has two types, `{first}` and `{v}`: a task does one thing, so split it into two tasks"
                )));
            }
            return Ok(Key::Kind(k));
        }
        if v == "restart" {
            return Err(E::custom(
                "unknown task type `restart`: zkrun restarts with a `stop` task and a `start` task, so the node can be checked and maintained in between",
            ));
        }
        let list = |names: &[&str]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if did_you_mean(v, COMMON).is_some() {
            Err(E::custom(format!(
                "unknown field `{v}`, expected one of {}",
                list(&COMMON)
            )))
        } else {
            Err(E::custom(format!(
                "unknown task type `{v}`, expected one of {}",
                list(self.kinds)
            )))
        }
    }
}

impl<'de, K: Kinds> Deserialize<'de> for Task<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TaskVisitor(std::marker::PhantomData))
    }
}

struct TaskVisitor<K>(std::marker::PhantomData<K>);

impl<'de, K: Kinds> Visitor<'de> for TaskVisitor<K> {
    type Value = Task<K>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a task: a mapping with a type key such as `stop: {}`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Task<K>, A::Error> {
        let mut seen: Vec<&'static str> = Vec::new();
        let mut id = None;
        let mut name = None;
        let mut run = None;
        let mut timeout = None;
        let mut retries = None;
        let mut delay = None;
        let mut become_ = None;
        let mut when = None;
        let mut kind: Option<K> = None;
        while let Some(key) = map.next_key_seed(KeySeed {
            seen: &seen,
            kind: kind.as_ref().map(K::name),
            kinds: K::NAMES,
        })? {
            match key {
                Key::Common(field) => {
                    seen.push(field);
                    match field {
                        "id" => id = Some(map.next_value()?),
                        "name" => name = Some(map.next_value()?),
                        "run" => run = Some(map.next_value()?),
                        "timeout" => timeout = Some(map.next_value::<Timeout>()?.0),
                        "retries" => retries = Some(map.next_value::<Retries>()?.0),
                        "delay" => delay = Some(map.next_value()?),
                        "become" => become_ = Some(map.next_value()?),
                        "when" => when = Some(map.next_value()?),
                        _ => unreachable!("COMMON lists exactly these fields"),
                    }
                }
                Key::Kind(k) => kind = Some(K::read(k, &mut map)?),
            }
        }
        let kind = kind.ok_or_else(|| {
            de::Error::custom(format!(
                "task has no type: add one of {} (for example `stop: {{}}`)",
                K::NAMES.join(", ")
            ))
        })?;
        Ok(Task {
            id,
            name,
            run: run.unwrap_or_default(),
            timeout,
            retries: retries.unwrap_or(0),
            delay,
            r#become: become_,
            when,
            kind,
        })
    }
}

/// A task's timeout: zero would fail every step before it ran (and a
/// forced stop would kill at once).
struct Timeout(Duration);

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::duration::nonzero(
            d,
            "`timeout: 0s` gives the task no time at all; give it the longest it may take, like `90s`",
        )
        .map(Timeout)
    }
}

/// The most retries a task may ask for: each attempt of a gate or a check
/// can wait its whole timeout, so more is a typo, not a plan.
pub const MAX_RETRIES: u32 = 100;

struct Retries(u32);

impl<'de> Deserialize<'de> for Retries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::checked::number(d, "a whole number of retries", |n| {
            if n > MAX_RETRIES as u64 {
                Err(format!(
                    "`retries: {n}` is too many (at most {MAX_RETRIES}); with `delay` and the task's `timeout` each retry can take minutes"
                ))
            } else {
                Ok(Retries(n as u32))
            }
        })
    }
}

/// The JSON Schema of a task. Only used for the schema: it describes the same
/// shape that the hand-written visitor above accepts.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TaskSchema<K> {
    /// Stable id; checkpoints and logs key on it. Defaults to the task type
    /// (`stop`, then `stop-2`, ...). Lowercase letters, digits, `-`, `_`.
    id: Option<TaskId>,
    /// What the plan and the progress display call this task.
    name: Option<String>,
    /// `once`, `parallel` (every host at once, outside the roll) or `rolling`.
    #[serde(default)]
    run: Run,
    /// Longest the task may take on one host before it fails.
    timeout: Option<Duration>,
    /// How often to try again after a failure (default 0, at most 100).
    #[schemars(range(max = 100))]
    retries: Option<u32>,
    /// Wait between tries (default 5s).
    delay: Option<Duration>,
    /// Run commands through `sudo -n` (default: the host's `ansible_become`).
    r#become: Option<bool>,
    /// A minijinja expression over the host's variables; the task is skipped
    /// on hosts where it is false.
    when: Option<Condition>,
    #[serde(flatten)]
    kind: K,
}

impl<K: Kinds> JsonSchema for Task<K> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Task".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        TaskSchema::<K>::json_schema(g)
    }
}

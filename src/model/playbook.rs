//! The playbook file: what to run, on which hosts, in which order.

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::task::Task;
use super::{HostName, Template};

pub type Vars = IndexMap<String, serde_json::Value>;

// A playbook whose tasks are of the types `K` (`crate::tasks::Playbook`
// names the concrete one). A plain comment: doc comments land in the schema.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "K: super::task::Kinds"),
    expecting = "a playbook: a mapping with `name`, `hosts` and `tasks`"
)]
#[schemars(bound = "K: super::task::Kinds")]
pub struct Playbook<K> {
    /// Shown in the plan and the progress display.
    pub name: String,
    /// Which inventory hosts to run on: a group, a host, or a pattern
    /// (`zookeeper`, `zk*`, `east:west`, `zookeeper:!zk3`, `all:&canary`).
    pub hosts: String,
    /// Variables for templates; they override inventory variables.
    #[serde(default)]
    pub vars: Vars,
    /// Names of variables whose values are secret: shown as `********` in
    /// every output zkrun prints or stores.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// How ZooKeeper is managed on the hosts.
    #[serde(default)]
    pub service: Service,
    /// How the rolling part moves through the hosts.
    #[serde(default)]
    pub rolling: Rolling,
    pub tasks: Vec<Task<K>>,
}

/// What starts and stops ZooKeeper on a host: `service.manager` as
/// rendered for that host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Manager {
    /// ZooKeeper's own `zkServer.sh start|stop`.
    #[default]
    Script,
    /// `systemctl start|stop <unit>`.
    Systemd,
}

impl Manager {
    pub const NAMES: [&str; 2] = ["script", "systemd"];

    /// The manager a (rendered) value names; surrounding blanks are
    /// ignored, as a template's own line breaks would be.
    pub fn parse(s: &str) -> Option<Manager> {
        match s.trim() {
            "script" => Some(Manager::Script),
            "systemd" => Some(Manager::Systemd),
            _ => None,
        }
    }
}

/// How four-letter words reach a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AskVia {
    /// Asked on the node's own host, through its SSH connection: no client
    /// port needs to be reachable from where zkrun runs.
    #[default]
    Ssh,
    /// zkrun connects to `client_address:client_port` itself (TCP).
    Direct,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// What starts and stops ZooKeeper: `script` (`zkServer.sh`) or
    /// `systemd` (`systemctl`, with `unit`). A template may choose per
    /// host: `"{{ zk_manager | default('script') }}"`.
    #[serde(default = "default_manager", deserialize_with = "manager")]
    #[schemars(schema_with = "manager_schema")]
    pub manager: Template,
    /// The control script, for `manager: script`.
    #[serde(default = "default_script")]
    pub script: Template,
    /// The unit, for `manager: systemd`.
    #[serde(default = "default_unit")]
    pub unit: Template,
    /// ZooKeeper's client port, where four-letter words are asked.
    #[serde(default = "default_client_port", deserialize_with = "port")]
    #[schemars(range(min = 1))]
    pub client_port: u16,
    /// The address the node's client port listens on, as seen from the host
    /// itself. Default: the host's `ansible_host` (or its name).
    #[serde(default)]
    pub client_address: Option<Template>,
    /// The live config file; data directories are read from it at run time.
    #[serde(default = "default_config")]
    pub config: Template,
    /// No longer used: `verify`'s read speaks ZooKeeper's protocol itself.
    /// Accepted so that older playbooks load; a note says to remove it.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub cli: Option<Template>,
    /// The server log, scanned by `verify` for fatal lines.
    #[serde(default = "default_log")]
    pub log: Template,
    /// How four-letter words are asked: `ssh` (default) or `direct`.
    #[serde(default)]
    pub four_letter_words: AskVia,
}

fn default_manager() -> Template {
    Template::new("script")
}

/// A literal is checked here, where serde_yaml still knows its place; a
/// template is checked for its syntax, and its value per host when the
/// plan is built.
fn manager<'de, D: Deserializer<'de>>(d: D) -> Result<Template, D::Error> {
    super::checked::string(
        d,
        "`script`, `systemd`, or a template that renders to one of them",
        |s| {
            let t = Template::new(s);
            if !t.is_plain() {
                Template::check(s)?;
            } else if Manager::parse(s).is_none() {
                return Err(format!(
                    "`manager: {s}` is no service manager zkrun knows; it takes `script` (zkServer.sh) or `systemd` (systemctl), or a template that renders to one of them"
                ));
            }
            Ok(t)
        },
    )
}

/// A literal names a manager; anything else must be a template (the
/// field's doc comment is the description).
fn manager_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"type": "string", "enum": Manager::NAMES},
            {"type": "string", "pattern": "\\{[{%#]"}
        ]
    })
}

fn default_script() -> Template {
    Template::new("/usr/share/zookeeper/bin/zkServer.sh")
}
fn default_unit() -> Template {
    Template::new("zookeeper")
}
fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    super::checked::number(d, "a TCP port from 1 to 65535", |n| match n {
        0 => Err(
            "`client_port: 0` is no port a server listens on; ZooKeeper's default is 2181".into(),
        ),
        n => u16::try_from(n)
            .map_err(|_| format!("`client_port: {n}` is not a TCP port (1 to 65535)")),
    })
}

fn default_client_port() -> u16 {
    2181
}
fn default_config() -> Template {
    Template::new("/etc/zookeeper/conf/zoo.cfg")
}
fn default_log() -> Template {
    Template::new("/var/log/zookeeper/zookeeper.log")
}

impl Default for Service {
    fn default() -> Self {
        Service {
            manager: default_manager(),
            script: default_script(),
            unit: default_unit(),
            client_port: default_client_port(),
            client_address: None,
            config: default_config(),
            cli: None,
            log: default_log(),
            four_letter_words: AskVia::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rolling {
    /// Hosts restarted at the same time: a number, or a percentage of the
    /// play's hosts (`"30%"`, rounded down, at least 1, as Ansible does).
    /// 1 keeps the most quorum slack; more than the ensemble's fault
    /// tolerance (voters − quorum) is refused unless `--allow-quorum-loss`.
    #[serde(default)]
    pub serial: Serial,
    #[serde(default)]
    pub order: Order,
    /// Failed hosts tolerated before the roll stops (default 0: stop at the
    /// first failure and touch no further host).
    #[serde(default)]
    pub max_failures: u32,
}

/// How many hosts a batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serial {
    Hosts(u32),
    /// 1–100 % of the hosts that roll.
    Percent(u32),
}

impl Default for Serial {
    fn default() -> Self {
        Serial::Hosts(1)
    }
}

impl Serial {
    /// Hosts per batch out of `hosts`: Ansible's rule for percentages
    /// (`pct_to_int`: rounded down, at least 1).
    pub fn of(self, hosts: usize) -> usize {
        match self {
            Serial::Hosts(n) => n as usize,
            Serial::Percent(p) => (hosts * p as usize / 100).max(1),
        }
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Serial::Hosts(n) => write!(f, "{n}"),
            Serial::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for Serial {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Serial::Hosts(n) => s.serialize_u32(*n),
            Serial::Percent(_) => s.serialize_str(&self.to_string()),
        }
    }
}

/// The largest `serial` that is not a typo: nobody restarts more nodes at once.
const MAX_SERIAL: u64 = 10_000;

impl<'de> Deserialize<'de> for Serial {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Serial;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number of hosts (at least 1) or a percentage like \"30%\"")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Serial, E> {
                match n {
                    0 => Err(E::custom(
                        "`serial: 0` would restart no host; use 1 (one host at a time) or more",
                    )),
                    n if n > MAX_SERIAL => Err(E::custom(format!(
                        "`serial: {n}` is too large (at most {MAX_SERIAL})"
                    ))),
                    n => Ok(Serial::Hosts(n as u32)),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Serial, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "`serial: {n}` is negative: give a number of hosts, at least 1"
                    ))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Serial, E> {
                let bad = || {
                    E::custom(format!(
                        "`serial: {v}` is not a number of hosts or a percentage from 1% to 100%"
                    ))
                };
                let Some(digits) = v.trim().strip_suffix('%') else {
                    return match v.trim().parse::<u64>() {
                        Ok(n) => self.visit_u64(n),
                        Err(_) => Err(bad()),
                    };
                };
                match digits.trim().parse::<u32>() {
                    Ok(p) if (1..=100).contains(&p) => Ok(Serial::Percent(p)),
                    _ => Err(bad()),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Serial {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Serial".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Hosts per batch: a number (at least 1) or a percentage of the rolling hosts such as \"30%\" (rounded down, at least 1).",
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_SERIAL},
                {"type": "string", "pattern": "^(100|[1-9][0-9]?)%$"}
            ]
        })
    }
}

/// The order of the rolling part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Order {
    /// Inventory order.
    Inventory,
    /// Inventory order, but the host that leads the ensemble when its turn
    /// would come is moved to the end. Decided live, re-checked before each host.
    #[default]
    LeaderLast,
    /// Exactly these hosts, in this order.
    Explicit(Vec<HostName>),
}

impl Order {
    pub fn describe(&self) -> &'static str {
        match self {
            Order::Inventory => "inventory",
            Order::LeaderLast => "leader-last",
            Order::Explicit(_) => "explicit",
        }
    }
}

impl Serialize for Order {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Order::Explicit(hosts) => hosts.serialize(s),
            other => s.serialize_str(other.describe()),
        }
    }
}

// Hand-written so an explicit list and the two keywords share one field
// without `untagged`, which would lose the error's line number.
impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Order;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`inventory`, `leader-last`, or a list of host names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Order, E> {
                match v {
                    "inventory" => Ok(Order::Inventory),
                    "leader-last" => Ok(Order::LeaderLast),
                    _ => Err(E::custom(format!(
                        "unknown variant `{v}`, expected `inventory` or `leader-last` (or a list of host names)"
                    ))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Order, A::Error> {
                let mut hosts = Vec::new();
                while let Some(h) = seq.next_element()? {
                    hosts.push(h);
                }
                Ok(Order::Explicit(hosts))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Order {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Order".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let host = g.subschema_for::<HostName>();
        schemars::json_schema!({
            "description": "`leader-last` (default): inventory order with the live leader moved to the end; `inventory`; or an explicit list of hosts.",
            "oneOf": [
                {"type": "string", "enum": ["inventory", "leader-last"]},
                {"type": "array", "items": host}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Source;

    fn service(text: &str) -> Result<Service, String> {
        Source::new("p.yaml", text)
            .parse::<Service>("service")
            .map_err(|d| d.render())
    }

    #[test]
    fn the_manager_is_a_known_literal_or_a_template() {
        assert_eq!(service("{}").unwrap().manager.as_str(), "script");
        assert_eq!(
            service("manager: systemd").unwrap().manager.as_str(),
            "systemd"
        );
        let t = "manager: \"{{ zk_manager | default('script') }}\"";
        assert_eq!(
            service(t).unwrap().manager.as_str(),
            "{{ zk_manager | default('script') }}"
        );
        let e = service("\nmanager: upstart").unwrap_err();
        assert!(
            e.contains("`manager: upstart` is no service manager"),
            "{e}"
        );
        assert!(e.contains("p.yaml:2:10"), "{e}");
        let e = service("manager: \"{{ zk_manager \"").unwrap_err();
        assert!(e.contains("syntax error in template"), "{e}");
    }

    #[test]
    fn a_rendered_manager_is_read_without_its_blanks() {
        assert_eq!(Manager::parse("systemd"), Some(Manager::Systemd));
        assert_eq!(Manager::parse(" script\n"), Some(Manager::Script));
        assert_eq!(Manager::parse("Systemd"), None);
        assert_eq!(Manager::parse(""), None);
    }
}

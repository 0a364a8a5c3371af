//! Ansible's YAML inventory format, read as it is written.
//!
//! ```yaml
//! all:
//!   vars: {ansible_user: root}
//!   children:
//!     zookeeper:
//!       hosts:
//!         zk1: {ansible_host: 10.0.0.11}
//! ```
//!
//! A group may be named in several places; like Ansible, zkrun merges the
//! places. Resolution (groups, variables, patterns) lives in `crate::inventory`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::HostName;
use super::playbook::Vars;

/// Top-level groups, usually just `all`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct InventoryFile(pub IndexMap<HostName, Option<Group>>);

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a group: a mapping with `hosts`, `children` or `vars`"
)]
pub struct Group {
    /// Hosts of this group, each with its own variables (or nothing).
    #[serde(default)]
    pub hosts: Option<IndexMap<HostName, Option<Vars>>>,
    /// Groups inside this group: their hosts are this group's hosts too.
    #[serde(default)]
    pub children: Option<IndexMap<HostName, Option<Group>>>,
    /// Variables for every host of this group (a child group's win).
    #[serde(default)]
    pub vars: Option<Vars>,
}

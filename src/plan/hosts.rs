//! Which hosts the play covers, which of them steps run on (`--limit`),
//! and the planned order of the rolling part.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::inventory::{Host, pattern};
use crate::model::playbook::Order;
use crate::yaml::{Part, YamlPath};

use super::build::Inputs;

/// The play's hosts (the `hosts:` pattern: the ensemble every check looks
/// at) and, within them, the targets (after --limit: the hosts steps run on).
pub(super) type Chosen<'a> = (Vec<&'a Host>, Vec<&'a Host>);

pub(super) fn select_hosts<'a>(i: &'a Inputs, errors: &mut Diagnostics) -> Option<Chosen<'a>> {
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
                .note(format!("inventory: {}", i.inventory.shown)),
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
            .note(format!("inventory: {}", i.inventory.shown)),
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
pub(super) fn rolling_order(
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

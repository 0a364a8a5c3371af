//! Host patterns, as in Ansible: `all`, a group, a host, globs (`zk*`), and
//! `:`- or `,`-separated terms where `&g` intersects and `!g` excludes.
//!
//! The hosts come in Ansible's order (ansible-core `InventoryManager.
//! _evaluate_patterns`): the plain terms first, in the order written, each
//! adding its hosts not seen yet; then `&` terms, then `!` terms. A term that
//! names a host is that host; a group gives its own hosts, then its child
//! groups' hosts, level by level (`Group.get_hosts`); a glob gives the hosts
//! of the groups it matches, then the hosts it matches.

use std::collections::{HashMap, HashSet};

use super::{Inventory, known_names};
use crate::diagnostic::did_you_mean;

/// The indices of the hosts a pattern selects, in Ansible's order.
pub fn select(inv: &Inventory, pattern: &str) -> Result<Vec<usize>, String> {
    let terms: Vec<&str> = pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if terms.is_empty() {
        return Err("the host pattern is empty".into());
    }
    let index: HashMap<&str, usize> = inv
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.as_str(), i))
        .collect();
    let mut plain: Vec<&str> = terms
        .iter()
        .copied()
        .filter(|t| !t.starts_with(['&', '!']))
        .collect();
    // Only `&`/`!` terms start from all hosts, as in Ansible.
    if plain.is_empty() {
        plain.push("all");
    }
    let mut hosts: Vec<usize> = Vec::new();
    for term in plain {
        let hits = match index.get(term) {
            Some(i) => vec![*i],
            None => matches(inv, &index, term)?,
        };
        let seen: HashSet<usize> = hosts.iter().copied().collect();
        let mut added = HashSet::new();
        for h in hits {
            if !seen.contains(&h) && added.insert(h) {
                hosts.push(h);
            }
        }
    }
    for term in terms.iter().filter(|t| t.starts_with('&')) {
        let keep: HashSet<usize> = matches(inv, &index, &term[1..])?.into_iter().collect();
        hosts.retain(|h| keep.contains(h));
    }
    for term in terms.iter().filter(|t| t.starts_with('!')) {
        let drop: HashSet<usize> = matches(inv, &index, &term[1..])?.into_iter().collect();
        hosts.retain(|h| !drop.contains(h));
    }
    Ok(hosts)
}

/// A group's hosts: its own, then each level of its descendants.
fn group_hosts(inv: &Inventory, index: &HashMap<&str, usize>, group: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen_hosts = HashSet::new();
    let mut seen_groups: HashSet<&str> = HashSet::from([group]);
    let mut level: Vec<&str> = vec![group];
    while !level.is_empty() {
        let mut next = Vec::new();
        for g in &level {
            let Some(data) = inv.groups.get(*g) else {
                continue;
            };
            for h in &data.hosts {
                if let Some(i) = index.get(h.as_str())
                    && seen_hosts.insert(*i)
                {
                    out.push(*i);
                }
            }
            for c in &data.children {
                if seen_groups.insert(c.as_str()) {
                    next.push(c.as_str());
                }
            }
        }
        level = next;
    }
    out
}

fn matches(
    inv: &Inventory,
    index: &HashMap<&str, usize>,
    name: &str,
) -> Result<Vec<usize>, String> {
    if name == "all" {
        return Ok(group_hosts(inv, index, "all"));
    }
    if name.starts_with('~') {
        return Err(format!(
            "`{name}`: regular-expression patterns are not supported; use a group, a host or a glob like `zk*`"
        ));
    }
    if name.contains(['*', '?']) {
        let mut out = Vec::new();
        for g in inv.groups.keys().filter(|g| glob(name, g)) {
            out.extend(group_hosts(inv, index, g));
        }
        out.extend(
            inv.hosts
                .iter()
                .enumerate()
                .filter(|(_, h)| glob(name, &h.name))
                .map(|(i, _)| i),
        );
        return Ok(out);
    }
    if inv.groups.contains_key(name) {
        return Ok(group_hosts(inv, index, name));
    }
    if let Some(i) = index.get(name) {
        return Ok(vec![*i]);
    }
    let mut msg = format!("`{name}` is neither a group nor a host of the inventory");
    if let Some(best) = did_you_mean(name, known_names(inv)) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    }
    Err(msg)
}

/// `*` matches any run of characters, `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Inventory {
        super::super::from_yaml(
            "all:\n  children:\n    zookeeper:\n      hosts: {zk1: , zk2: , zk3: }\n    canary:\n      hosts: {zk2: }\n    web:\n      hosts: {web1: }\n",
        )
        .unwrap()
    }

    fn names(inv: &Inventory, p: &str) -> Vec<String> {
        select(inv, p)
            .unwrap()
            .into_iter()
            .map(|i| inv.hosts[i].name.clone())
            .collect()
    }

    #[test]
    fn groups_hosts_globs_and_set_operations() {
        let i = inv();
        assert_eq!(names(&i, "zookeeper"), ["zk1", "zk2", "zk3"]);
        assert_eq!(names(&i, "zk*"), ["zk1", "zk2", "zk3"]);
        assert_eq!(names(&i, "zookeeper:!canary"), ["zk1", "zk3"]);
        assert_eq!(names(&i, "all:&canary"), ["zk2"]);
        assert_eq!(
            names(&i, "web1,zk3"),
            ["web1", "zk3"],
            "in the order written"
        );
        assert_eq!(names(&i, "all").len(), 4);
    }

    #[test]
    fn unknown_names_get_a_suggestion() {
        let err = select(&inv(), "zookeper").unwrap_err();
        assert!(err.contains("did you mean `zookeeper`?"), "{err}");
    }
}

//! Host patterns, as in Ansible: `all`, a group, a host, globs (`zk*`), and
//! `:`- or `,`-separated terms where `&g` intersects and `!g` excludes.

use super::{Inventory, known_names};
use crate::diagnostic::did_you_mean;

/// The indices of the hosts a pattern selects, in inventory order.
pub fn select(inv: &Inventory, pattern: &str) -> Result<Vec<usize>, String> {
    let terms: Vec<&str> = pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if terms.is_empty() {
        return Err("the host pattern is empty".into());
    }
    let mut union: Option<Vec<bool>> = None;
    let mut keep = vec![true; inv.hosts.len()];
    for term in terms {
        let (op, name) = match term.as_bytes()[0] {
            b'!' => ('!', &term[1..]),
            b'&' => ('&', &term[1..]),
            _ => ('+', term),
        };
        let hits = matches(inv, name)?;
        match op {
            '!' => keep.iter_mut().zip(&hits).for_each(|(k, h)| *k &= !h),
            '&' => keep.iter_mut().zip(&hits).for_each(|(k, h)| *k &= h),
            _ => {
                let u = union.get_or_insert_with(|| vec![false; inv.hosts.len()]);
                u.iter_mut().zip(&hits).for_each(|(u, h)| *u |= h);
            }
        }
    }
    // A pattern of only `&`/`!` terms starts from all hosts, as in Ansible.
    let base = union.unwrap_or_else(|| vec![true; inv.hosts.len()]);
    Ok((0..inv.hosts.len())
        .filter(|i| base[*i] && keep[*i])
        .collect())
}

fn matches(inv: &Inventory, name: &str) -> Result<Vec<bool>, String> {
    if name == "all" || name == "*" {
        return Ok(vec![true; inv.hosts.len()]);
    }
    if name.starts_with('~') {
        return Err(format!(
            "`{name}`: regular-expression patterns are not supported; use a group, a host or a glob like `zk*`"
        ));
    }
    if name.contains(['*', '?']) {
        let hits: Vec<bool> = inv
            .hosts
            .iter()
            .map(|h| glob(name, &h.name) || h.groups.iter().any(|g| glob(name, g)))
            .collect();
        return Ok(hits);
    }
    if inv.groups.contains_key(name) {
        return Ok(inv
            .hosts
            .iter()
            .map(|h| h.groups.iter().any(|g| g == name))
            .collect());
    }
    if inv.hosts.iter().any(|h| h.name == name) {
        return Ok(inv.hosts.iter().map(|h| h.name == name).collect());
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
        assert_eq!(names(&i, "web1,zk3"), ["zk3", "web1"]);
        assert_eq!(names(&i, "all").len(), 4);
    }

    #[test]
    fn unknown_names_get_a_suggestion() {
        let err = select(&inv(), "zookeper").unwrap_err();
        assert!(err.contains("did you mean `zookeeper`?"), "{err}");
    }
}

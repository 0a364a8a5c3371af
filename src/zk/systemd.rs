//! What systemd knows about a server run as a unit (`manager: systemd`):
//! the unit each JVM runs in, how the unit ended, and its journal, where a
//! unit running `zkServer.sh start-foreground` with log4j's CONSOLE
//! appender logs instead of a file.
//!
//! The unit and the journal cursor reach the host as argv words (`"$0"`,
//! `"$1"` in a script), never spliced into shell text: a cursor comes back
//! from the state file, which is read as untrusted.

use std::time::Duration;

use super::probe::{FATAL, PROBE_TIMEOUT, lines};
use crate::host::exec::Exec;
use crate::host::transport::Transport;

/// Reading a unit's journal goes through its index, but a busy journal on
/// a slow disk takes longer than a four-letter word.
const JOURNAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The unit types systemctl recognises by a name's suffix.
const UNIT_TYPES: [&str; 11] = [
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

/// The unit's full name as systemctl completes it (and as `ps -o unit=`
/// and the journal name it): `zookeeper` is `zookeeper.service`,
/// `zookeeper@1` is `zookeeper@1.service`; a name that ends in a unit type
/// stays as it is, and any other suffix (`zk.prod`) is part of the name.
pub fn unit_name(unit: &str) -> String {
    let unit = unit.trim();
    match unit.rsplit_once('.') {
        Some((stem, suffix)) if !stem.is_empty() && UNIT_TYPES.contains(&suffix) => {
            unit.to_string()
        }
        _ => format!("{unit}.service"),
    }
}

/// The cursor `journalctl --show-cursor` printed after the entries: the
/// text after the last `-- cursor: ` line's marker.
pub fn parse_cursor(out: &str) -> Option<String> {
    out.lines()
        .rev()
        .find_map(|l| l.strip_prefix("-- cursor: "))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// Where the unit's journal ends now, so that `verify` reads only what a
/// start wrote. `Some("")`: the unit has no entries yet, so everything it
/// logs comes after this point. None: the journal could not be read
/// (no journalctl, no systemd, sudo refused): nothing is recorded and the
/// journal is not checked (and the start says so).
pub async fn cursor<T: Transport>(x: &Exec<'_, T>, unit: &str) -> Option<String> {
    // The last entry with its cursor, not `--lines=0`: older journalctl
    // prints no cursor when it shows no entry.
    let unit_arg = format!("--unit={unit}");
    let argv = [
        "journalctl",
        unit_arg.as_str(),
        "--lines=1",
        "--show-cursor",
        // Not --quiet: a user who may not read the system journal gets
        // nothing on stdout and exit 0, and only this hint on stderr says so.
        "--no-pager",
        "--output=cat",
    ];
    let out = x.query_as_step(&argv, JOURNAL_TIMEOUT).await.ok()?;
    if let Some(c) = parse_cursor(&String::from_utf8_lossy(&out.stdout)) {
        return Some(c);
    }
    // Nothing shown and nothing said: the unit never logged (systemd 247
    // exits 1 on an empty result with --show-cursor).
    let empty = matches!(out.code, Some(0 | 1)) && out.stdout.is_empty() && out.stderr.is_empty();
    empty.then(String::new)
}

/// What the unit logged to the journal after `cursor` (from its first
/// entry when the cursor is empty), as `log_errors::FILTER` sums it up for
/// `log_errors::judge`: the same lines the server log is searched for.
pub async fn error_lines_since<T: Transport>(
    x: &Exec<'_, T>,
    unit: &str,
    cursor: &str,
) -> Result<String, String> {
    // journalctl's own status rides along: a cursor it cannot seek to, or
    // a journal it may not read, must not read as "no errors".
    let script = r#"{ journalctl "--unit=$0" ${1:+"--after-cursor=$1"} --output=cat --no-pager --quiet 2>/dev/null; echo "zkrun-rc $?"; } | awk "$2""#;
    let out = x
        .query_as_step(
            &["sh", "-c", script, unit, cursor, super::log_errors::FILTER],
            JOURNAL_TIMEOUT,
        )
        .await?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Exit code of the fatal-lines script when the journal holds nothing for the unit.
const NO_ENTRIES: i32 = 3;

/// Fatal lines among the unit's last 400 journal lines; None when the
/// journal holds nothing for the unit (or cannot be read).
pub async fn fatal_lines<T: Transport>(x: &Exec<'_, T>, unit: &str) -> Option<Vec<String>> {
    let script = r#"out=$(journalctl "--unit=$0" --lines=400 --output=cat --no-pager --quiet 2>/dev/null)
[ -n "$out" ] || exit 3
printf '%s\n' "$out" | grep -E "$1" | tail -n 5"#;
    let pattern = FATAL.join("|");
    match x
        .query_as_step(&["sh", "-c", script, unit, &pattern], JOURNAL_TIMEOUT)
        .await
    {
        Ok(out) if out.code == Some(NO_ENTRIES) => None,
        Ok(out) => Some(lines(&out.stdout)),
        Err(e) => Some(vec![format!(
            "(could not read the journal of {}: {e})",
            unit_name(unit)
        )]),
    }
}

/// How many lines of `systemctl status` a failed start shows: the unit,
/// where it is loaded from, `Active:` with the result, the processes'
/// exit codes.
const STATUS_LINES: usize = 8;

/// The head of `systemctl status` for the unit: how it ended, in systemd's
/// words (`Active: failed (Result: exit-code)`, `Process: ... status=1`).
pub async fn status_lines<T: Transport>(x: &Exec<'_, T>, unit: &str) -> Vec<String> {
    let argv = ["systemctl", "status", "--no-pager", "--lines=0", "--", unit];
    // A stopped or failed unit's status exits 3: its text is the answer.
    match x.query(x.host, &argv, PROBE_TIMEOUT).await {
        Ok(out) => lines(&out.stdout)
            .into_iter()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.trim().is_empty())
            .take(STATUS_LINES)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Which unit each ZooKeeper JVM runs in.
#[derive(Debug, Default)]
pub struct PidUnits {
    /// Each pid with its unit (None: systemd names none, or `ps` cannot say).
    pub units: Vec<(u32, Option<String>)>,
    /// The pids that run in the playbook's unit (under any of its names).
    pub ours: Vec<u32>,
}

impl PidUnits {
    /// systemd named a unit for at least one pid: the host runs systemd
    /// and `ps` can tell.
    pub fn known(&self) -> bool {
        self.units.iter().any(|(_, u)| u.is_some())
    }

    /// The pids whose unit is one of `names`.
    fn matching(&self, names: &[String]) -> Vec<u32> {
        self.units
            .iter()
            .filter(|(_, u)| u.as_ref().is_some_and(|u| names.contains(u)))
            .map(|(p, _)| *p)
            .collect()
    }
}

/// The unit of each pid, as systemd records it (its cgroup; procps's
/// `ps -o unit=`), and which of them run in `unit`. An alias is matched
/// through the unit's `Names` (`zookeeperd` for `zookeeper.service`).
pub async fn pid_units<T: Transport>(
    x: &Exec<'_, T>,
    unit: &str,
    pids: &[u32],
) -> Result<PidUnits, String> {
    // `-` when procps prints it (no unit), fails (busybox, no systemd
    // support) or the process is gone.
    let script =
        r#"for p; do u=$(ps -o unit= -p "$p" 2>/dev/null) || u=-; echo "$p ${u:--}"; done"#;
    let words: Vec<String> = pids.iter().map(u32::to_string).collect();
    let mut argv = vec!["sh", "-c", script, "zkrun-units"];
    argv.extend(words.iter().map(String::as_str));
    let out = x.query(x.host, &argv, PROBE_TIMEOUT).await?;
    let mut found = PidUnits {
        units: parse_pid_units(&String::from_utf8_lossy(&out.stdout), pids),
        ours: Vec::new(),
    };
    let mut names = vec![unit_name(unit)];
    found.ours = found.matching(&names);
    if found.ours.is_empty() && found.known() {
        let argv = [
            "systemctl",
            "show",
            "--property=Names",
            "--value",
            "--",
            unit,
        ];
        if let Ok(out) = x.query(x.host, &argv, PROBE_TIMEOUT).await
            && out.success()
        {
            names.extend(
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_string),
            );
            found.ours = found.matching(&names);
        }
    }
    Ok(found)
}

/// `PID UNIT` lines; a pid the script did not answer for has no unit.
fn parse_pid_units(out: &str, pids: &[u32]) -> Vec<(u32, Option<String>)> {
    pids.iter()
        .map(|pid| {
            let unit = out.lines().find_map(|l| {
                let (p, u) = l.trim().split_once(char::is_whitespace)?;
                (p.parse::<u32>().ok()? == *pid).then(|| u.trim())
            });
            let unit = unit
                .filter(|u| !u.is_empty() && *u != "-")
                .map(str::to_string);
            (*pid, unit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_without_a_type_is_a_service() {
        assert_eq!(unit_name("zookeeper"), "zookeeper.service");
        assert_eq!(unit_name("zookeeper.service"), "zookeeper.service");
        assert_eq!(unit_name("zookeeper@1"), "zookeeper@1.service");
        assert_eq!(unit_name("zookeeper@1.service"), "zookeeper@1.service");
        assert_eq!(unit_name("zk.prod"), "zk.prod.service");
        assert_eq!(unit_name("zookeeper.scope"), "zookeeper.scope");
        assert_eq!(unit_name(" zookeeper "), "zookeeper.service");
    }

    #[test]
    fn the_cursor_is_the_text_after_its_marker() {
        let out =
            "2026-01-01 INFO something\n-- cursor: s=0b3c;i=4d2;b=9f1e;m=12ab;t=5f6c;x=2f78\n";
        assert_eq!(
            parse_cursor(out).as_deref(),
            Some("s=0b3c;i=4d2;b=9f1e;m=12ab;t=5f6c;x=2f78")
        );
        // The last marker: a logged line may look like one.
        let out = "-- cursor: forged\n-- cursor: s=1;i=2\n";
        assert_eq!(parse_cursor(out).as_deref(), Some("s=1;i=2"));
        assert_eq!(parse_cursor(""), None);
        assert_eq!(parse_cursor("-- cursor: \n"), None);
        assert_eq!(parse_cursor("-- No entries --\n"), None);
    }

    #[test]
    fn each_pid_gets_its_unit_or_none() {
        let out = "101 zookeeper.service\n202 session-3.scope   \n303 -\n";
        assert_eq!(
            parse_pid_units(out, &[101, 202, 303, 404]),
            vec![
                (101, Some("zookeeper.service".to_string())),
                (202, Some("session-3.scope".to_string())),
                (303, None),
                (404, None),
            ]
        );
    }
}

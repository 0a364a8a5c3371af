//! `maintain`: change the node while it is stopped. One of: a command (an
//! argv, never through a shell), a shell script (explicitly a shell), or a
//! file rendered from a template.

use std::fmt;

use schemars::JsonSchema;
use serde::de;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::diagnostic::Diagnostic;
use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::model::Template;
use crate::render::Text;
use crate::tasks::Inspection;
use crate::tasks::context::Cx;
use crate::yaml::Part;

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum MaintainArgs {
    /// Run a program with these arguments; each is one argv word, no shell.
    Command(Vec<Template>),
    /// Run this text with `sh -c`. Values from variables should go through
    /// the `quote` filter.
    Shell(Template),
    /// Render a local template file to a path on the host.
    Template(FileTemplate),
}

const ACTIONS: [&str; 3] = ["command", "shell", "template"];

// serde_yaml wants enums as YAML tags (`!shell ...`); people write a
// one-key mapping (`shell: ...`), so read that by hand.
impl<'de> Deserialize<'de> for MaintainArgs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = MaintainArgs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("one of `command: [...]`, `shell: ...` or `template: {src, dest}`")
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MaintainArgs, A::Error> {
                let mut found: Option<MaintainArgs> = None;
                while let Some(key) = map.next_key_seed(ActionKey(found.is_some()))? {
                    found = Some(match key {
                        "command" => {
                            let argv: Vec<Template> = map.next_value()?;
                            if argv.is_empty() {
                                return Err(de::Error::custom(
                                    "`command` is empty: give the program and its arguments",
                                ));
                            }
                            if argv[0].as_str().trim().is_empty() {
                                return Err(de::Error::custom(
                                    "`command` starts with an empty word: the first word is the program to run",
                                ));
                            }
                            if argv.iter().any(|w| w.as_str().contains('\0')) {
                                return Err(de::Error::custom(
                                    "a `command` word holds a NUL byte, which no argument can carry",
                                ));
                            }
                            MaintainArgs::Command(argv)
                        }
                        "shell" => MaintainArgs::Shell(map.next_value()?),
                        _ => MaintainArgs::Template(map.next_value()?),
                    });
                }
                found.ok_or_else(|| {
                    de::Error::custom("`maintain` needs one of `command`, `shell` or `template`")
                })
            }
        }
        d.deserialize_map(V)
    }
}

struct ActionKey(bool);

impl<'de> de::DeserializeSeed<'de> for ActionKey {
    type Value = &'static str;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_str(self)
    }
}

impl de::Visitor<'_> for ActionKey {
    type Value = &'static str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`command`, `shell` or `template`")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'static str, E> {
        let Some(key) = ACTIONS.iter().find(|a| **a == v) else {
            return Err(E::custom(format!(
                "unknown field `{v}`, expected one of `command`, `shell`, `template`"
            )));
        };
        if self.0 {
            return Err(E::custom(format!(
                "`maintain` does one thing: `{v}` comes after another action; split it into two tasks"
            )));
        }
        Ok(key)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileTemplate {
    /// Template file, relative to the playbook's directory.
    pub src: String,
    /// Path on the host.
    pub dest: Template,
    /// Octal permissions such as `0644`; default: keep the file's, or 0644.
    #[serde(default)]
    pub mode: Option<FileMode>,
}

/// Octal file permissions, written as text so YAML does not read `0644` as 644.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FileMode(#[schemars(pattern(r"^0?[0-7]{3}$"))] pub String);

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::model::checked::string(d, "octal permissions like \"0644\"", |s| {
            let digits = s.strip_prefix('0').filter(|r| r.len() == 3).unwrap_or(s);
            if digits.len() == 3 && digits.chars().all(|c| ('0'..='7').contains(&c)) {
                Ok(FileMode(s.to_string()))
            } else {
                Err(format!(
                    "file mode `{s}` is not octal permissions like \"0644\" (quote it)"
                ))
            }
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaintainStep {
    Command {
        argv: Vec<Text>,
        /// The service's config, where the data directories are read
        /// before the run (see `inspect`).
        #[serde(skip)]
        config: Text,
    },
    Shell {
        script: Text,
        #[serde(skip)]
        config: Text,
    },
    Template {
        src: String,
        dest: Text,
        mode: Option<String>,
        bytes: usize,
        sha256: String,
        /// The rendered file. Not serialized: it may hold secrets.
        #[serde(skip)]
        content: Text,
        /// The service's live config: a template written there is read as
        /// ZooKeeper will read it before anything stops.
        #[serde(skip)]
        config: Text,
    },
}

pub fn plan(args: &MaintainArgs, cx: &Cx) -> Option<MaintainStep> {
    let step = match args {
        MaintainArgs::Command(words) => {
            let mut argv = Vec::with_capacity(words.len());
            for (i, w) in words.iter().enumerate() {
                argv.push(cx.text_at(w, &cx.field(&["maintain", "command"]).index(i))?);
            }
            MaintainStep::Command {
                argv,
                config: cx.service.config.clone(),
            }
        }
        MaintainArgs::Shell(script) => MaintainStep::Shell {
            script: cx.text(script, &["maintain", "shell"])?,
            config: cx.service.config.clone(),
        },
        MaintainArgs::Template(t) => {
            let content = cx.file(&t.src, &["maintain", "template", "src"])?;
            // With a secret in it, the size and hash shown are the
            // redacted text's: those of the real file would let anyone
            // holding the plan test guesses of the secret.
            let shown = if content.has_secret() {
                &*content.shown
            } else {
                content.real()
            };
            let hash = Sha256::digest(shown.as_bytes());
            MaintainStep::Template {
                src: t.src.clone(),
                dest: cx.text(&t.dest, &["maintain", "template", "dest"])?,
                mode: t.mode.as_ref().map(|m| m.0.clone()),
                bytes: shown.len(),
                sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
                content,
                config: cx.service.config.clone(),
            }
        }
    };
    // The transaction logs and snapshots are the node's data: maintenance
    // that names them is refused while nothing has been touched.
    let (words, field): (Vec<&Text>, &[&str]) = match &step {
        MaintainStep::Command { argv, .. } => (argv.iter().collect(), &["maintain", "command"]),
        MaintainStep::Shell { script, .. } => (vec![script], &["maintain", "shell"]),
        MaintainStep::Template { dest, .. } => (vec![dest], &["maintain", "template", "dest"]),
    };
    if words.iter().any(|w| names_node_data(w.real())) {
        cx.problems.add(
            Diagnostic::new(format!(
                "task `{}`: maintenance must not touch `{DATA}`, the node's snapshots and transaction logs",
                cx.task_id
            ))
            .at(cx.src.locate(&cx.field(field), Part::Value))
            .label("names version-2")
            .help("restore or move data by hand, with the node stopped and a backup at hand; maintain changes configuration and packages"),
            &cx.host.name,
        );
        return None;
    }
    Some(step)
}

/// Where ZooKeeper keeps snapshots and transaction logs, under
/// `dataDir` and `dataLogDir`.
const DATA: &str = "version-2";

/// Does the text name `version-2`, itself or through a shell glob
/// (`version-*`, `versio?-2`, `v*`)? Words are cut at what separates paths
/// and commands in a shell line.
pub fn names_node_data(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || "/;|&<>()'\"=`$,".contains(c))
        .filter(|w| !w.is_empty())
        .any(|w| w.contains(DATA) || (w.contains(['*', '?', '[']) && glob(w, DATA)))
}

/// A shell glob (`*`, `?`, `[...]` taken as one character) against a name.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('[') => match p.iter().position(|c| *c == ']') {
                Some(end) if !n.is_empty() => {
                    let set = &p[1..end];
                    let (neg, set) = match set.first() {
                        Some('!' | '^') => (true, &set[1..]),
                        _ => (false, set),
                    };
                    let mut hit = false;
                    let mut i = 0;
                    while i < set.len() {
                        if i + 2 < set.len() && set[i + 1] == '-' {
                            hit |= set[i] <= n[0] && n[0] <= set[i + 2];
                            i += 3;
                        } else {
                            hit |= set[i] == n[0];
                            i += 1;
                        }
                    }
                    hit != neg && go(&p[end + 1..], &n[1..])
                }
                _ => false,
            },
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

/// Commands that destroy what they name.
const DESTRUCTIVE: &[&str] = &[
    "rm", "rmdir", "mv", "shred", "truncate", "unlink", "-delete",
];

/// Does the text destroy something and name an absolute path?
fn destroys_a_path(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || ";|&<>()'\"`".contains(c))
        .collect();
    (words.iter().any(|w| DESTRUCTIVE.contains(w)) || text.contains('>'))
        && words.iter().any(|w| w.starts_with('/'))
}

/// A path in the text that is the data directory or holds it, when the
/// text also destroys something: `rm -rf /var/lib/zookeeper` removes
/// `version-2` without naming it.
pub fn removes_around(text: &str, data_dirs: &[&str]) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || ";|&<>()'\"`".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    let destroys = words.iter().any(|w| DESTRUCTIVE.contains(w)) || text.contains('>');
    if !destroys {
        return None;
    }
    words.iter().find_map(|w| {
        let w = w.trim_end_matches('/');
        let w = if w.is_empty() { "/" } else { w };
        if !w.starts_with('/') {
            return None;
        }
        data_dirs
            .iter()
            .map(|d| d.trim_end_matches('/'))
            .any(|d| d == w || d.starts_with(&format!("{}/", w.trim_end_matches('/'))) || w == "/")
            .then(|| w.to_string())
    })
}

/// Where the file a template replaces is kept: "$dest" + this.
pub const PREVIOUS: &str = ".zkrun-prev";

/// Writes stdin to "$1" atomically (a temporary file beside it, then a
/// rename), with mode "$2" when given; the directory must exist. Leaves an
/// identical file alone, so a step run again (a resumed run) changes
/// nothing and keeps the first run's previous file.
const WRITE_FILE: &str = r#"set -e
tmp=$(mktemp "$1.zkrun.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -f "$1" ] && cmp -s "$tmp" "$1" && { [ -z "$2" ] || [ "$(stat -c %a "$1")" = "${2#0}" ]; }; then
  echo "unchanged: $1"; exit 0
fi
if [ -n "$2" ]; then chmod "$2" "$tmp"; elif [ -e "$1" ]; then chmod --reference="$1" "$tmp"; else chmod 0644 "$tmp"; fi
if [ -e "$1" ]; then cp -p "$1" "$1$3"; echo "previous file kept as $1$3"; fi
mv -f "$tmp" "$1"
trap - EXIT
echo "wrote $1""#;

/// Prints the file "$1" if it exists, or says why not on stderr (exit 3:
/// not there, 4: its directory is not there either).
const READ_FILE: &str =
    r#"if [ -f "$1" ]; then cat "$1"; elif [ -d "$(dirname "$1")" ]; then exit 3; else exit 4; fi"#;

/// Longest diff the dry-run prints per host.
const DIFF_LINES: usize = 60;

impl MaintainStep {
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        match self {
            MaintainStep::Command { argv, .. } => x.check(argv, None).await.map(drop),
            MaintainStep::Shell { script, .. } => {
                let argv = [Text::plain("sh"), Text::plain("-c"), script.clone()];
                x.check(&argv, None).await.map(drop)
            }
            MaintainStep::Template {
                dest,
                mode,
                content,
                ..
            } => {
                let argv = [
                    Text::plain("sh"),
                    Text::plain("-c"),
                    Text::plain(WRITE_FILE),
                    Text::plain("zkrun-write"),
                    dest.clone(),
                    Text::plain(mode.clone().unwrap_or_default()),
                    Text::plain(PREVIOUS),
                ];
                x.check(&argv, Some(content.real().as_bytes().to_vec()))
                    .await
                    .map(drop)
            }
        }
    }

    /// For a template: the diff against the file on the host (not shown
    /// when the rendering holds secrets); its directory must exist.
    pub async fn inspect<T: Transport>(&self, x: &Exec<'_, T>) -> Inspection {
        // A command that destroys the data directory, or a directory that
        // holds it, without naming `version-2`.
        let text = match self {
            MaintainStep::Command { argv, config } => Some((
                argv.iter().map(|w| w.real()).collect::<Vec<_>>().join(" "),
                config,
            )),
            MaintainStep::Shell { script, config } => Some((script.real().to_string(), config)),
            MaintainStep::Template { .. } => None,
        };
        if let Some((text, config)) = text {
            // Only text that destroys something and names an absolute path
            // is worth reading the config for.
            if !destroys_a_path(&text) {
                return Inspection::default();
            }
            let Ok(c) = crate::zk::probe::read_config(x, x.host, config.real()).await else {
                return Inspection::default();
            };
            let dirs: Vec<&str> = c
                .data_dir
                .iter()
                .chain(&c.data_log_dir)
                .map(String::as_str)
                .collect();
            if let Some(path) = removes_around(&text, &dirs) {
                return Inspection::problem(
                    StepError::new(format!(
                        "this maintenance destroys {path} on {}, which holds the node's data ({})",
                        x.host.name,
                        dirs.join(", ")
                    ))
                    .help("restore or move data by hand, with the node stopped and a backup at hand; no node was stopped"),
                );
            }
            return Inspection::default();
        }
        let MaintainStep::Template {
            dest,
            content,
            config,
            ..
        } = self
        else {
            return Inspection::default();
        };
        if dest.real() == config.real()
            && let Some(problem) = check_rendered_config(x, config, content).await
        {
            return Inspection::problem(problem);
        }
        let argv = [
            Text::plain("sh"),
            Text::plain("-c"),
            Text::plain(READ_FILE),
            Text::plain("zkrun-read"),
            dest.clone(),
        ];
        let out = match x.run(&argv, None).await {
            Ok(out) => out,
            Err(e) => return Inspection::problem(e),
        };
        let current = match out.code {
            Some(0) => String::from_utf8_lossy(&out.stdout).to_string(),
            Some(3) => {
                return Inspection::note(format!(
                    "{dest} does not exist yet: it will be created ({} lines)",
                    content.shown.lines().count()
                ));
            }
            Some(4) => {
                return Inspection::problem(
                    StepError::new(format!(
                        "the directory of {dest} does not exist on {}",
                        x.host.name
                    ))
                    .help("create it first (a `maintain` step before this one), or fix `dest`"),
                );
            }
            _ => return Inspection::problem(x.failure(&format!("reading {dest}"), &out)),
        };
        Inspection {
            notes: diff(&dest.shown, &current, content),
            problem: None,
        }
    }

    pub fn describe(&self) -> Vec<String> {
        match self {
            MaintainStep::Command { argv, .. } => {
                vec![format!("run: {}", crate::render::shell_line(argv))]
            }
            MaintainStep::Shell { script, .. } => {
                let mut lines = vec!["sh -c:".to_string()];
                lines.extend(script.shown.lines().map(|l| format!("  {l}")));
                lines
            }
            MaintainStep::Template {
                src,
                dest,
                mode,
                bytes,
                sha256,
                ..
            } => vec![
                format!("render {src} -> {dest}"),
                format!(
                    "  {bytes} bytes, sha256 {}{}",
                    &sha256[..12],
                    mode.as_ref()
                        .map(|m| format!(", mode {m}"))
                        .unwrap_or_default()
                ),
                format!("  the file it replaces is kept as {dest}{PREVIOUS}"),
            ],
        }
    }
}

/// A template that replaces the service's config, read as ZooKeeper will
/// read it: this node's `server.<myid>` line must be there (else it dies at
/// start, "not in the peer list"), and a play of several hosts needs server
/// lines at all (else it starts standalone, an ensemble of its own).
async fn check_rendered_config<T: Transport>(
    x: &Exec<'_, T>,
    config: &Text,
    content: &Text,
) -> Option<StepError> {
    let rendered = crate::zk::config::parse(content.real());
    let now = crate::zk::probe::identity(x, x.host, config.real()).await;
    let help = "fix the template (each node keeps its own server.<myid> line), then run again; no node was stopped";
    if rendered.servers.is_empty() {
        if rendered.dynamic_config_file.is_some() || x.hosts.len() < 2 {
            return None;
        }
        return Some(
            StepError::new(format!(
                "the rendered {config} for {} has no server lines: the node would start standalone, outside the ensemble",
                x.host.name
            ))
            .help(help),
        );
    }
    let Some(myid) = now.myid else {
        return Some(
            StepError::new(format!(
                "cannot check the rendered {config} for {}: its myid could not be read",
                x.host.name
            ))
            .help("fix the node's myid file first; no node was stopped"),
        );
    };
    if rendered.servers.iter().any(|s| s.id == myid) {
        return None;
    }
    let ids: Vec<String> = rendered.servers.iter().map(|s| s.id.to_string()).collect();
    Some(
        StepError::new(format!(
            "the rendered {config} for {} has no server.{myid} line (this node's myid is {myid}; the template writes server.{}): \
             ZooKeeper would refuse to start it (\"not in the peer list\")",
            x.host.name,
            ids.join(", server.")
        ))
        .help(help),
    )
}

/// A unified diff of the host's file against the rendering, as lines.
fn diff(dest: &str, current: &str, rendered: &Text) -> Vec<String> {
    let new = rendered.real();
    if current == new {
        return vec![format!(
            "{dest} on the host already has this content: unchanged"
        )];
    }
    let d = similar::TextDiff::from_lines(current, new);
    let changed = d
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .count();
    if rendered.has_secret() {
        return vec![format!(
            "{dest} differs from the rendering in {changed} lines (not shown: the template uses secrets)"
        )];
    }
    let text = d
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{dest} (on the host)"),
            &format!("{dest} (rendered)"),
        )
        .to_string();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.len() > DIFF_LINES {
        let more = lines.len() - DIFF_LINES;
        lines.truncate(DIFF_LINES);
        lines.push(format!("... {more} more diff lines"));
    }
    lines
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    #[test]
    fn the_data_is_recognised_through_globs_and_parents() {
        for bad in [
            "rm -rf /var/lib/zookeeper/version-2",
            "rm -rf /var/lib/zookeeper/version-*",
            "rm -rf /var/lib/zookeeper/versio?-2/log.1",
            "rm -rf /var/lib/zookeeper/v*",
            "mv /data/[v]ersion-2 /tmp",
        ] {
            assert!(names_node_data(bad), "{bad}");
        }
        assert!(!names_node_data(
            "apt-get install -y zookeeper-version-tools"
        ));
        let data = ["/var/lib/zookeeper"];
        assert_eq!(
            removes_around("rm -rf /var/lib/zookeeper", &data).as_deref(),
            Some("/var/lib/zookeeper")
        );
        assert_eq!(
            removes_around("rm -rf /var/lib/", &data).as_deref(),
            Some("/var/lib")
        );
        assert_eq!(removes_around("rm -rf /", &data).as_deref(), Some("/"));
        assert_eq!(
            removes_around("chown -R zk /var/lib/zookeeper", &data),
            None
        );
        assert_eq!(
            removes_around("rm -f /var/log/zookeeper/old.log", &data),
            None
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_and_hides_secrets() {
        let lines = diff(
            "/etc/zookeeper/conf/zoo.cfg",
            "tickTime=2000\ninitLimit=10\n",
            &Text::plain("tickTime=3000\ninitLimit=10\n"),
        );
        let text = lines.join("\n");
        assert!(text.contains("-tickTime=2000"), "{text}");
        assert!(text.contains("+tickTime=3000"), "{text}");
        assert!(text.contains("(on the host)"), "{text}");
        let secret = Text::with_secret("password=********\n", "password=hunter2\n");
        let text = diff("/etc/x", "password=old\n", &secret).join("\n");
        assert!(!text.contains("hunter2") && !text.contains("old"), "{text}");
        assert!(text.contains("2 lines"), "{text}");
        assert!(diff("/etc/x", "a\n", &Text::plain("a\n"))[0].contains("unchanged"));
    }
}

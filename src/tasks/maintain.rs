//! `maintain`: change the node while it is stopped. One of: a command (an
//! argv, never through a shell), a shell script (explicitly a shell), or a
//! file rendered from a template.

use std::fmt;

use schemars::JsonSchema;
use serde::de;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::model::Template;
use crate::plan::context::Cx;
use crate::render::Text;
use crate::runner::exec::{Exec, StepError};
use crate::transport::Transport;

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
    },
    Shell {
        script: Text,
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
    },
}

pub fn plan(args: &MaintainArgs, cx: &Cx) -> Option<MaintainStep> {
    Some(match args {
        MaintainArgs::Command(words) => {
            let mut argv = Vec::with_capacity(words.len());
            for (i, w) in words.iter().enumerate() {
                argv.push(cx.text_at(w, &cx.field(&["maintain", "command"]).index(i))?);
            }
            MaintainStep::Command { argv }
        }
        MaintainArgs::Shell(script) => MaintainStep::Shell {
            script: cx.text(script, &["maintain", "shell"])?,
        },
        MaintainArgs::Template(t) => {
            let content = cx.file(&t.src, &["maintain", "template", "src"])?;
            let hash = Sha256::digest(content.real().as_bytes());
            MaintainStep::Template {
                src: t.src.clone(),
                dest: cx.text(&t.dest, &["maintain", "template", "dest"])?,
                mode: t.mode.as_ref().map(|m| m.0.clone()),
                bytes: content.real().len(),
                sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
                content,
            }
        }
    })
}

/// Writes stdin to "$1" atomically (a temporary file beside it, then a
/// rename), with mode "$2" when given; the directory must exist.
const WRITE_FILE: &str = r#"set -e
tmp=$(mktemp "$1.zkrun.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
if [ -n "$2" ]; then chmod "$2" "$tmp"; elif [ -e "$1" ]; then chmod --reference="$1" "$tmp"; else chmod 0644 "$tmp"; fi
mv -f "$tmp" "$1"
trap - EXIT"#;

impl MaintainStep {
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        match self {
            MaintainStep::Command { argv } => x.check(argv, None).await.map(drop),
            MaintainStep::Shell { script } => {
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
                ];
                x.check(&argv, Some(content.real().as_bytes().to_vec()))
                    .await
                    .map(drop)
            }
        }
    }

    pub fn describe(&self) -> Vec<String> {
        match self {
            MaintainStep::Command { argv } => vec![format!("run: {}", super::shell_line(argv))],
            MaintainStep::Shell { script } => {
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
            ],
        }
    }
}

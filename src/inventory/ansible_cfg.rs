//! An SRE's `ansible.cfg`, found and read as ansible-core 2.19.14 does, for
//! the settings zkrun uses.
//!
//! - [`find`]: which file (`find_ini_config_file` in
//!   `ansible/config/manager.py`). Only the first found is read: Ansible
//!   does not merge config files.
//! - [`load`]/[`parse`]: the file read with Python's `configparser` as
//!   `ConfigManager._parse_config_file` sets it up
//!   (`ConfigParser(inline_comment_prefixes=(';',))`), then each setting
//!   taken from the environment or the file (environment first) and
//!   converted as `ensure_type` in `ansible/config/manager.py` does, with
//!   the names, sections and types of `ansible/config/base.yml` and, for
//!   `host_key_checking` and the ssh arguments, of the ssh connection
//!   plugin (`ansible/plugins/connection/ssh.py`).
//!
//! Everything that touches the machine (environment, current and home
//! directory) comes in through [`Context`], so tests do not depend on the
//! machine they run on. Files are looked up on the real file system.
//!
//! A setting that is written nowhere is `None`: Ansible's default applies
//! (see [`defaults`]). Keys zkrun does not use are ignored, as are sections
//! other than `[defaults]`, `[privilege_escalation]` and `[ssh_connection]`;
//! a used key with a value Ansible would refuse is an error naming file and
//! line (or the environment variable).

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::kv::unquote;

/// What the look-up and the settings depend on besides files.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// An environment variable: `None` when unset. Set but empty is
    /// `Some("")`, which Ansible treats as set (`ANSIBLE_CONFIG=` means the
    /// current directory's `ansible.cfg`).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The current directory, absolute.
    pub cwd: &'a Path,
    /// What `~` expands to (Python's `expanduser` uses `$HOME`); `None`
    /// leaves `~` as written and skips `~/.ansible.cfg`.
    pub home: Option<&'a Path>,
}

/// Ansible's defaults for the settings of [`AnsibleConfig`] that have one
/// (`ansible/config/base.yml`, `ansible/plugins/connection/ssh.py`).
pub mod defaults {
    pub const INVENTORY: &str = "/etc/ansible/hosts";
    pub const TIMEOUT: u64 = 10;
    pub const FORKS: u32 = 5;
    pub const HOST_KEY_CHECKING: bool = true;
    pub const BECOME: bool = false;
    pub const BECOME_USER: &str = "root";
    pub const BECOME_METHOD: &str = "sudo";
    pub const BECOME_ASK_PASS: bool = false;
    pub const SSH_ARGS: &str = "-C -o ControlMaster=auto -o ControlPersist=60s";
    pub const SSH_COMMON_ARGS: &str = "";
    pub const SSH_EXTRA_ARGS: &str = "";
}

/// Where a setting's value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// In the config file. `section` is where the line is, which is
    /// `DEFAULT` for a value that `[DEFAULT]` gives every section.
    File {
        path: PathBuf,
        line: usize,
        section: String,
        key: String,
    },
    /// In an environment variable.
    Env { name: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                path,
                line,
                section,
                key,
            } => write!(f, "{}:{line} ([{section}] {key})", path.display()),
            Origin::Env { name } => write!(f, "environment variable {name}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// The settings zkrun takes from Ansible's configuration. `None`: set
/// nowhere, Ansible's default applies ([`defaults`]).
///
/// Paths are absolute: `~` and `$VARS` expanded, a relative path taken
/// from the config file's directory (from the current directory for an
/// environment variable), `..` folded, symlinks kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnsibleConfig {
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// Things worth telling the user that are not errors: Ansible's own
    /// warning about a world-writable current directory, and zkrun's notes
    /// on settings Ansible silently ignores.
    pub warnings: Vec<String>,

    /// `[defaults] remote_user`, `ANSIBLE_REMOTE_USER`.
    pub remote_user: Option<Setting<String>>,
    /// `[defaults] private_key_file`, `ANSIBLE_PRIVATE_KEY_FILE`.
    pub private_key_file: Option<Setting<PathBuf>>,
    /// `[defaults] inventory`, `ANSIBLE_INVENTORY`: comma-separated, each item
    /// a path (type `pathlist`). Even `host1,host2` becomes two paths here,
    /// and an empty item (`hosts,`) becomes the base directory itself, as in
    /// Ansible.
    pub inventory: Option<Setting<Vec<PathBuf>>>,
    /// `[defaults] timeout`, `ANSIBLE_TIMEOUT`: the ssh connect timeout in
    /// seconds. `[ssh_connection] timeout` and `ANSIBLE_SSH_TIMEOUT` are
    /// shadowed by it in Ansible (the play context's timeout wins), so they
    /// are not read; a warning says so.
    pub timeout: Option<Setting<u64>>,
    /// `[defaults] forks`, `ANSIBLE_FORKS`, at least 1.
    pub forks: Option<Setting<u32>>,
    /// `[defaults] host_key_checking`, then `[ssh_connection]
    /// host_key_checking` (which wins); `ANSIBLE_HOST_KEY_CHECKING`, then
    /// `ANSIBLE_SSH_HOST_KEY_CHECKING` (which wins). The ssh plugin's lists.
    pub host_key_checking: Option<Setting<bool>>,
    /// `[defaults] vault_password_file`, `ANSIBLE_VAULT_PASSWORD_FILE`.
    pub vault_password_file: Option<Setting<PathBuf>>,
    /// `[defaults] vault_identity_list`, `ANSIBLE_VAULT_IDENTITY_LIST`:
    /// comma-separated, items stripped and unquoted, empty items kept.
    pub vault_identity_list: Option<Setting<Vec<String>>>,
    /// `[privilege_escalation] become`, `ANSIBLE_BECOME`.
    pub r#become: Option<Setting<bool>>,
    /// `[privilege_escalation] become_user`, `[sudo_become_plugin] user`,
    /// `ANSIBLE_BECOME_USER`, `ANSIBLE_SUDO_USER`.
    pub become_user: Option<Setting<String>>,
    /// `[sudo_become_plugin] password`, `ANSIBLE_BECOME_PASS`,
    /// `ANSIBLE_SUDO_PASS`: a secret.
    pub become_password: Option<Setting<String>>,
    /// `[defaults] remote_port`, `ANSIBLE_REMOTE_PORT`.
    pub remote_port: Option<Setting<u64>>,
    /// `[defaults] transport`, `ANSIBLE_TRANSPORT`: the connection plugin
    /// (`ssh`, `smart`, `local` …).
    pub transport: Option<Setting<String>>,
    /// `[privilege_escalation] become_method`, `ANSIBLE_BECOME_METHOD`.
    pub become_method: Option<Setting<String>>,
    /// `[privilege_escalation] become_ask_pass`, `ANSIBLE_BECOME_ASK_PASS`.
    pub become_ask_pass: Option<Setting<bool>>,
    /// `[ssh_connection] ssh_args`, `ANSIBLE_SSH_ARGS`. Unsplit: see
    /// `kv::split_ssh_args`.
    pub ssh_args: Option<Setting<String>>,
    /// `[ssh_connection] ssh_common_args`, `ANSIBLE_SSH_COMMON_ARGS`.
    pub ssh_common_args: Option<Setting<String>>,
    /// `[ssh_connection] ssh_extra_args`, `ANSIBLE_SSH_EXTRA_ARGS`.
    pub ssh_extra_args: Option<Setting<String>>,
}

/// The name the rest of zkrun already uses for [`AnsibleConfig`].
pub type Settings = AnsibleConfig;

/// A config that cannot be used: what is wrong, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub message: String,
    /// The config file, when the error is in it.
    pub file: Option<PathBuf>,
    /// 1-based, when the error is on one line.
    pub line: Option<usize>,
    pub help: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            _ => {}
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            file: None,
            line: None,
            help: None,
        }
    }

    fn in_file(mut self, file: &Path, line: Option<usize>) -> Self {
        self.file = Some(file.to_path_buf());
        self.line = line;
        self
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The config file Ansible would read, and what to warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub path: Option<PathBuf>,
    pub warnings: Vec<String>,
}

/// Finds the config file as `find_ini_config_file`
/// (`ansible/config/manager.py`) does. The first that exists and is
/// readable wins:
///
/// 1. `ANSIBLE_CONFIG`, when set (even empty): `$VARS` and `~` expanded,
///    relative to the current directory; a directory means its
///    `ansible.cfg`. Missing, it is passed over silently by Ansible; zkrun
///    adds a warning.
/// 2. `./ansible.cfg`, unless the current directory is world-writable: then
///    it is skipped, with Ansible's warning when the file is there (and was
///    not chosen through `ANSIBLE_CONFIG`).
/// 3. `~/.ansible.cfg`.
/// 4. `/etc/ansible/ansible.cfg`.
pub fn find(ctx: &Context) -> Located {
    find_with_system(ctx, Path::new("/etc/ansible/ansible.cfg"))
}

fn find_with_system(ctx: &Context, system: &Path) -> Located {
    let mut candidates = Vec::new();
    let mut warnings = Vec::new();

    let from_env = (ctx.env)("ANSIBLE_CONFIG").map(|raw| {
        let path = expand_path(ctx, &raw, None);
        let path = if path.is_dir() {
            path.join("ansible.cfg")
        } else {
            path
        };
        (raw, path)
    });
    if let Some((_, path)) = &from_env {
        candidates.push(path.clone());
    }

    let cwd_cfg = ctx.cwd.join("ansible.cfg");
    let mut skipped_public_cwd = false;
    if let Ok(meta) = std::fs::metadata(ctx.cwd) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o002 != 0 {
            // Anyone could have planted that file: Ansible will not read it.
            skipped_public_cwd = cwd_cfg.exists();
        } else {
            candidates.push(cwd_cfg);
        }
    }

    if ctx.home.is_some() {
        candidates.push(expand_path(ctx, "~/.ansible.cfg", None));
    }
    candidates.push(system.to_path_buf());

    let path = candidates.into_iter().find(|p| readable(p));

    if let Some((raw, env_path)) = &from_env
        && path.as_ref() != Some(env_path)
    {
        warnings.push(format!(
            "ANSIBLE_CONFIG is set to `{raw}`, but {} is not a readable file; \
             Ansible ignores it without a word and reads {} instead",
            env_path.display(),
            path.as_ref()
                .map_or("no config file".to_string(), |p| p.display().to_string())
        ));
    }
    let chose_env = matches!((&from_env, &path), (Some((_, e)), Some(p)) if e == p);
    if skipped_public_cwd && !chose_env {
        warnings.push(format!(
            "Ansible is being run in a world writable directory ({}), ignoring it \
             as an ansible.cfg source.",
            ctx.cwd.display()
        ));
    }
    Located { path, warnings }
}

/// `os.path.exists(p) and os.access(p, os.R_OK)`. A directory passes too,
/// as in Ansible, and then fails to read.
fn readable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        // Opening a FIFO would block; Ansible would pick it and then try to
        // read it, so pick it too.
        Ok(meta) if meta.is_file() || meta.is_dir() => std::fs::File::open(path).is_ok(),
        Ok(_) => true,
        Err(_) => false,
    }
}

/// Finds and reads the config file ([`find`], then [`parse`]), and takes
/// the environment's overrides. No file found is no error: only the
/// environment then sets anything.
pub fn load(ctx: &Context) -> Result<AnsibleConfig, ConfigError> {
    let located = find(ctx);
    let mut config = match &located.path {
        None => parse(ctx, None)?,
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                ConfigError::new(format!("cannot read the Ansible config file: {e}"))
                    .in_file(path, None)
            })?;
            let text = String::from_utf8(bytes).map_err(|e| {
                ConfigError::new(format!("the Ansible config file is not UTF-8: {e}"))
                    .in_file(path, None)
                    .help("Ansible refuses it too; save the file as UTF-8")
            })?;
            parse(ctx, Some((path, &text)))?
        }
    };
    let mut warnings = located.warnings;
    warnings.append(&mut config.warnings);
    config.warnings = warnings;
    Ok(config)
}

/// Reads config text (`file` = its absolute path and contents; `None` when
/// there is no file) and takes the environment's overrides from `ctx`.
///
/// The text is read with Python `configparser`'s rules as Ansible sets it
/// up (Python 3.11–3.13 agree on all of them):
///
/// - `[section]` headers; names are case-sensitive (`[Defaults]` is not
///   `[defaults]`) and taken up to the last `]` of the line. Text before
///   the first header is an error.
/// - `key = value` or `key: value`, split at the first `=` or `:`; keys are
///   lowercased, key and value stripped.
/// - Comments: a line whose first non-blank character is `#` or `;`, and
///   from a `;` that starts the line or follows whitespace. `#` after a
///   value is part of the value (`forks = 5 # five` is not a number).
/// - A line indented deeper than its key's line continues the value
///   (joined with newlines), blank lines inside included; trailing blank
///   lines are dropped.
/// - `[DEFAULT]` gives its keys to every section that exists (not to one
///   that does not).
/// - No interpolation: Ansible reads values raw, `%(x)s` stays as written.
/// - Errors: a section twice, a key twice in a section (case-insensitive),
///   a line that is neither header, option, comment nor continuation.
///
/// Values are then converted as `ensure_type` does: strings lose one pair
/// of outer quotes when they come from the file (not from the environment);
/// paths do not (`private_key_file = "~/k"` is a path with quotes in it, as
/// in Ansible); numbers follow Python's `Decimal` (` 1_0 `, `1e1`, `5.0`);
/// an empty environment variable for a number means the default, even over
/// the file. Booleans: `y yes on 1 true t` (any case) are true and `n no
/// off 0 false f` false; Ansible reads anything else — `"yes"` in quotes
/// included — as false without a word, so zkrun refuses it.
pub fn parse(ctx: &Context, file: Option<(&Path, &str)>) -> Result<AnsibleConfig, ConfigError> {
    let ini = match file {
        Some((path, text)) => {
            check_extension(path)?;
            let ini = Ini::parse(text).map_err(|mut e| {
                e.file = Some(path.to_path_buf());
                e
            })?;
            Some((path, ini))
        }
        None => None,
    };
    let mut config = AnsibleConfig {
        file: file.map(|(p, _)| p.to_path_buf()),
        ..AnsibleConfig::default()
    };
    let mut warnings = Vec::new();
    if let Some((_, ini)) = &ini {
        warnings.extend(ini.misnamed_sections());
    }
    let reader = Reader {
        ctx,
        ini: ini.as_ref().map(|(p, i)| (*p, i)),
    };

    const DEFAULTS: &str = "defaults";
    const BECOME: &str = "privilege_escalation";
    const SSH: &str = "ssh_connection";

    config.remote_user = reader
        .raw(&[(DEFAULTS, "remote_user")], &["ANSIBLE_REMOTE_USER"])
        .map(Raw::string);
    config.private_key_file = reader
        .raw(
            &[(DEFAULTS, "private_key_file")],
            &["ANSIBLE_PRIVATE_KEY_FILE"],
        )
        .map(|raw| reader.path(raw));
    config.inventory = reader
        .raw(&[(DEFAULTS, "inventory")], &["ANSIBLE_INVENTORY"])
        .map(|raw| reader.path_list(raw));
    config.timeout = reader
        .raw(&[(DEFAULTS, "timeout")], &["ANSIBLE_TIMEOUT"])
        .map(|raw| raw.number(0, u64::MAX, defaults::TIMEOUT))
        .transpose()?;
    config.forks = reader
        .raw(&[(DEFAULTS, "forks")], &["ANSIBLE_FORKS"])
        .map(|raw| {
            // `ansible` refuses fewer than one fork (`ansible/cli/__init__.py`).
            raw.number(1, u64::from(u32::MAX), u64::from(defaults::FORKS))
                .map(|s| Setting {
                    value: u32::try_from(s.value).expect("bounded above"),
                    origin: s.origin,
                })
        })
        .transpose()?;
    config.host_key_checking = reader
        .raw(
            &[(DEFAULTS, "host_key_checking"), (SSH, "host_key_checking")],
            &["ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING"],
        )
        .map(Raw::boolean)
        .transpose()?;
    config.vault_password_file = reader
        .raw(
            &[(DEFAULTS, "vault_password_file")],
            &["ANSIBLE_VAULT_PASSWORD_FILE"],
        )
        .map(|raw| reader.path(raw));
    config.vault_identity_list = reader
        .raw(
            &[(DEFAULTS, "vault_identity_list")],
            &["ANSIBLE_VAULT_IDENTITY_LIST"],
        )
        .map(Raw::list);
    config.r#become = reader
        .raw(&[(BECOME, "become")], &["ANSIBLE_BECOME"])
        .map(Raw::boolean)
        .transpose()?;
    // The sudo become plugin's own names count too (its option lists).
    config.become_user = reader
        .raw(
            &[(BECOME, "become_user"), ("sudo_become_plugin", "user")],
            &["ANSIBLE_BECOME_USER", "ANSIBLE_SUDO_USER"],
        )
        .map(Raw::string);
    config.become_password = reader
        .raw(
            &[("sudo_become_plugin", "password")],
            &["ANSIBLE_BECOME_PASS", "ANSIBLE_SUDO_PASS"],
        )
        .map(Raw::string);
    config.remote_port = reader
        .raw(&[(DEFAULTS, "remote_port")], &["ANSIBLE_REMOTE_PORT"])
        .map(|raw| raw.number(1, 65535, 22))
        .transpose()?;
    config.transport = reader
        .raw(&[(DEFAULTS, "transport")], &["ANSIBLE_TRANSPORT"])
        .map(Raw::string);
    config.become_method = reader
        .raw(&[(BECOME, "become_method")], &["ANSIBLE_BECOME_METHOD"])
        .map(Raw::string);
    config.become_ask_pass = reader
        .raw(&[(BECOME, "become_ask_pass")], &["ANSIBLE_BECOME_ASK_PASS"])
        .map(Raw::boolean)
        .transpose()?;
    config.ssh_args = reader
        .raw(&[(SSH, "ssh_args")], &["ANSIBLE_SSH_ARGS"])
        .map(Raw::string);
    config.ssh_common_args = reader
        .raw(&[(SSH, "ssh_common_args")], &["ANSIBLE_SSH_COMMON_ARGS"])
        .map(Raw::string);
    config.ssh_extra_args = reader
        .raw(&[(SSH, "ssh_extra_args")], &["ANSIBLE_SSH_EXTRA_ARGS"])
        .map(Raw::string);

    // The ssh plugin lists these, but the play context's timeout (from
    // `[defaults] timeout`) is handed to it as a keyword, which ranks
    // above both: `ansible -vvv` shows `ConnectTimeout=10` with only
    // `[ssh_connection] timeout = 3` set.
    if let Some(raw) = reader.raw(&[(SSH, "timeout")], &["ANSIBLE_SSH_TIMEOUT"]) {
        warnings.push(format!(
            "{} is ignored by Ansible's ssh connection: the connect timeout comes \
             from [defaults] timeout or ANSIBLE_TIMEOUT",
            raw.origin
        ));
    }
    config.warnings = warnings;
    Ok(config)
}

/// Python's `os.path.splitext` rule as `get_config_type` applies it: only
/// `.cfg` and `.ini` (exact case) are read; `.yml`/`.yaml` and anything else
/// are refused.
fn check_extension(path: &Path) -> Result<(), ConfigError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // splitext ignores the leading dots of a name: `.cfg` has no extension.
    let body = name.trim_start_matches('.');
    let ext = body.rfind('.').map_or("", |i| &body[i..]);
    if ext == ".cfg" || ext == ".ini" {
        return Ok(());
    }
    Err(ConfigError::new(format!(
        "Ansible reads only `.cfg` and `.ini` config files, not `{}`",
        path.display()
    ))
    .in_file(path, None)
    .help("name the file ansible.cfg, or point ANSIBLE_CONFIG at one that is"))
}

/// A raw value and where it came from, before conversion.
struct Raw {
    text: String,
    origin: Origin,
    /// The config file, when the value is from it: relative paths are
    /// taken from its directory, and strings are unquoted.
    file: Option<PathBuf>,
}

struct Reader<'a> {
    ctx: &'a Context<'a>,
    ini: Option<(&'a Path, &'a Ini)>,
}

impl Reader<'_> {
    /// The value Ansible takes for a setting: from the environment if any
    /// listed variable is set, else from the file; within each list the
    /// last one present wins (`_loop_entries`, and the ini loop in
    /// `get_config_value_and_origin`).
    fn raw(&self, ini_keys: &[(&str, &str)], env_names: &[&str]) -> Option<Raw> {
        let from_env = env_names.iter().rev().find_map(|name| {
            (self.ctx.env)(name).map(|text| Raw {
                text,
                origin: Origin::Env {
                    name: (*name).to_string(),
                },
                file: None,
            })
        });
        if from_env.is_some() {
            return from_env;
        }
        let (path, ini) = self.ini?;
        ini_keys.iter().rev().find_map(|(section, key)| {
            ini.get(section, key).map(|(written_in, value)| Raw {
                text: value.text.clone(),
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line: value.line,
                    section: written_in.to_string(),
                    key: (*key).to_string(),
                },
                file: Some(path.to_path_buf()),
            })
        })
    }

    /// Type `path`: `resolve_path` with the config file as base.
    fn path(&self, raw: Raw) -> Setting<PathBuf> {
        let base = raw.file.as_deref().and_then(Path::parent);
        Setting {
            value: resolve_path(self.ctx, &raw.text, base),
            origin: raw.origin,
        }
    }

    /// Type `pathlist`: split on `,`, each item stripped (not unquoted) and
    /// resolved as a path.
    fn path_list(&self, raw: Raw) -> Setting<Vec<PathBuf>> {
        let base = raw.file.as_deref().and_then(Path::parent);
        Setting {
            value: raw
                .text
                .split(',')
                .map(|item| resolve_path(self.ctx, py_strip(item), base))
                .collect(),
            origin: raw.origin,
        }
    }
}

impl Raw {
    /// Untyped and `string` settings: as written, one pair of outer quotes
    /// dropped when from the file (`ensure_type`'s `unquote` for ini).
    fn string(self) -> Setting<String> {
        let value = if self.file.is_some() {
            unquote(&self.text).to_string()
        } else {
            self.text
        };
        Setting {
            value,
            origin: self.origin,
        }
    }

    /// Type `list`: split on `,`, each item stripped then unquoted.
    fn list(self) -> Setting<Vec<String>> {
        Setting {
            value: self
                .text
                .split(',')
                .map(|item| unquote(py_strip(item)).to_string())
                .collect(),
            origin: self.origin,
        }
    }

    /// Type `bool`: Ansible's `boolean(value, strict=False)`
    /// (`ansible/module_utils/parsing/convert_bool.py`), lowercased and
    /// stripped. Ansible takes every other value as false; zkrun refuses it.
    fn boolean(self) -> Result<Setting<bool>, ConfigError> {
        let word = self.text.to_lowercase();
        let value = match py_strip(&word) {
            "y" | "yes" | "on" | "1" | "true" | "t" => true,
            "n" | "no" | "off" | "0" | "false" | "f" => false,
            _ => {
                return Err(self.error(
                    format!("`{}` is not a boolean", self.text),
                    "write true or false (also yes/no, on/off, 1/0, y/n, t/f, in any case, \
                     without quotes); Ansible silently reads any other value as false",
                ));
            }
        };
        Ok(Setting {
            value,
            origin: self.origin,
        })
    }

    /// Type `integer`: Python's `Decimal(value)` with a zero fractional
    /// part, then zkrun's bounds. An empty environment variable means the
    /// default (`get_config_value_and_origin` falls back to it when an
    /// environment value fails to convert and is empty).
    fn number(self, min: u64, max: u64, default: u64) -> Result<Setting<u64>, ConfigError> {
        if self.text.is_empty() && self.file.is_none() {
            return Ok(Setting {
                value: default,
                origin: self.origin,
            });
        }
        let value = match decimal_integer(&self.text) {
            Ok(n) if n >= i128::from(min) && n <= i128::from(max) => {
                u64::try_from(n).expect("within bounds")
            }
            Ok(_) => {
                return Err(self.error(
                    format!("`{}` is out of range", self.text),
                    format!("give a whole number from {min} to {max}"),
                ));
            }
            Err(why) => {
                return Err(self.error(
                    format!("`{}` is not a whole number ({why})", self.text),
                    format!("give a whole number from {min}, without quotes or comments"),
                ));
            }
        };
        Ok(Setting {
            value,
            origin: self.origin,
        })
    }

    fn error(&self, what: String, help: impl Into<String>) -> ConfigError {
        match &self.origin {
            Origin::File {
                path,
                line,
                section,
                key,
            } => ConfigError::new(format!("[{section}] {key}: {what}"))
                .in_file(path, Some(*line))
                .help(help),
            Origin::Env { name } => ConfigError::new(format!("{name}: {what}")).help(help),
        }
    }
}

/// Python's `Decimal(text)` as an integer: whitespace around is allowed,
/// underscores anywhere are dropped, a sign, digits with an optional `.`,
/// an optional exponent; the value must be whole (`5.0`, `1e1`, not `5.5`).
/// Only ASCII digits (Python also takes other scripts' digits).
fn decimal_integer(text: &str) -> Result<i128, &'static str> {
    let cleaned: String = py_strip(text).chars().filter(|&c| c != '_').collect();
    let (negative, rest) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (whole, fraction) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
        return Err("not a number");
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return Err("not a number");
            }
            e.parse().map_err(|_| "out of range")?
        }
    };
    // value = digits × 10^shift
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    let shift = exponent
        .checked_sub(i64::try_from(fraction.len()).map_err(|_| "out of range")?)
        .ok_or("out of range")?;
    let integral = if shift >= 0 {
        if shift > 40 {
            return Err("out of range");
        }
        format!(
            "{digits}{}",
            "0".repeat(usize::try_from(shift).expect("small"))
        )
    } else {
        let cut = usize::try_from(shift.unsigned_abs()).map_err(|_| "not whole")?;
        if cut >= digits.len() || !digits[digits.len() - cut..].bytes().all(|b| b == b'0') {
            return Err("not whole");
        }
        digits[..digits.len() - cut].to_string()
    };
    if integral.len() > 38 {
        return Err("out of range");
    }
    let n: i128 = integral.parse().map_err(|_| "out of range")?;
    Ok(if negative { -n } else { n })
}

/// Ansible's `unfrackpath(path, follow=False, basedir=base)`
/// (`ansible/utils/path.py`), which it applies to `ANSIBLE_CONFIG`, `-i`
/// and `-e @file` paths: `$VAR`/`${VAR}` expanded (unset ones left as
/// written), then `~`/`~user`, then a relative result joined to `base` (the
/// current directory when `None`) and normalised like Python's
/// `os.path.normpath` (`..` folded without looking at the disk). Symlinks
/// are not resolved (`-e @file` and `-i` resolve them too; the file is the
/// same). `""` is the base directory itself.
pub fn expand_path(ctx: &Context, raw: &str, base: Option<&Path>) -> PathBuf {
    let text = expand_vars(ctx, raw);
    let text = expand_user(ctx, &text);
    let joined = if text.starts_with('/') {
        text
    } else {
        let base = base.map_or(ctx.cwd.to_string_lossy(), |b| b.to_string_lossy());
        if base.ends_with('/') || base.is_empty() {
            format!("{base}{text}")
        } else {
            format!("{base}/{text}")
        }
    };
    PathBuf::from(normpath(&joined))
}

/// `resolve_path` (`ansible/config/manager.py`), for path-typed settings:
/// [`expand_path`] after replacing `{{CWD}}` with the current directory.
fn resolve_path(ctx: &Context, raw: &str, base: Option<&Path>) -> PathBuf {
    let text = raw.replace("{{CWD}}", &ctx.cwd.to_string_lossy());
    expand_path(ctx, &text, base)
}

/// `posixpath.expandvars`: `$name` (ASCII letters, digits, `_`) and
/// `${anything}`; a variable that is not set stays as written.
fn expand_vars(ctx: &Context, text: &str) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (len > 0).then(|| (ctx.env)(name)).flatten() {
            Some(value) => out.push_str(&value),
            // Unset: the reference stays as written, and scanning goes on
            // after it (a `$` inside `${…}` is not looked at again).
            None => {
                out.push('$');
                out.push_str(&after[..len]);
            }
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `posixpath.expanduser`: `~` and `~/…` from [`Context::home`]; `~user`
/// from `/etc/passwd`; an unknown user leaves the text as written.
fn expand_user(ctx: &Context, text: &str) -> String {
    let Some(after) = text.strip_prefix('~') else {
        return text.to_string();
    };
    let end = after.find('/').unwrap_or(after.len());
    let (user, tail) = after.split_at(end);
    let home = if user.is_empty() {
        ctx.home.map(|h| h.to_string_lossy().into_owned())
    } else {
        passwd_home(user)
    };
    match home {
        Some(home) => {
            let joined = format!("{}{tail}", home.trim_end_matches('/'));
            if joined.is_empty() {
                "/".to_string()
            } else {
                joined
            }
        }
        None => text.to_string(),
    }
}

/// A user's home directory from `/etc/passwd` (Python asks NSS, which may
/// know more users; this covers local accounts).
fn passwd_home(user: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 7 && fields[0] == user).then(|| fields[5].to_string())
    })
}

/// `posixpath.normpath`.
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let leading = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if leading == 0 && (parts.is_empty() || parts.last() == Some(&"..")) => {
                parts.push("..");
            }
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let joined = format!("{}{}", "/".repeat(leading), parts.join("/"));
    if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Python's `str.isspace`: Unicode whitespace plus U+001C..U+001F, which
/// Rust does not count. `configparser` strips and indents by it.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// A value as `configparser` keeps it, with the line of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IniValue {
    text: String,
    line: usize,
}

/// The parsed file: named sections in order, and `[DEFAULT]`.
#[derive(Debug, Default)]
struct Ini {
    sections: IndexMap<String, IndexMap<String, IniValue>>,
    defaults: IndexMap<String, IniValue>,
}

/// A section while reading: a named one, or `[DEFAULT]` (`None`).
type SectionId = Option<String>;

impl Ini {
    /// `RawConfigParser._read` with Ansible's options: delimiters `=` and
    /// `:`, full-line comments `#` and `;`, inline comments `;`, strict,
    /// empty lines allowed in values, no valueless keys.
    fn parse(text: &str) -> Result<Ini, ConfigError> {
        let mut ini = Ini::default();
        // Each key's value lines and the key's line, joined at the end as
        // configparser does. Every key ever read is here, so it also
        // tells a repeated key.
        let mut pending: IndexMap<(SectionId, String), (Vec<String>, usize)> = IndexMap::new();
        // Before the first header: `None`.
        let mut current: Option<SectionId> = None;
        // The key that indented lines continue.
        let mut key: Option<String> = None;
        let mut indent_level = 0usize;
        let mut bad_lines: Vec<(usize, String)> = Vec::new();

        // configparser reads through StringIO, which splits on `\n` only; a
        // `\r` stays in the line and is stripped as whitespace.
        let mut lines: Vec<&str> = text.split('\n').collect();
        if text.ends_with('\n') {
            lines.pop();
        }
        for (index, line) in lines.iter().enumerate() {
            let lineno = index + 1;
            let comment_start = comment_start(line);
            let content = py_strip(&line[..comment_start.unwrap_or(line.len())]);
            let slot = |current: &Option<SectionId>, key: &Option<String>| {
                Some((current.clone()?, key.clone()?))
            };
            if content.is_empty() {
                // A blank line may belong to a multi-line value; a
                // comment-only line is dropped without ending the value.
                if comment_start.is_none()
                    && let Some(slot) = slot(&current, &key)
                    && let Some((lines, _)) = pending.get_mut(&slot)
                {
                    lines.push(String::new());
                }
                continue;
            }
            let indent = line.chars().take_while(|&c| is_py_space(c)).count();
            if let Some(slot) = slot(&current, &key)
                && indent > indent_level
            {
                if let Some((lines, _)) = pending.get_mut(&slot) {
                    lines.push(content.to_string());
                }
                continue;
            }
            indent_level = indent;
            if let Some(name) = section_header(content) {
                if ini.sections.contains_key(name) {
                    return Err(ConfigError::new(format!("section [{name}] already exists"))
                        .with_line(lineno)
                        .help("configparser (strict) refuses a section twice; merge the two"));
                } else if name == "DEFAULT" {
                    // Not a duplicate when repeated: configparser keeps no
                    // record of having seen [DEFAULT].
                    current = Some(None);
                } else {
                    ini.sections.insert(name.to_string(), IndexMap::new());
                    current = Some(Some(name.to_string()));
                }
                key = None;
                continue;
            }
            let Some(section) = current.clone() else {
                let help = if line.starts_with('\u{feff}') {
                    "the file starts with a byte-order mark, which Ansible does not skip; \
                     save it as UTF-8 without BOM"
                } else {
                    "start the file with a section header such as [defaults]"
                };
                return Err(ConfigError::new(format!(
                    "no section header before `{}`",
                    py_strip(line)
                ))
                .with_line(lineno)
                .help(help));
            };
            let Some((name, value)) = option_line(content) else {
                bad_lines.push((lineno, line.to_string()));
                continue;
            };
            if name.is_empty() {
                bad_lines.push((lineno, line.to_string()));
            }
            let name = name.to_lowercase();
            let id = (section.clone(), name.clone());
            if pending.contains_key(&id) {
                let section_name = section.as_deref().unwrap_or("DEFAULT");
                return Err(ConfigError::new(format!(
                    "option `{name}` in section [{section_name}] already exists"
                ))
                .with_line(lineno)
                .help("configparser (strict) refuses a key twice in a section, whatever its case; keep one"));
            }
            pending.insert(id, (vec![value.to_string()], lineno));
            // An empty key (an error reported at the end) takes no
            // continuation lines: configparser tests the key for truth.
            key = (!name.is_empty()).then_some(name);
        }

        for ((section, name), (lines, line)) in pending {
            let text = lines.join("\n").trim_end_matches(is_py_space).to_string();
            let value = IniValue { text, line };
            match section {
                None => {
                    ini.defaults.insert(name, value);
                }
                Some(section) => {
                    ini.sections
                        .get_mut(&section)
                        .expect("created with its header")
                        .insert(name, value);
                }
            }
        }
        if let Some((lineno, line)) = bad_lines.first() {
            let more = match bad_lines.len() {
                1 => String::new(),
                n => format!(" (and {} more such lines)", n - 1),
            };
            return Err(ConfigError::new(format!(
                "`{}` is not `key = value`, a [section] or a comment{more}",
                py_strip(line)
            ))
            .with_line(*lineno)
            .help(
                "indent a line to continue the value above; start it with # or ; to comment it out",
            ));
        }
        Ok(ini)
    }

    /// `parser.get(section, key, raw=True, fallback=None)`: the section's
    /// own value, else `[DEFAULT]`'s, and nothing when the section does not
    /// exist. Returns the section the value was written in.
    fn get<'a>(&'a self, section: &'a str, key: &str) -> Option<(&'a str, &'a IniValue)> {
        let own = self.sections.get(section)?;
        own.get(key)
            .map(|v| (section, v))
            .or_else(|| self.defaults.get(key).map(|v| ("DEFAULT", v)))
    }

    /// Sections Ansible will not read that look meant to be ones it does.
    fn misnamed_sections(&self) -> Vec<String> {
        const KNOWN: [&str; 3] = ["defaults", "privilege_escalation", "ssh_connection"];
        self.sections
            .keys()
            .filter_map(|name| {
                let meant = py_strip(name).to_lowercase();
                (KNOWN.contains(&meant.as_str()) && !KNOWN.contains(&name.as_str())).then(|| {
                    format!(
                        "section [{name}] is not [{meant}]: Ansible matches section names \
                         exactly and ignores it"
                    )
                })
            })
            .collect()
    }
}

impl ConfigError {
    fn with_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

/// Where a comment starts: the whole line when its first non-blank is `#`
/// or `;`; else at the first `;` that starts the line or follows
/// whitespace.
fn comment_start(line: &str) -> Option<usize> {
    let trimmed = py_strip(line);
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Some(0);
    }
    let mut prev: Option<char> = None;
    for (i, c) in line.char_indices() {
        if c == ';' && prev.is_none_or(is_py_space) {
            return Some(i);
        }
        prev = Some(c);
    }
    None
}

/// `SECTCRE` (`\[(?P<header>.+)\]`, matched at the start): the name runs
/// to the last `]` of the line and is not empty; text after it is ignored.
fn section_header(content: &str) -> Option<&str> {
    let rest = content.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// `OPTCRE`: the key is everything before the first `=` or `:` (trailing
/// whitespace dropped), the value everything after it, stripped.
fn option_line(content: &str) -> Option<(&str, &str)> {
    let at = content.find(['=', ':'])?;
    let name = content[..at].trim_end_matches(is_py_space);
    Some((name, py_strip(&content[at + 1..])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    // Expected values are what ansible-core 2.19.14 reported for the same
    // file and environment (its ConfigManager, and `ansible -vvv`'s ssh
    // command line for the ssh connection's settings).

    fn with_env<T>(
        vars: &[(&str, &str)],
        cwd: &Path,
        home: Option<&Path>,
        f: impl FnOnce(&Context) -> T,
    ) -> T {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| map.get(k).cloned();
        let ctx = Context {
            env: &env,
            cwd,
            home,
        };
        f(&ctx)
    }

    fn cfg(text: &str, vars: &[(&str, &str)]) -> Result<AnsibleConfig, ConfigError> {
        with_env(
            vars,
            Path::new("/work"),
            Some(Path::new("/home/u")),
            |ctx| parse(ctx, Some((Path::new("/etc/proj/ansible.cfg"), text))),
        )
    }

    fn ok(text: &str) -> AnsibleConfig {
        cfg(text, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> ConfigError {
        cfg(text, &[]).expect_err(text)
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn the_settings_zkrun_uses() {
        let c = ok("[defaults]\n\
             inventory = hosts, ~/inv ,../x,\n\
             forks = 5 ; five\n\
             timeout = 1e1\n\
             private_key_file = \"~/.ssh/id\"\n\
             remote_user = 'bob'\n\
             vault_identity_list = a@x, 'b@y' ,\n\
             vault_password_file = ~/.vault\n\
             [privilege_escalation]\n\
             become = yes\n\
             become_user = \"root\" ; comment\n\
             become_method = su\n\
             become_ask_pass = False\n\
             [ssh_connection]\n\
             ssh_args = \"-o A=1\"\n\
             ssh_common_args = -o ProxyCommand=\"ssh -W %h:%p -q bastion\"\n\
             ssh_extra_args = -v\n");
        // An empty item is the base directory itself.
        assert_eq!(
            c.inventory.unwrap().value,
            paths(&["/etc/proj/hosts", "/home/u/inv", "/etc/x", "/etc/proj"])
        );
        assert_eq!(c.forks.unwrap().value, 5);
        assert_eq!(c.timeout.unwrap().value, 10);
        // Paths are not unquoted: the quotes become part of the name.
        assert_eq!(
            c.private_key_file.unwrap().value,
            PathBuf::from("/etc/proj/\"~/.ssh/id\"")
        );
        assert_eq!(c.remote_user.unwrap().value, "bob");
        assert_eq!(c.vault_identity_list.unwrap().value, ["a@x", "b@y", ""]);
        assert_eq!(
            c.vault_password_file.unwrap().value,
            PathBuf::from("/home/u/.vault")
        );
        assert!(c.r#become.unwrap().value);
        assert_eq!(c.become_user.unwrap().value, "root");
        assert_eq!(c.become_method.unwrap().value, "su");
        assert!(!c.become_ask_pass.unwrap().value);
        assert_eq!(c.ssh_args.unwrap().value, "-o A=1");
        assert_eq!(
            c.ssh_common_args.unwrap().value,
            "-o ProxyCommand=\"ssh -W %h:%p -q bastion\""
        );
        assert_eq!(c.ssh_extra_args.unwrap().value, "-v");
        assert_eq!(c.host_key_checking, None);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn nothing_written_is_none() {
        let c = ok("[defaults]\nunknown_key = whatever\ngathering = bogus\n");
        assert_eq!(c.forks, None);
        assert_eq!(c.inventory, None);
        let c = with_env(&[], Path::new("/w"), None, |ctx| parse(ctx, None)).unwrap();
        assert_eq!(c, AnsibleConfig::default());
    }

    #[test]
    fn origins_carry_file_and_line() {
        let c = ok(
            "# top\n[defaults]\n\nremote_user = a\n\n[ssh_connection]\nssh_args = -o A=1\n  -o B=2\n",
        );
        let user = c.remote_user.unwrap();
        assert_eq!(
            user.origin,
            Origin::File {
                path: PathBuf::from("/etc/proj/ansible.cfg"),
                line: 4,
                section: "defaults".into(),
                key: "remote_user".into(),
            }
        );
        assert_eq!(
            user.origin.to_string(),
            "/etc/proj/ansible.cfg:4 ([defaults] remote_user)"
        );
        let args = c.ssh_args.unwrap();
        assert_eq!(args.value, "-o A=1\n-o B=2");
        assert!(matches!(args.origin, Origin::File { line: 7, .. }));
    }

    #[test]
    fn inline_hash_is_part_of_the_value() {
        let e = err("[defaults]\nforks = 5 # five\n");
        assert_eq!(e.file, Some(PathBuf::from("/etc/proj/ansible.cfg")));
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("`5 # five` is not a whole number"),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("/etc/proj/ansible.cfg:2: [defaults] forks:")
        );
        assert!(e.to_string().contains("\nhelp: "));
    }

    #[test]
    fn semicolon_comments_need_whitespace_before() {
        let c = ok(
            "[defaults]\nremote_user = a;b\n[privilege_escalation]\nbecome_user = a\t;c\nbecome_method=;\n",
        );
        assert_eq!(c.remote_user.unwrap().value, "a;b");
        assert_eq!(c.become_user.unwrap().value, "a");
        assert_eq!(c.become_method.unwrap().value, ";");
    }

    #[test]
    fn numbers_follow_python_decimal() {
        for (text, n) in [
            ("5", 5),
            (" 5 ", 5),
            ("+5", 5),
            ("5.0", 5),
            ("5.", 5),
            ("1e1", 10),
            ("1E+1", 10),
            (".5e1", 5),
            ("1_0", 10),
            ("_1", 1),
            ("1.50e1", 15),
            ("-0", 0),
            ("007", 7),
        ] {
            assert_eq!(decimal_integer(text), Ok(n), "{text}");
        }
        for text in [
            "", "abc", "5.5", "1e-1", "0x10", "Infinity", "nan", "1e", "e1", ".", "--1", "1e99",
        ] {
            assert!(decimal_integer(text).is_err(), "{text}");
        }
        assert_eq!(decimal_integer("-3"), Ok(-3));
    }

    #[test]
    fn number_bounds() {
        assert!(
            err("[defaults]\nforks = 0\n")
                .message
                .contains("out of range")
        );
        assert!(
            err("[defaults]\ntimeout = -1\n")
                .message
                .contains("out of range")
        );
        assert!(
            err("[defaults]\nforks = 99999999999\n")
                .message
                .contains("out of range")
        );
        assert!(
            err("[defaults]\nforks =\n")
                .message
                .contains("not a whole number")
        );
        assert!(
            err("[defaults]\nforks = \"5\"\n")
                .message
                .contains("not a whole number")
        );
        assert_eq!(ok("[defaults]\ntimeout = 0\n").timeout.unwrap().value, 0);
    }

    #[test]
    fn booleans() {
        for word in ["yes", "on", "1", "true", "y", "t", "TRUE", "Yes", "oN"] {
            let c = ok(&format!("[privilege_escalation]\nbecome = {word}\n"));
            assert!(c.r#become.unwrap().value, "{word}");
        }
        for word in ["no", "off", "0", "false", "n", "f", "False", "NO"] {
            let c = ok(&format!("[privilege_escalation]\nbecome = {word}\n"));
            assert!(!c.r#become.unwrap().value, "{word}");
        }
        // Ansible reads each of these as false.
        for word in ["maybe", "\"yes\"", "'no'", "2", ""] {
            let e = err(&format!("[privilege_escalation]\nbecome = {word}\n"));
            assert_eq!(e.line, Some(2), "{word}");
            assert!(e.help.unwrap().contains("silently"), "{word}");
        }
        let e = cfg("", &[("ANSIBLE_BECOME", "")]).unwrap_err();
        assert!(e.message.starts_with("ANSIBLE_BECOME:"), "{e}");
        assert_eq!(e.file, None);
        let c = cfg("", &[("ANSIBLE_BECOME", " Yes ")]).unwrap();
        assert!(c.r#become.unwrap().value);
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = "[defaults]\nforks = 10\nremote_user = file\ninventory = inv\n";
        let c = cfg(
            file,
            &[
                ("ANSIBLE_FORKS", ""),
                ("ANSIBLE_INVENTORY", "a, $HOME/b,~/c,${UNSET}/d"),
                ("ANSIBLE_TIMEOUT", " 1_0 "),
                ("ANSIBLE_REMOTE_USER", "\"q\""),
                ("ANSIBLE_VAULT_IDENTITY_LIST", " 'x' ,y"),
                ("ANSIBLE_PRIVATE_KEY_FILE", ""),
                ("ANSIBLE_SSH_ARGS", "'-C'"),
                ("HOME", "/home/u"),
            ],
        )
        .unwrap();
        // Empty for a number: Ansible's default, not the file's 10.
        let forks = c.forks.unwrap();
        assert_eq!(forks.value, defaults::FORKS);
        assert_eq!(
            forks.origin,
            Origin::Env {
                name: "ANSIBLE_FORKS".into()
            }
        );
        // Relative to the current directory, not the config file's.
        assert_eq!(
            c.inventory.unwrap().value,
            paths(&["/work/a", "/home/u/b", "/home/u/c", "/work/${UNSET}/d"])
        );
        assert_eq!(c.timeout.unwrap().value, 10);
        // Environment strings are not unquoted, list items are.
        assert_eq!(c.remote_user.unwrap().value, "\"q\"");
        assert_eq!(c.ssh_args.unwrap().value, "'-C'");
        assert_eq!(c.vault_identity_list.unwrap().value, ["x", "y"]);
        // An empty path is the current directory.
        assert_eq!(c.private_key_file.unwrap().value, PathBuf::from("/work"));

        let e = cfg(file, &[("ANSIBLE_FORKS", "abc")]).unwrap_err();
        assert!(e.message.starts_with("ANSIBLE_FORKS: `abc`"), "{e}");
    }

    #[test]
    fn host_key_checking_follows_the_ssh_plugin() {
        let file =
            "[defaults]\nhost_key_checking = yes\n[ssh_connection]\nhost_key_checking = no\n";
        let hkc = ok(file).host_key_checking.unwrap();
        assert!(!hkc.value);
        assert!(matches!(hkc.origin, Origin::File { line: 4, .. }));
        let c = cfg(
            file,
            &[
                ("ANSIBLE_HOST_KEY_CHECKING", "no"),
                ("ANSIBLE_SSH_HOST_KEY_CHECKING", "yes"),
            ],
        )
        .unwrap();
        assert!(c.host_key_checking.unwrap().value);
        let c = cfg(file, &[("ANSIBLE_HOST_KEY_CHECKING", "yes")]).unwrap();
        assert!(c.host_key_checking.unwrap().value);
        // [DEFAULT] fills the existing [ssh_connection], which outranks
        // [defaults]: `ansible -vvv` adds no StrictHostKeyChecking=no here.
        let c = ok(
            "[DEFAULT]\nhost_key_checking = yes\n[ssh_connection]\n[defaults]\nhost_key_checking = no\n",
        );
        let hkc = c.host_key_checking.unwrap();
        assert!(hkc.value);
        assert!(
            matches!(&hkc.origin, Origin::File { section, line: 2, .. } if section == "DEFAULT")
        );
    }

    #[test]
    fn default_section_fills_only_sections_that_exist() {
        let c = ok("[DEFAULT]\nremote_user = d\n");
        assert_eq!(c.remote_user, None);
        let c =
            ok("[DEFAULT]\nremote_user = d\nbecome = true\n[privilege_escalation]\n[defaults]\n");
        assert_eq!(c.remote_user.unwrap().value, "d");
        assert!(c.r#become.unwrap().value);
        let c = ok("[DEFAULT]\nremote_user = d\n[defaults]\nremote_user = own\n");
        assert_eq!(c.remote_user.unwrap().value, "own");
    }

    #[test]
    fn ssh_connection_timeout_is_shadowed() {
        let c = ok("[defaults]\n[ssh_connection]\ntimeout = 3\n");
        assert_eq!(c.timeout, None);
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].contains("[ssh_connection] timeout) is ignored"),
            "{:?}",
            c.warnings
        );
        let c = cfg("", &[("ANSIBLE_SSH_TIMEOUT", "4")]).unwrap();
        assert!(c.warnings[0].starts_with("environment variable ANSIBLE_SSH_TIMEOUT is ignored"));
    }

    #[test]
    fn keys_are_case_insensitive_sections_are_not() {
        let c = ok("[defaults]\nREMOTE_User: x\n[Defaults]\nforks = abc\n[ ssh_connection ]\n");
        assert_eq!(c.remote_user.unwrap().value, "x");
        assert_eq!(c.forks, None);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("[Defaults] is not [defaults]"));
    }

    #[test]
    fn configparser_details() {
        // Continuations: deeper indent, blank lines kept inside, comment
        // lines dropped, trailing blanks dropped; an indented header is
        // part of the value.
        let c = ok(
            "[ssh_connection]\nssh_args = a\n  b\n\n  c\n# com\n  d\n\n  [defaults]\nssh_extra_args =\n  x\n\n",
        );
        assert_eq!(c.ssh_args.unwrap().value, "a\nb\n\nc\nd\n\n[defaults]");
        assert_eq!(c.ssh_extra_args.unwrap().value, "\nx");
        // `:` or `=`, whichever comes first; no interpolation.
        let c = ok("[defaults]\nremote_user: a = b\n[privilege_escalation]\nbecome_user = %(x)s\n");
        assert_eq!(c.remote_user.unwrap().value, "a = b");
        assert_eq!(c.become_user.unwrap().value, "%(x)s");
        // Text after the header's `]` is ignored; the name runs to the last `]`.
        let c = ok("[defaults] junk\nremote_user = x\n");
        assert_eq!(c.remote_user.unwrap().value, "x");
        // CRLF files; a lone CR is not a line break.
        let c = ok("[defaults]\r\nremote_user = a\rb\r\n");
        assert_eq!(c.remote_user.unwrap().value, "a\rb");
        // An indented header sets the indent: a less indented key after it
        // starts a key, a deeper line continues it.
        let c = ok("  [defaults]\nremote_user=1\n  forks=2\n");
        assert_eq!(c.remote_user.unwrap().value, "1\nforks=2");
        // [DEFAULT] may come twice (configparser does not track it).
        assert!(cfg("[DEFAULT]\na=1\n[DEFAULT]\nb=1\n[defaults]\n", &[]).is_ok());
    }

    #[test]
    fn configparser_errors() {
        let e = err("[defaults]\nx=1\n[defaults]\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(3), "section [defaults] already exists")
        );
        let e = err("[defaults]\nx=1\nX=2\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("option `x` in section [defaults]"));
        let e = err("[DEFAULT]\nx=1\n[DEFAULT]\nx=2\n");
        assert_eq!(e.line, Some(4));
        let e = err("x=1\n[defaults]\n");
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("no section header"));
        let e = err("\u{feff}[defaults]\n");
        assert!(e.help.unwrap().contains("byte-order mark"));
        let e = err("[]\n");
        assert!(e.message.contains("no section header"));
        let e = err("[defaults]\nbad line\nx=1\nworse\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("and 1 more"), "{e}");
        let e = err("[defaults]\n= 1\n");
        assert_eq!(e.line, Some(2));
        // Strict errors are raised where met, before the collected ones.
        let e = err("[defaults]\nbad line\nx=1\n[defaults]\n");
        assert_eq!(e.line, Some(4));
        assert_eq!(e.file, Some(PathBuf::from("/etc/proj/ansible.cfg")));
    }

    #[test]
    fn only_cfg_and_ini_files() {
        with_env(&[], Path::new("/w"), None, |ctx| {
            for name in ["/x/ansible.cfg", "/x/a.ini", "/x/.ansible.cfg"] {
                assert!(parse(ctx, Some((Path::new(name), ""))).is_ok(), "{name}");
            }
            for name in [
                "/x/a.yml",
                "/x/myconfig",
                "/x/.cfg",
                "/x/..cfg",
                "/x/A.CFG",
                "/x/a.",
            ] {
                let e = parse(ctx, Some((Path::new(name), ""))).expect_err(name);
                assert!(e.message.contains("only `.cfg` and `.ini`"), "{name}");
            }
        });
    }

    #[test]
    fn path_expansion() {
        with_env(
            &[("V", "val"), ("HOME", "/home/u")],
            Path::new("/cwd"),
            Some(Path::new("/home/u/")),
            |ctx| {
                let base = Some(Path::new("/etc/proj"));
                let p = |raw: &str| resolve_path(ctx, raw, base).to_string_lossy().into_owned();
                assert_eq!(p("k"), "/etc/proj/k");
                assert_eq!(p(""), "/etc/proj");
                assert_eq!(p("{{CWD}}/k"), "/cwd/k");
                assert_eq!(p("$V/${V}x/$Vx/$/${}"), "/etc/proj/val/valx/$Vx/$/${}");
                assert_eq!(p("${UNSET$V}"), "/etc/proj/${UNSET$V}");
                assert_eq!(p("~"), "/home/u");
                assert_eq!(p("~/k"), "/home/u/k");
                assert_eq!(p("$HOME/k"), "/home/u/k");
                assert_eq!(p("~no_such_user_zk/k"), "/etc/proj/~no_such_user_zk/k");
                assert_eq!(p("a/./b/../../../c"), "/etc/c");
                assert_eq!(p("/../a//b/"), "/a/b");
                assert_eq!(p("//a"), "//a");
                assert_eq!(p("///a"), "/a");
                assert_eq!(expand_path(ctx, "k", None), PathBuf::from("/cwd/k"));
                // Only config values know `{{CWD}}`.
                assert_eq!(
                    expand_path(ctx, "{{CWD}}", base),
                    PathBuf::from("/etc/proj/{{CWD}}")
                );
            },
        );
        with_env(&[], Path::new("/cwd"), None, |ctx| {
            assert_eq!(expand_path(ctx, "~/k", None), PathBuf::from("/cwd/~/k"));
        });
    }

    fn dir_with_mode(mode: u32) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        dir
    }

    #[test]
    fn find_order() {
        let cwd = dir_with_mode(0o755);
        let home = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let none = Path::new("/nonexistent/zkrun/ansible.cfg");
        let find_here = |vars: &[(&str, &str)]| {
            with_env(vars, cwd.path(), Some(home.path()), |ctx| {
                find_with_system(ctx, none)
            })
        };

        assert_eq!(find_here(&[]).path, None);
        std::fs::write(home.path().join(".ansible.cfg"), "").unwrap();
        assert_eq!(find_here(&[]).path, Some(home.path().join(".ansible.cfg")));
        std::fs::write(cwd.path().join("ansible.cfg"), "").unwrap();
        assert_eq!(find_here(&[]).path, Some(cwd.path().join("ansible.cfg")));

        // ANSIBLE_CONFIG: a file, a directory holding ansible.cfg, relative.
        let named = other.path().join("team.cfg");
        std::fs::write(&named, "").unwrap();
        let found = find_here(&[("ANSIBLE_CONFIG", named.to_str().unwrap())]);
        assert_eq!((found.path, found.warnings), (Some(named.clone()), vec![]));
        std::fs::write(other.path().join("ansible.cfg"), "").unwrap();
        let found = find_here(&[("ANSIBLE_CONFIG", other.path().to_str().unwrap())]);
        assert_eq!(found.path, Some(other.path().join("ansible.cfg")));
        std::fs::create_dir(cwd.path().join("sub")).unwrap();
        std::fs::write(cwd.path().join("sub/x.cfg"), "").unwrap();
        let found = find_here(&[("ANSIBLE_CONFIG", "sub/./x.cfg")]);
        assert_eq!(found.path, Some(cwd.path().join("sub/x.cfg")));
        // `~` and `$VARS` in it are expanded.
        let found = find_here(&[("ANSIBLE_CONFIG", "~/.ansible.cfg")]);
        assert_eq!(found.path, Some(home.path().join(".ansible.cfg")));

        // Missing: Ansible moves on without a word; zkrun warns.
        let found = find_here(&[("ANSIBLE_CONFIG", "/nonexistent/zk.cfg")]);
        assert_eq!(found.path, Some(cwd.path().join("ansible.cfg")));
        assert_eq!(found.warnings.len(), 1);
        assert!(found.warnings[0].contains("ANSIBLE_CONFIG is set to `/nonexistent/zk.cfg`"));
    }

    #[test]
    fn world_writable_cwd_is_skipped() {
        let cwd = dir_with_mode(0o777);
        let home = tempfile::tempdir().unwrap();
        let none = Path::new("/nonexistent/zkrun/ansible.cfg");
        let find_here = |vars: &[(&str, &str)]| {
            with_env(vars, cwd.path(), Some(home.path()), |ctx| {
                find_with_system(ctx, none)
            })
        };
        // No file there: nothing to warn about.
        assert_eq!(
            find_here(&[]),
            Located {
                path: None,
                warnings: vec![]
            }
        );

        std::fs::write(cwd.path().join("ansible.cfg"), "").unwrap();
        std::fs::write(home.path().join(".ansible.cfg"), "").unwrap();
        let found = find_here(&[]);
        assert_eq!(found.path, Some(home.path().join(".ansible.cfg")));
        assert_eq!(found.warnings.len(), 1);
        assert!(found.warnings[0].contains("world writable directory"));

        // ANSIBLE_CONFIG set but empty is the current directory, world
        // writable or not, and then there is no warning.
        let found = find_here(&[("ANSIBLE_CONFIG", "")]);
        assert_eq!(
            (found.path, found.warnings),
            (Some(cwd.path().join("ansible.cfg")), vec![])
        );
        let found = find_here(&[("ANSIBLE_CONFIG", ".")]);
        assert_eq!(found.path, Some(cwd.path().join("ansible.cfg")));
    }

    #[test]
    fn load_reads_the_found_file() {
        let cwd = dir_with_mode(0o755);
        std::fs::write(
            cwd.path().join("ansible.cfg"),
            "[defaults]\ninventory = hosts.yml\nforks = 20\n",
        )
        .unwrap();
        let c = with_env(&[("ANSIBLE_TIMEOUT", "30")], cwd.path(), None, load).unwrap();
        assert_eq!(c.file, Some(cwd.path().join("ansible.cfg")));
        assert_eq!(
            c.inventory.unwrap().value,
            vec![cwd.path().join("hosts.yml")]
        );
        assert_eq!(c.forks.unwrap().value, 20);
        assert_eq!(c.timeout.unwrap().value, 30);

        std::fs::write(
            cwd.path().join("ansible.cfg"),
            b"[defaults]\nremote_user = \xff\n",
        )
        .unwrap();
        let e = with_env(&[], cwd.path(), None, load).unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{e}");

        std::fs::remove_file(cwd.path().join("ansible.cfg")).unwrap();
        std::fs::create_dir(cwd.path().join("ansible.cfg")).unwrap();
        let e = with_env(&[], cwd.path(), None, load).unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
    }
}

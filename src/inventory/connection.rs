//! How a host is reached, from its (rendered) `ansible_*` variables, with
//! the names and precedence of ansible-core 2.19's `ssh` connection and
//! `sudo` become plugins.
//!
//! Where a plugin option lists several variables, the last one set wins:
//! `ansible_ssh_host` over `ansible_host` over the inventory name,
//! `ansible_ssh_port` over `ansible_port`, `ansible_ssh_user` over
//! `ansible_user`, `ansible_ssh_private_key_file` over
//! `ansible_private_key_file`. Variables beat the command line (`-u`,
//! `--private-key`, `-b`, `--become-user`), which beats `ansible.cfg`.

use minijinja::Value as J;
use serde::Serialize;

/// Connection settings that come from outside the inventory: `ansible.cfg`
/// and the environment, overridden by the command line.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub user: Option<String>,
    /// ansible.cfg's `remote_port`.
    pub port: Option<u16>,
    /// ansible.cfg's `transport`.
    pub connection: Option<String>,
    pub key_file: Option<String>,
    pub r#become: bool,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    pub become_password: Option<Secret>,
    pub ssh_args: Option<String>,
    pub ssh_common_args: Option<String>,
    pub ssh_extra_args: Option<String>,
}

/// A password: never printed, never serialized.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::render::REDACTED)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Ssh,
    /// `ansible_connection: local`: commands run on this machine.
    Local,
}

/// How to reach a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Connection {
    #[serde(skip_serializing_if = "is_ssh")]
    pub kind: Kind,
    /// `ansible_host`, or the inventory name.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub key_file: Option<String>,
    pub r#become: bool,
    /// Whom `become` runs commands as (None: root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub become_user: Option<String>,
    /// Given to `sudo -S` on standard input; never on a command line.
    #[serde(skip)]
    pub become_password: Option<Secret>,
    /// ssh options (`Key=Value`) from `ansible_ssh_common_args`,
    /// `ansible_ssh_extra_args` and `ansible_ssh_args`, in that order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh_options: Vec<String>,
}

fn is_ssh(k: &Kind) -> bool {
    *k == Kind::Ssh
}

/// Why a connection cannot be built; `var` names the variable to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnError {
    pub var: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

fn err(var: &str, message: String, help: Option<&str>) -> ConnError {
    ConnError {
        var: Some(var.to_string()),
        message,
        help: help.map(str::to_string),
    }
}

/// Variables zkrun reads to reach a host (and `ansible_group_priority`,
/// which orders groups).
pub const HONOURED: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_private_key_file",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_ssh_args",
    "ansible_connection",
    "ansible_become",
    "ansible_become_user",
    "ansible_sudo_user",
    "ansible_become_method",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
    "ansible_group_priority",
];

/// Variables that change how Ansible connects in a way zkrun cannot follow:
/// set, they are an error rather than a silent difference.
pub const REFUSED: &[(&str, &str)] = &[
    (
        "ansible_password",
        "zkrun logs in with keys or an agent, not passwords; remove it and use a key",
    ),
    (
        "ansible_ssh_pass",
        "zkrun logs in with keys or an agent, not passwords; remove it and use a key",
    ),
    (
        "ansible_ssh_password",
        "zkrun logs in with keys or an agent, not passwords; remove it and use a key",
    ),
    (
        "ansible_ssh_executable",
        "zkrun runs the system `ssh`; put client settings in ~/.ssh/config",
    ),
    (
        "ansible_private_key",
        "give the key as a file with `ansible_ssh_private_key_file`",
    ),
    (
        "ansible_ssh_private_key",
        "give the key as a file with `ansible_ssh_private_key_file`",
    ),
    (
        "ansible_private_key_passphrase",
        "load the key into ssh-agent instead",
    ),
    (
        "ansible_ssh_private_key_passphrase",
        "load the key into ssh-agent instead",
    ),
    (
        "ansible_become_exe",
        "zkrun becomes with `sudo` from the PATH",
    ),
    (
        "ansible_sudo_exe",
        "zkrun becomes with `sudo` from the PATH",
    ),
    (
        "ansible_become_flags",
        "zkrun runs `sudo -n` (or `sudo -S` with a become password); remove the flags",
    ),
    (
        "ansible_sudo_flags",
        "zkrun runs `sudo -n` (or `sudo -S` with a become password); remove the flags",
    ),
    (
        "ansible_host_key_checking",
        "zkrun always checks host keys; use --accept-new-host-keys to trust new ones",
    ),
    (
        "ansible_ssh_host_key_checking",
        "zkrun always checks host keys; use --accept-new-host-keys to trust new ones",
    ),
    (
        "ansible_ssh_pkcs11_provider",
        "set PKCS11Provider in ~/.ssh/config",
    ),
];

/// Builds a host's connection. `var` returns a rendered variable (None when
/// unset) or the reason it could not be rendered.
pub fn resolve(
    name: &str,
    var: &dyn Fn(&str) -> Result<Option<J>, String>,
    defaults: &Defaults,
) -> Result<Connection, ConnError> {
    let get = |k: &str| -> Result<Option<J>, ConnError> {
        match var(k) {
            Ok(Some(v)) if v.is_none() => Ok(None),
            Ok(v) => Ok(v),
            Err(m) => Err(err(k, format!("`{k}`: {m}"), None)),
        }
    };
    let text = |k: &str| -> Result<Option<String>, ConnError> {
        match get(k)? {
            None => Ok(None),
            Some(v) => match v.as_str() {
                Some(s) => Ok(Some(s.to_string())),
                None if v.is_number() => Ok(Some(v.to_string())),
                None => Err(err(k, format!("`{k}` must be text, not `{v}`"), None)),
            },
        }
    };
    // The last variable of each list that is set wins (ansible-core's
    // ConfigManager reads an option's `vars` in order, keeping the last).
    let last = |keys: &[&str]| -> Result<Option<(String, String)>, ConnError> {
        let mut out = None;
        for k in keys {
            if let Some(v) = text(k)? {
                out = Some((k.to_string(), v));
            }
        }
        Ok(out)
    };
    for (k, help) in REFUSED {
        if get(k)?.is_some() {
            return Err(err(
                k,
                format!("`{k}` is set, and zkrun cannot honour it"),
                Some(help),
            ));
        }
    }
    let kind = match text("ansible_connection")?
        .or_else(|| defaults.connection.clone())
        .as_deref()
    {
        None | Some("ssh" | "smart" | "ansible.builtin.ssh" | "ansible.legacy.ssh") => Kind::Ssh,
        Some("local" | "ansible.builtin.local" | "ansible.legacy.local") => Kind::Local,
        Some(other) => {
            return Err(err(
                "ansible_connection",
                format!(
                    "`ansible_connection: {other}` is not supported; zkrun connects with `ssh` or runs `local`ly"
                ),
                Some(
                    "reach the host over ssh, or run zkrun on the host with `ansible_connection: local`",
                ),
            ));
        }
    };
    let address = match last(&["ansible_host", "ansible_ssh_host"])? {
        Some((k, a)) => {
            check_word(&a, &k)?;
            a
        }
        None => {
            check_word(name, "the host name").map_err(|_| ConnError {
                var: None,
                message: format!(
                    "`{}` is the address ssh would be given (no `ansible_host` is set), and it cannot be one: it must be one word that does not start with `-`",
                    name.escape_debug()
                ),
                help: Some("name the host as ssh knows it, or set `ansible_host`".into()),
            })?;
            name.to_string()
        }
    };
    let port =
        match last(&["ansible_port", "ansible_ssh_port"])? {
            None => defaults.port,
            Some((k, p)) => Some(p.trim().parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(
                || {
                    err(
                        &k,
                        format!("`{k}` is `{p}`, not a port from 1 to 65535"),
                        None,
                    )
                },
            )?),
        };
    let user = match last(&["ansible_user", "ansible_ssh_user"])? {
        Some((k, u)) => {
            check_word(&u, &k)?;
            Some(u)
        }
        None => defaults.user.clone(),
    };
    let key_file = match last(&["ansible_private_key_file", "ansible_ssh_private_key_file"])? {
        // As written: ssh expands `~` in an identity file itself.
        Some((_, k)) => Some(k),
        None => defaults.key_file.clone(),
    };
    let r#become = match get("ansible_become")? {
        None => defaults.r#become,
        Some(v) => boolean(&v).ok_or_else(|| {
            err(
                "ansible_become",
                format!("`ansible_become` must be true or false, not `{v}`"),
                None,
            )
        })?,
    };
    let method = text("ansible_become_method")?.or_else(|| defaults.become_method.clone());
    if let Some(m) = method.as_deref().filter(|m| *m != "sudo") {
        return Err(err(
            "ansible_become_method",
            format!("become method `{m}` is not supported; zkrun becomes with `sudo`"),
            Some(
                "use `ansible_become_method: sudo`, or log in as the user the commands must run as",
            ),
        ));
    }
    let become_user = match last(&["ansible_become_user", "ansible_sudo_user"])? {
        Some((k, u)) => {
            check_word(&u, &k)?;
            Some(u)
        }
        None => defaults.become_user.clone(),
    }
    .filter(|u| u != "root");
    let become_password = match last(&[
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
    ])? {
        Some((_, p)) => Some(Secret(p)),
        None => defaults.become_password.clone(),
    };
    let mut ssh_options = Vec::new();
    for (k, default) in [
        ("ansible_ssh_common_args", &defaults.ssh_common_args),
        ("ansible_ssh_extra_args", &defaults.ssh_extra_args),
        ("ansible_ssh_args", &defaults.ssh_args),
    ] {
        let args = text(k)?.or_else(|| default.clone());
        if let Some(args) = args {
            ssh_options
                .extend(ssh_options_of(&args).map_err(|m| err(k, format!("`{k}`: {m}"), None))?);
        }
    }
    Ok(Connection {
        kind,
        address,
        port,
        user,
        key_file,
        r#become,
        become_user,
        become_password,
        ssh_options,
    })
}

/// Ansible's `boolean()`: yes/on/true/1/y/t and their opposites, any case.
pub fn boolean(v: &J) -> Option<bool> {
    if let Some(b) = v.as_str() {
        return match b.trim().to_lowercase().as_str() {
            "yes" | "on" | "true" | "1" | "y" | "t" | "1.0" => Some(true),
            "no" | "off" | "false" | "0" | "n" | "f" | "0.0" => Some(false),
            _ => None,
        };
    }
    if v.kind() == minijinja::value::ValueKind::Bool {
        return Some(v.is_true());
    }
    match i64::try_from(v.clone()) {
        Ok(1) => Some(true),
        Ok(0) => Some(false),
        _ => None,
    }
}

/// An address or user name: one word, no option-like or control characters.
fn check_word(s: &str, k: &str) -> Result<(), ConnError> {
    // `user@host` and `ssh://…` would be parsed by ssh (and the ssh client
    // crate) into another user and port than the ones shown; non-ASCII
    // can hide bidirectional or invisible characters.
    let bad = s.is_empty()
        || s.starts_with('-')
        || s.contains('@')
        || s.contains("://")
        || s.chars()
            .any(|c| !c.is_ascii() || c.is_ascii_whitespace() || c.is_ascii_control());
    if bad {
        return Err(err(
            k,
            format!(
                "`{k}` is `{}`, which cannot be {}",
                s.escape_debug(),
                if k.contains("user") {
                    "a user name"
                } else {
                    "a host name or address"
                }
            ),
            Some("it must be one ASCII word, without `@` or `://`, that does not start with `-`"),
        ));
    }
    Ok(())
}

/// ssh client options to drop: zkrun keeps its own master connection.
const MANAGED: &[&str] = &["controlmaster", "controlpersist", "controlpath"];

/// ssh options zkrun does not pass through, and why.
fn refused_option(lower: &str) -> Option<&'static str> {
    Some(match lower {
        "host" | "match" => "it scopes an ssh_config and is refused on ssh's command line too",
        "include" => "use -F FILE",
        "hostname" | "port" | "user" => {
            "set ansible_host, ansible_port or ansible_user instead: zkrun shows and checks the host and user it reaches"
        }
        "localcommand" | "permitlocalcommand" | "knownhostscommand" => {
            "it runs a command on this machine; zkrun does not let an inventory do that"
        }
        _ => return None,
    })
}

/// `-o Key=Value` and the common short flags of `ssh`, as `Key=Value`.
pub fn ssh_options_of(args: &str) -> Result<Vec<String>, String> {
    let words = super::kv::split_ssh_args(args)?;
    let mut out = Vec::new();
    let mut i = 0;
    let value = |i: usize, flag: &str| -> Result<String, String> {
        words
            .get(i + 1)
            .cloned()
            .ok_or_else(|| format!("`{flag}` needs a value"))
    };
    while i < words.len() {
        let w = &words[i];
        let (opt, used) = match w.as_str() {
            "-o" => (value(i, "-o")?, 2),
            s if s.starts_with("-o") => (s[2..].to_string(), 1),
            "-J" => (format!("ProxyJump={}", value(i, "-J")?), 2),
            "-i" => (format!("IdentityFile={}", value(i, "-i")?), 2),
            "-p" => (format!("Port={}", value(i, "-p")?), 2),
            "-l" => (format!("User={}", value(i, "-l")?), 2),
            // Another config file: read in place of the user's own.
            // ssh resolves a relative Include against ~/.ssh; `-F` is
            // relative to where zkrun runs, as on ssh's command line.
            "-F" => {
                let f = value(i, "-F")?;
                let f = std::path::absolute(&f).map_or(f, |p| p.display().to_string());
                out.push(format!("Include={f}"));
                i += 2;
                continue;
            }
            "-A" => ("ForwardAgent=yes".into(), 1),
            "-a" => ("ForwardAgent=no".into(), 1),
            "-C" => ("Compression=yes".into(), 1),
            "-4" => ("AddressFamily=inet".into(), 1),
            "-6" => ("AddressFamily=inet6".into(), 1),
            "-q" => ("LogLevel=QUIET".into(), 1),
            "-T" | "-x" => (String::new(), 1),
            other => {
                return Err(format!(
                    "the ssh flag `{other}` is not supported; zkrun passes `-o Key=Value` options and -F, -J, -i, -p, -l, -A, -C, -4, -6, -q"
                ));
            }
        };
        i += used;
        if opt.is_empty() {
            continue;
        }
        let (k, v) = match opt.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => match opt.trim().split_once(char::is_whitespace) {
                Some((k, v)) => (k.to_string(), v.trim().to_string()),
                None => return Err(format!("`-o {opt}` has no value; write `-o {opt}=VALUE`")),
            },
        };
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("`{k}` is not an ssh option name"));
        }
        if v.contains(['\n', '\r']) {
            return Err(format!("the value of `{k}` holds a line break"));
        }
        let lower = k.to_lowercase();
        if MANAGED.contains(&lower.as_str()) {
            continue;
        }
        if let Some(why) = refused_option(&lower) {
            return Err(format!("`{k}` is not accepted in ssh arguments: {why}"));
        }
        out.push(format!("{k}={v}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn conn(pairs: &[(&str, &str)], d: &Defaults) -> Result<Connection, ConnError> {
        let m: HashMap<String, J> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), J::from(*v)))
            .collect();
        resolve("zk1", &|k| Ok(m.get(k).cloned()), d)
    }

    #[test]
    fn ssh_spellings_win_and_vars_beat_the_command_line() {
        let d = Defaults {
            user: Some("cli".into()),
            ..Defaults::default()
        };
        let c = conn(
            &[
                ("ansible_host", "a"),
                ("ansible_ssh_host", "b"),
                ("ansible_port", "22"),
                ("ansible_ssh_port", "2222"),
            ],
            &d,
        )
        .unwrap();
        assert_eq!(
            (c.address.as_str(), c.port, c.user.as_deref()),
            ("b", Some(2222), Some("cli"))
        );
        let c = conn(&[("ansible_user", "zk")], &d).unwrap();
        assert_eq!(c.user.as_deref(), Some("zk"));
        assert_eq!(conn(&[], &d).unwrap().address, "zk1");
    }

    #[test]
    fn become_reads_ansible_booleans_and_users() {
        let c = conn(
            &[
                ("ansible_become", "on"),
                ("ansible_become_user", "zookeeper"),
                ("ansible_become_pass", "pw"),
            ],
            &Defaults::default(),
        )
        .unwrap();
        assert!(c.r#become);
        assert_eq!(c.become_user.as_deref(), Some("zookeeper"));
        assert_eq!(c.become_password, Some(Secret("pw".into())));
        assert!(
            !format!("{c:?}").contains("pw\""),
            "the password never shows in Debug"
        );
        assert!(!serde_json::to_string(&c).unwrap().contains("pw"));
        let e = conn(&[("ansible_become_method", "su")], &Defaults::default()).unwrap_err();
        assert!(e.message.contains("not supported"));
    }

    #[test]
    fn unsupported_connections_and_passwords_are_refused() {
        let e = conn(&[("ansible_connection", "docker")], &Defaults::default()).unwrap_err();
        assert!(e.message.contains("not supported"), "{}", e.message);
        assert_eq!(
            conn(&[("ansible_connection", "local")], &Defaults::default())
                .unwrap()
                .kind,
            Kind::Local
        );
        let e = conn(&[("ansible_ssh_pass", "x")], &Defaults::default()).unwrap_err();
        assert_eq!(e.var.as_deref(), Some("ansible_ssh_pass"));
        for bad in [
            "-oProxyCommand=x",
            "ssh://root@zk1:2200",
            "root@zk1",
            "zk\u{202e}1",
        ] {
            let c = conn(&[("ansible_host", bad)], &Defaults::default());
            assert!(c.is_err(), "{bad}");
        }
    }

    #[test]
    fn ssh_arguments_become_options() {
        assert_eq!(
            ssh_options_of(r#"-o ProxyCommand="ssh -W %h:%p -q bastion" -J jump -oStrictHostKeyChecking=yes -C -o ControlPersist=60s"#).unwrap(),
            ["ProxyCommand=ssh -W %h:%p -q bastion", "ProxyJump=jump", "StrictHostKeyChecking=yes", "Compression=yes"]
        );
        assert!(
            ssh_options_of("-L 80:localhost:80")
                .unwrap_err()
                .contains("`-L`")
        );
        assert!(ssh_options_of("-o").is_err());
        for refused in [
            "-o Host=x",
            "-o Match=exec true",
            "-o LocalCommand=id -o PermitLocalCommand=yes",
            "-o KnownHostsCommand=/bin/x",
            "-o HostName=127.0.0.44",
            "-o Port=2244",
            "-o User=root",
        ] {
            assert!(ssh_options_of(refused).is_err(), "{refused}");
        }
    }
}

//! SSH through the system OpenSSH client, one multiplexed master per host
//! (the `openssh` crate, speaking the ControlMaster protocol natively).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

use super::PlanHost;
use super::transport::{
    KILL_AFTER, LineSink, Output, RemoteCommand, Sudo, Transport, TransportError,
};
use crate::inventory::connection::Kind;

#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// An ssh_config file, as `ssh -F`; otherwise the user's own config applies.
    pub config_file: Option<PathBuf>,
    /// Trust hosts seen for the first time (`accept-new`); changed keys are
    /// refused either way.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
}

pub struct Ssh {
    options: SshOptions,
    sessions: Mutex<HashMap<String, std::sync::Arc<Session>>>,
    /// How sudo runs on each host, decided when it is connected to.
    sudo: Mutex<HashMap<String, Sudo>>,
    /// ssh_config files written for hosts with ssh options of their own
    /// (`ansible_ssh_common_args`), in a directory only this user can read.
    configs: std::sync::Mutex<Option<PathBuf>>,
    running: std::sync::Mutex<RunningNow>,
    /// This run's pid marker (see `exec`).
    mark: String,
}

impl Ssh {
    pub fn new(options: SshOptions) -> Ssh {
        Ssh {
            options,
            sessions: Mutex::new(HashMap::new()),
            sudo: Mutex::new(HashMap::new()),
            configs: std::sync::Mutex::new(None),
            running: Default::default(),
            mark: pid_mark(),
        }
    }

    /// An ssh_config for a host with its own options: those first (ssh
    /// keeps the first value it reads), then the files ssh would read
    /// anyway. Options from the inventory thus win over the user's config,
    /// as they do on Ansible's ssh command line.
    fn config_for(&self, host: &PlanHost) -> Result<Option<PathBuf>, TransportError> {
        let options = &host.connection.ssh_options;
        if options.is_empty() {
            return Ok(None);
        }
        let io = |e: std::io::Error| {
            TransportError::Other(format!("writing an ssh_config for {}: {e}", host.name))
        };
        let mut dir = self.configs.lock().expect("not poisoned");
        let d = match &*dir {
            Some(d) => d.clone(),
            None => {
                use std::os::unix::fs::DirBuilderExt;
                let d = std::env::temp_dir().join(format!("zkrun-ssh-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&d);
                std::fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&d)
                    .map_err(io)?;
                *dir = Some(d.clone());
                d
            }
        };
        let mut text = format!(
            "# zkrun: ssh options of host {} from its inventory variables\n",
            host.name
        );
        for o in options {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            text.push_str(&format!("{k} {v}\n"));
        }
        // `-F file` in the host's ssh arguments replaces the user's config.
        let own_config = options.iter().any(|o| o.starts_with("Include="));
        match &self.options.config_file {
            _ if own_config => {}
            Some(c) => text.push_str(&format!(
                "Include {}\n",
                std::path::absolute(c).unwrap_or(c.clone()).display()
            )),
            None => {
                if let Some(home) = std::env::var_os("HOME") {
                    text.push_str(&format!("Include {}/.ssh/config\n", home.to_string_lossy()));
                }
                text.push_str("Include /etc/ssh/ssh_config\n");
            }
        }
        // One file per host, named after it (host names are plain ASCII,
        // no `/`): hosts connecting at once never share one.
        let path = d.join(format!("{}.conf", host.name));
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)
                .map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
        }
        Ok(Some(path))
    }

    fn builder(&self, host: &PlanHost) -> SessionBuilder {
        let mut b = SessionBuilder::default();
        b.known_hosts_check(if self.options.accept_new_host_keys {
            KnownHosts::Add
        } else {
            KnownHosts::Strict
        });
        b.connect_timeout(self.options.connect_timeout.max(Duration::from_secs(1)));
        b.server_alive_interval(Duration::from_secs(5));
        // If zkrun dies without closing, the master goes away by itself.
        b.control_persist(ControlPersist::IdleFor(
            std::num::NonZeroUsize::new(60).expect("non-zero"),
        ));
        b.control_directory(std::env::temp_dir());
        if let Some(c) = &self.options.config_file {
            b.config_file(c);
        }
        let c = &host.connection;
        if let Some(u) = &c.user {
            b.user(u.clone());
        }
        if let Some(p) = c.port {
            b.port(p);
        }
        if let Some(k) = &c.key_file {
            b.keyfile(k);
        }
        b
    }

    async fn session(&self, host: &PlanHost) -> Result<std::sync::Arc<Session>, TransportError> {
        self.sessions
            .lock()
            .await
            .get(&host.name)
            .cloned()
            .ok_or_else(|| {
                TransportError::Other(format!("no connection to {} was opened", host.name))
            })
    }
}

impl Ssh {
    /// With a become password: does sudo need it here? `sudo -n true`
    /// answers without one; if it refuses, the password is tried once with
    /// nothing else on the input, so a wrong one is found before any step
    /// (and sudo's retries never read a command's input as a password).
    async fn sudo_mode(&self, host: &PlanHost) -> Result<Sudo, TransportError> {
        let Some(password) = &host.connection.become_password else {
            return Ok(Sudo::NoPassword);
        };
        let mut probe = RemoteCommand::new(vec!["true".into()], Duration::from_secs(20));
        probe.r#become = true;
        let no_password = self.run_raw(host, &probe, Sudo::NoPassword, None).await?;
        if no_password.success() {
            return Ok(Sudo::NoPassword);
        }
        let input = format!("{}\n", password.0).into_bytes();
        let with = self
            .run_raw(host, &probe, Sudo::Password, Some(input))
            .await?;
        if with.success() {
            return Ok(Sudo::Password);
        }
        Err(TransportError::AuthRefused(format!(
            "sudo on {} refused the become password{}: {}",
            host.name,
            host.connection
                .become_user
                .as_deref()
                .map(|u| format!(" (to become {u})"))
                .unwrap_or_default(),
            String::from_utf8_lossy(&with.stderr).trim()
        )))
    }

    /// One command with an explicit sudo mode and input (for the probe).
    async fn run_raw(
        &self,
        host: &PlanHost,
        command: &RemoteCommand,
        sudo: Sudo,
        stdin: Option<Vec<u8>>,
    ) -> Result<Output, TransportError> {
        let argv = command.wrapped(host.connection.become_user.as_deref(), sudo);
        self.exec(host, &argv, stdin.as_deref(), command, None)
            .await
    }

    /// Runs a wrapped argv on the host (or here, for a local connection),
    /// writing `stdin` first and collecting the output, and ends it at
    /// `command.timeout`.
    ///
    /// The deadline costs nothing while the command runs: the login shell
    /// says the command's pid after this run's marker and `exec`s it
    /// (`echo "MARK $$" >/dev/stderr; exec ARGV`), so the pid is the
    /// process group sshd made for it. At the deadline zkrun sends that
    /// group SIGTERM, and SIGKILL 5 s later, over the same connection and
    /// with the command's own `become` — the signals coreutils
    /// `timeout -k 5s` would send, without its fork and exec on every
    /// command (+22 % on 200 trivial commands over 10 hosts here;
    /// `scripts/bench` measures both). If the connection itself is lost,
    /// no one ends the command: the step fails as "connection lost", its
    /// outcome unknown.
    async fn exec(
        &self,
        host: &PlanHost,
        argv: &[String],
        stdin: Option<&[u8]>,
        command: &RemoteCommand,
        lines: Option<&LineSink<'_>>,
    ) -> Result<Output, TransportError> {
        let watch = Watch::default();
        let (pid, signalled) = (&watch.pid, &watch.signalled);
        let mut collect: Collecting<'_> = if host.connection.kind == Kind::Local {
            let child = super::local::spawn(argv, stdin).await?;
            pid.store(child.id().unwrap_or(0), Ordering::Relaxed);
            Box::pin(super::local::collect(child, lines))
        } else {
            let session = self.session(host).await?;
            let line = format!(
                "echo \"{} $$\" >/dev/stderr; exec {}",
                self.mark,
                argv.iter()
                    .map(|w| crate::render::shell_quote(w))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let mut cmd = session.arc_raw_command(line);
            cmd.stdin(if stdin.is_some() {
                openssh::Stdio::piped()
            } else {
                openssh::Stdio::null()
            });
            cmd.stdout(openssh::Stdio::piped())
                .stderr(openssh::Stdio::piped());
            let mut child = cmd.spawn().await.map_err(|e| classify(&e))?;
            if let Some(bytes) = stdin
                && let Some(mut pipe) = child.stdin().take()
            {
                pipe.write_all(bytes).await.map_err(|e| {
                    TransportError::Disconnected(format!("writing the command's input: {e}"))
                })?;
                drop(pipe);
            }
            let pid = (&**pid, self.mark.as_str());
            Box::pin(async move {
                let (stdout, stderr) = (child.stdout().take(), child.stderr().take());
                // The exit status may come before the output's end (a
                // daemon it started still holds it): noted as it comes.
                // The status only after the output's end: waiting for
                // both at once loses output (openssh 0.11's native mux).
                let (out, err) = tokio::join!(
                    read_lines(stdout, false, lines, None),
                    read_lines(stderr, true, lines, Some(pid)),
                );
                let status = child.wait().await;
                match status {
                    Ok(status) => Ok((status.code(), out, err)),
                    Err(openssh::Error::RemoteProcessTerminated)
                        if signalled.load(Ordering::Relaxed) =>
                    {
                        Ok((None, out, err))
                    }
                    Err(e) => Err(classify(&e)),
                }
            })
        };
        let deadline = command.timeout.max(Duration::from_secs(1));
        // Known while it runs, for zkrun stopping at once (`leave_deadlines`).
        let id = {
            let mut running = self.running.lock().expect("not poisoned");
            running.next += 1;
            let id = running.next;
            running.commands.push(Running {
                id,
                host: host.name.clone(),
                pid: pid.clone(),
                deadline: std::time::Instant::now() + deadline,
                r#become: command.r#become,
                what: command_name(&command.argv),
            });
            id
        };
        let ran = self
            .deadline(host, &mut collect, deadline, &watch, command)
            .await;
        self.running
            .lock()
            .expect("not poisoned")
            .commands
            .retain(|r| r.id != id);
        ran
    }

    /// Waits for a command until its deadline, then ends it (see `exec`).
    async fn deadline(
        &self,
        host: &PlanHost,
        collect: &mut Collecting<'_>,
        deadline: Duration,
        watch: &Watch,
        command: &RemoteCommand,
    ) -> Result<Output, TransportError> {
        let (pid, signalled) = (&*watch.pid, &watch.signalled);
        if let Ok(r) = tokio::time::timeout(deadline, &mut *collect).await {
            return finished(r, false);
        }
        let shown = command.argv.first().map_or("the command", String::as_str);
        let secs = deadline.as_secs();
        // Past the deadline: end it as `timeout -k 5s` would have.
        let Some(group) = Some(pid.load(Ordering::Relaxed)).filter(|p| *p > 1) else {
            return Err(TransportError::Unended(format!(
                "`{shown}` ran past its deadline ({secs}s) on {}, but its shell never said its process id, so zkrun could not end it",
                host.name
            )));
        };
        signalled.store(true, Ordering::Relaxed);
        for signal in ["TERM", "KILL"] {
            let sent = self.signal(host, group, signal, command.r#become);
            let sent = tokio::time::timeout(KILL_AFTER, Box::pin(sent)).await;
            // It exited, but something it started (a daemon) holds its
            // output: no command to end, and signalling its group would
            // kill the daemon (`timeout` had exited with its command too).
            if matches!(sent, Ok(Some(LEADER_GONE))) {
                return Err(TransportError::Unended(format!(
                    "`{shown}` on {} exited, but a process it started still holds its output {secs}s later; zkrun stopped waiting and signalled nothing",
                    host.name
                )));
            }
            if let Ok(r) = tokio::time::timeout(KILL_AFTER, &mut *collect).await {
                return finished(r, true);
            }
        }
        Err(TransportError::Unended(format!(
            "`{shown}` ran past its deadline ({secs}s) on {} and did not end on SIGTERM or SIGKILL to its process group {group} (or the connection stopped answering)",
            host.name
        )))
    }

    /// Sends `signal` to a command's process group on its host, as the
    /// user the command ran as, while the command itself (the group's
    /// leader) runs; best effort. Returns the exit status of the `kill`
    /// (`LEADER_GONE`: the command had exited, nothing was signalled).
    async fn signal(
        &self,
        host: &PlanHost,
        group: u32,
        signal: &str,
        r#become: bool,
    ) -> Option<i32> {
        let mut kill = RemoteCommand::new(
            vec![
                "sh".into(),
                "-c".into(),
                format!(
                    "kill -0 {group} 2>/dev/null || exit {LEADER_GONE}; kill -s {signal} -- -{group}"
                ),
            ],
            KILL_AFTER,
        );
        kill.r#become = r#become;
        Transport::run(self, host, &kill, None)
            .await
            .ok()
            .and_then(|o| o.code)
    }

    /// zkrun stops at once (a second Ctrl-C) while commands run: each is
    /// left running, with a watcher on its host that ends it at its
    /// deadline as zkrun would have (SIGTERM, SIGKILL 5 s later), unless
    /// it ended by itself (the watcher checks the process's start time, so
    /// a reused pid is never signalled). `hosts`: the play's. Returns what
    /// was left where.
    pub async fn leave_deadlines(&self, hosts: &[PlanHost]) -> Vec<String> {
        let running: Vec<(&PlanHost, u32, Duration, bool, String)> = self
            .running
            .lock()
            .expect("not poisoned")
            .commands
            .iter()
            .filter_map(|r| {
                let pid = Some(r.pid.load(Ordering::Relaxed)).filter(|p| *p > 1)?;
                let host = hosts.iter().find(|h| h.name == r.host)?;
                let left = r
                    .deadline
                    .saturating_duration_since(std::time::Instant::now());
                Some((host, pid, left, r.r#become, r.what.clone()))
            })
            .collect();
        let mut left = Vec::new();
        for (host, pid, after, r#become, what) in running {
            // Field 22 of /proc/PID/stat (the 20th after the command name).
            let script = "(trap '' HUP; p=$1; started() { sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f20; }; \
                 s=$(started); sleep $2; for sig in TERM KILL; do \
                 [ -n \"$s\" ] && [ \"$(started)\" = \"$s\" ] || exit 0; kill -s $sig -- -$p; sleep 5; done) \
                 </dev/null >/dev/null 2>&1 &";
            let mut watch = RemoteCommand::new(
                vec![
                    "sh".into(),
                    "-c".into(),
                    script.into(),
                    "zkrun-deadline".into(),
                    pid.to_string(),
                    format!("{:.1}", after.as_secs_f64()),
                ],
                KILL_AFTER,
            );
            watch.r#become = r#become;
            let ok = tokio::time::timeout(KILL_AFTER, Transport::run(self, host, &watch, None))
                .await
                .is_ok_and(|r| r.is_ok_and(|o| o.success()));
            left.push(if ok {
                format!(
                    "{}: {what} (pid {pid}); if still running in {:.1}s, a watcher ends it",
                    host.name,
                    after.as_secs_f64()
                )
            } else {
                format!(
                    "{}: {what} (pid {pid}); nothing will end it (the host did not take the watcher)",
                    host.name
                )
            });
        }
        left
    }
}

/// What zkrun knows of a command while it runs.
#[derive(Default)]
struct Watch {
    /// Its pid (and process group) on the host; 0 until the shell said it.
    pid: std::sync::Arc<AtomicU32>,
    /// Set once zkrun signalled it at its deadline: its end by that signal
    /// is then the expected one, not a lost connection.
    signalled: std::sync::atomic::AtomicBool,
}

/// A command running now.
struct Running {
    id: u64,
    /// The host's name in the play.
    host: String,
    /// 0 until the login shell said it.
    pid: std::sync::Arc<AtomicU32>,
    deadline: std::time::Instant,
    r#become: bool,
    /// What runs, as a person knows it: the program's file name, or a
    /// script's `$0` name (`zkrun-backup`). Never its arguments, which may
    /// hold secrets.
    what: String,
}

/// `zkServer.sh` for `/usr/share/zookeeper/bin/zkServer.sh stop`,
/// `zkrun-backup` for `sh -c SCRIPT zkrun-backup ...`. A script's `$0` is
/// shown only when it is one of zkrun's names: elsewhere it is data (a
/// unit, a path), which would read as the thing being ended.
fn command_name(argv: &[String]) -> String {
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    match argv {
        [_, c, _, name, ..] if c == "-c" && name.starts_with("zkrun-") => name.clone(),
        [shell, c, ..] if c == "-c" => format!("{} -c (a script)", base(shell)),
        [first, ..] => base(first),
        [] => "a command".into(),
    }
}

#[derive(Default)]
struct RunningNow {
    next: u64,
    commands: Vec<Running>,
}

/// What the login shell writes to stderr, with its pid, before it `exec`s
/// a command: this run's own, so no command's output can pass for it.
fn pid_mark() -> String {
    use std::io::Read;
    let mut b = [0u8; 6];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    let nonce: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("zkrun-pid-{nonce}-{}", std::process::id())
}

/// `signal`'s exit status when the command it was to signal had exited.
const LEADER_GONE: i32 = 3;

/// A command's exit code (None: ended by a signal), stdout and stderr.
type Collected = Result<(Option<i32>, Vec<u8>, Vec<u8>), TransportError>;

/// A started command, read to its end when awaited.
type Collecting<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Collected> + 'a>>;

fn finished(r: Collected, timed_out: bool) -> Result<Output, TransportError> {
    let (code, stdout, stderr) = r?;
    Ok(Output {
        code,
        stdout,
        stderr,
        timed_out,
    })
}

/// Sorts the client's complaint into what the operator should do.
fn classify(e: &openssh::Error) -> TransportError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    // ssh ends its lines with CRLF when it has a terminal: one line, no CR.
    let text = text.trim().replace("\r\n", " ").replace(['\r', '\n'], " ");
    let lower = text.to_lowercase();
    if lower.contains("host key verification failed")
        || lower.contains("remote host identification has changed")
        || lower.contains("no matching host key")
    {
        TransportError::HostKey(text)
    } else if lower.contains("permission denied")
        || lower.contains("too many authentication failures")
    {
        TransportError::AuthRefused(text)
    } else if lower.contains("connection refused")
        || lower.contains("timed out")
        || lower.contains("no route to host")
        || lower.contains("could not resolve")
        || lower.contains("network is unreachable")
    {
        TransportError::Unreachable(text)
    } else if matches!(
        e,
        openssh::Error::Disconnected | openssh::Error::RemoteProcessTerminated
    ) {
        TransportError::Disconnected(text)
    } else if matches!(e, openssh::Error::Connect(_) | openssh::Error::Master(_)) {
        TransportError::Unreachable(text)
    } else {
        TransportError::Other(text)
    }
}

/// Reads a stream to its end, handing each line to `lines` as it comes.
/// With `pid` (where to keep it, the mark), the first line ending in
/// `MARK N` gives N and loses that part (what a login script printed
/// before it without a newline stays).
pub(super) async fn read_lines<R: tokio::io::AsyncRead + Unpin>(
    stream: Option<R>,
    is_stderr: bool,
    lines: Option<&LineSink<'_>>,
    pid: Option<(&AtomicU32, &str)>,
) -> Vec<u8> {
    let Some(stream) = stream else {
        return Vec::new();
    };
    let mut reader = tokio::io::BufReader::new(stream);
    let mut all = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if let Some((pid, mark)) = pid
                    && pid.load(Ordering::Relaxed) == 0
                    && let Some((before, n)) = std::str::from_utf8(&line)
                        .ok()
                        .and_then(|l| l.trim_end().rsplit_once(&format!("{mark} ")))
                        .and_then(|(before, n)| Some((before.len(), n.parse::<u32>().ok()?)))
                {
                    pid.store(n, Ordering::Relaxed);
                    if before == 0 {
                        continue;
                    }
                    line.truncate(before);
                    line.push(b'\n');
                }
                if let Some(sink) = lines {
                    sink(
                        is_stderr,
                        String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']),
                    );
                }
                all.extend_from_slice(&line);
            }
        }
    }
    all
}

impl Transport for Ssh {
    async fn connect(&self, host: &PlanHost) -> Result<(), TransportError> {
        if host.connection.kind != Kind::Local {
            let mut builder = self.builder(host);
            if let Some(config) = self.config_for(host)? {
                builder.config_file(config);
            }
            let session = builder
                .connect_mux(&host.connection.address)
                .await
                .map_err(|e| classify(&e))?;
            self.sessions
                .lock()
                .await
                .insert(host.name.clone(), std::sync::Arc::new(session));
        }
        let sudo = self.sudo_mode(host).await?;
        self.sudo.lock().await.insert(host.name.clone(), sudo);
        Ok(())
    }

    async fn run(
        &self,
        host: &PlanHost,
        command: &RemoteCommand,
        lines: Option<&LineSink<'_>>,
    ) -> Result<Output, TransportError> {
        let sudo = self
            .sudo
            .lock()
            .await
            .get(&host.name)
            .copied()
            .unwrap_or(Sudo::NoPassword);
        let argv = command.wrapped(host.connection.become_user.as_deref(), sudo);
        // With `sudo -S`, the become password is the first line of input.
        let stdin: Option<Vec<u8>> = match (&host.connection.become_password, sudo) {
            (Some(p), Sudo::Password) if command.r#become => {
                let mut bytes = format!("{}\n", p.0).into_bytes();
                bytes.extend(command.stdin.iter().flatten());
                Some(bytes)
            }
            _ => command.stdin.clone(),
        };
        self.exec(host, &argv, stdin.as_deref(), command, lines)
            .await
    }

    async fn close(&self) {
        if let Some(d) = self.configs.lock().expect("not poisoned").take() {
            let _ = std::fs::remove_dir_all(d);
        }
        let sessions: Vec<_> = self.sessions.lock().await.drain().collect();
        for (_, s) in sessions {
            if let Ok(s) = std::sync::Arc::try_unwrap(s) {
                let _ = s.close().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_running_command_is_named_without_its_arguments() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            command_name(&v(&["/usr/share/zookeeper/bin/zkServer.sh", "stop"])),
            "zkServer.sh"
        );
        assert_eq!(
            command_name(&v(&["sh", "-c", "secret script", "zkrun-backup", "a"])),
            "zkrun-backup"
        );
        assert_eq!(command_name(&v(&["bash", "-c", "x"])), "bash -c (a script)");
        // Data in `$0` (a unit name) is not shown as the command.
        assert_eq!(
            command_name(&v(&["sh", "-c", "systemctl show \"$0\"", "zookeeper"])),
            "sh -c (a script)"
        );
        assert_eq!(command_name(&[]), "a command");
    }

    use super::*;

    async fn stderr_of(bytes: &[u8], mark: &str) -> (String, u32) {
        let pid = AtomicU32::new(0);
        let out = read_lines(Some(bytes), true, None, Some((&pid, mark))).await;
        (String::from_utf8(out).unwrap(), pid.load(Ordering::Relaxed))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_pid_marker_is_taken_out_of_stderr_and_nothing_else() {
        let m = "zkrun-pid-0a1b2c-77";
        assert_eq!(
            stderr_of(b"zkrun-pid-0a1b2c-77 4242\nreal error\n", m).await,
            ("real error\n".into(), 4242)
        );
        // A login script's line without a newline before it stays.
        assert_eq!(
            stderr_of(b"motd!zkrun-pid-0a1b2c-77 4242\nx\n", m).await,
            ("motd!\nx\n".into(), 4242)
        );
        // Another run's marker, or one a command prints later, is output.
        assert_eq!(
            stderr_of(b"zkrun-pid-ffffff-1 1\n", m).await,
            ("zkrun-pid-ffffff-1 1\n".into(), 0)
        );
        assert_eq!(
            stderr_of(b"zkrun-pid-0a1b2c-77 9\nzkrun-pid-0a1b2c-77 10\n", m).await,
            ("zkrun-pid-0a1b2c-77 10\n".into(), 9)
        );
    }
}

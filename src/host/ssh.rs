//! SSH through the system OpenSSH client, one multiplexed master per host
//! (the `openssh` crate, speaking the ControlMaster protocol natively).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

use super::PlanHost;
use super::transport::{LineSink, Output, RemoteCommand, Transport, TransportError};

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
}

impl Ssh {
    pub fn new(options: SshOptions) -> Ssh {
        Ssh {
            options,
            sessions: Mutex::new(HashMap::new()),
        }
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

/// Sorts the client's complaint into what the operator should do.
fn classify(e: &openssh::Error) -> TransportError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    let text = text.trim().replace('\n', " ");
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
async fn read_lines<R: tokio::io::AsyncRead + Unpin>(
    stream: Option<R>,
    is_stderr: bool,
    lines: Option<&LineSink<'_>>,
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
        let session = self
            .builder(host)
            .connect_mux(&host.connection.address)
            .await
            .map_err(|e| classify(&e))?;
        self.sessions
            .lock()
            .await
            .insert(host.name.clone(), std::sync::Arc::new(session));
        Ok(())
    }

    async fn run(
        &self,
        host: &PlanHost,
        command: &RemoteCommand,
        lines: Option<&LineSink<'_>>,
    ) -> Result<Output, TransportError> {
        let session = self.session(host).await?;
        let argv = command.wrapped();
        let mut cmd = session.command(argv[0].as_str());
        cmd.args(argv[1..].iter().map(String::as_str));
        cmd.stdin(if command.stdin.is_some() {
            openssh::Stdio::piped()
        } else {
            openssh::Stdio::null()
        });
        cmd.stdout(openssh::Stdio::piped())
            .stderr(openssh::Stdio::piped());
        let mut child = cmd.spawn().await.map_err(|e| classify(&e))?;
        if let Some(bytes) = &command.stdin
            && let Some(mut stdin) = child.stdin().take()
        {
            stdin.write_all(bytes).await.map_err(|e| {
                TransportError::Disconnected(format!("writing the command's input: {e}"))
            })?;
            drop(stdin);
        }
        // The host ends the command at its timeout; this local deadline only
        // catches a connection that stopped answering altogether.
        let backstop = command.timeout + Duration::from_secs(15);
        let (stdout, stderr) = (child.stdout().take(), child.stderr().take());
        let collect = async {
            let (out, err) = tokio::join!(
                read_lines(stdout, false, lines),
                read_lines(stderr, true, lines)
            );
            let status = child.wait().await?;
            Ok::<_, openssh::Error>((status, out, err))
        };
        match tokio::time::timeout(backstop, collect).await {
            Ok(Ok((status, stdout, stderr))) => Ok(Output {
                code: status.code(),
                stdout,
                stderr,
            }),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(TransportError::Disconnected(format!(
                "no answer from {} within {}s",
                host.name,
                backstop.as_secs()
            ))),
        }
    }

    async fn close(&self) {
        let sessions: Vec<_> = self.sessions.lock().await.drain().collect();
        for (_, s) in sessions {
            if let Ok(s) = std::sync::Arc::try_unwrap(s) {
                let _ = s.close().await;
            }
        }
    }
}

//! `ansible_connection: local`: commands run on this machine, as the user
//! zkrun runs as (with `sudo` when the host becomes), through the same
//! `timeout` wrapper as on a remote host.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::transport::{LineSink, Output, TransportError};

/// Runs a wrapped argv here; `stdin` is written and closed first.
pub async fn run(
    argv: &[String],
    stdin: Option<&[u8]>,
    backstop: Duration,
    lines: Option<&LineSink<'_>>,
) -> Result<Output, TransportError> {
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| TransportError::Other(format!("cannot run `{}` here: {e}", argv[0])))?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(bytes)
            .await
            .map_err(|e| TransportError::Other(format!("writing the command's input: {e}")))?;
        drop(pipe);
    }
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let collect = async {
        let (out, err) = tokio::join!(
            super::ssh::read_lines(stdout, false, lines),
            super::ssh::read_lines(stderr, true, lines)
        );
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out, err))
    };
    match tokio::time::timeout(backstop, collect).await {
        Ok(Ok((status, stdout, stderr))) => Ok(Output {
            code: status.code(),
            stdout,
            stderr,
        }),
        Ok(Err(e)) => Err(TransportError::Other(e.to_string())),
        Err(_) => Err(TransportError::Other(format!(
            "the command did not end within {}s",
            backstop.as_secs()
        ))),
    }
}

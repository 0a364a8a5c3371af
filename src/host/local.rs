//! `ansible_connection: local`: commands run on this machine, as the user
//! zkrun runs as (with `sudo` when the host becomes), each in a process
//! group of its own, so its deadline ends it as on a remote host.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::transport::{LineSink, TransportError};

/// Starts a wrapped argv here; `stdin` is written and closed first.
pub async fn spawn(
    argv: &[String],
    stdin: Option<&[u8]>,
) -> Result<tokio::process::Child, TransportError> {
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
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
    Ok(child)
}

/// Reads a started command's output to its end and waits for it.
pub async fn collect(
    mut child: tokio::process::Child,
    lines: Option<&LineSink<'_>>,
) -> Result<(Option<i32>, Vec<u8>, Vec<u8>), TransportError> {
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (out, err) = tokio::join!(
        super::ssh::read_lines(stdout, false, lines, None),
        super::ssh::read_lines(stderr, true, lines, None)
    );
    let status = child
        .wait()
        .await
        .map_err(|e| TransportError::Other(e.to_string()))?;
    Ok((status.code(), out, err))
}

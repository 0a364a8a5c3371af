//! The live display as a person sees it: a real roll under a
//! pseudo-terminal (portable-pty), its bytes rendered by a terminal emulator
//! (vt100), checked for what is on screen — the rolling header, one live
//! line per host, the summary below the final host lines (not above them,
//! not followed by them again), no control sequence left pending, `NO_COLOR`
//! honoured, and a 60-column terminal that wraps at words, not mid-word.

use std::io::Read;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::support::testbed;

struct Screen {
    raw: Vec<u8>,
    parser: vt100::Parser,
    ok: bool,
}

impl Screen {
    /// The rows as drawn, one string each (trailing blanks trimmed).
    fn rows(&self) -> Vec<String> {
        let (_, cols) = self.parser.screen().size();
        self.parser
            .screen()
            .rows(0, cols.get())
            .map(|r| r.trim_end().to_string())
            .collect()
    }

    /// SGR sequences that set a colour or an attribute (`ESC [ … m` with a
    /// parameter other than 0).
    fn styles(&self) -> Vec<String> {
        let raw = String::from_utf8_lossy(&self.raw);
        let mut out = Vec::new();
        for (i, _) in raw.match_indices("\u{1b}[") {
            let rest = &raw[i + 2..];
            let params: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ';')
                .collect();
            if rest[params.len()..].starts_with('m')
                && params.split(';').any(|p| !p.is_empty() && p != "0")
            {
                out.push(params);
            }
        }
        out
    }
}

fn roll_in_terminal(cols: u16, no_color: bool) -> Screen {
    let (tb, _turn) = testbed();
    let dir = tempfile::tempdir().unwrap();
    let rows = 200;
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_zkrun"));
    cmd.cwd(env!("CARGO_MANIFEST_DIR"));
    cmd.args(["playbooks/rolling-restart.yaml", "-i"]);
    cmd.arg(&tb.inventory);
    cmd.arg("--ssh-config");
    cmd.arg(&tb.ssh_config);
    cmd.arg("--state");
    cmd.arg(dir.path().join("state.json"));
    cmd.arg("--log-dir");
    cmd.arg(dir.path().join("logs"));
    cmd.env("TERM", "xterm-256color");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let collect = std::thread::spawn(move || {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        // Ends when the child has exited and the terminal is closed (EIO).
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        raw
    });
    let status = child.wait().unwrap();
    drop(pty.master);
    let raw = collect.join().unwrap();
    let nz = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero");
    let mut parser = vt100::Parser::new(nz(rows), nz(cols), 0);
    parser.process(&raw);
    Screen {
        raw,
        parser,
        ok: status.success(),
    }
}

#[test]
fn a_roll_in_a_terminal_shows_a_header_a_line_per_host_and_the_summary_once() {
    let s = roll_in_terminal(100, false);
    let rows = s.rows();
    let text = rows.join("\n");
    assert!(s.ok, "{text}");
    let raw = String::from_utf8_lossy(&s.raw);
    assert!(raw.contains("leader last"), "the rolling header: {raw}");
    assert!(!s.styles().is_empty(), "colour on a terminal");
    // One live line per host, finished, then the summary, once, below them.
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    let report = lines
        .iter()
        .position(|l| l.starts_with("roll report:"))
        .unwrap_or_else(|| panic!("no roll report on screen:\n{text}"));
    for n in 1..=3 {
        let host_line = |l: &&str| {
            l.trim_start().starts_with(&format!("zk{n} ")) && !l.contains("out of service")
        };
        let at: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| host_line(l))
            .map(|(i, _)| i)
            .collect();
        assert!(
            at.iter().any(|i| *i < report),
            "zk{n}'s live line is on screen before the summary:\n{text}"
        );
        assert!(
            at.iter().all(|i| *i < report || lines[*i].contains("done")),
            "zk{n}'s live line was drawn again after the summary:\n{text}"
        );
        assert!(text.contains(&format!("zk{n}")), "{text}");
    }
    assert!(text.contains("run succeeded"), "{text}");
    // Nothing left pending: the cursor is shown again at the end.
    assert!(!s.parser.screen().hide_cursor(), "the cursor stayed hidden");
}

#[test]
fn no_color_and_a_narrow_terminal_are_honoured() {
    let s = roll_in_terminal(60, true);
    let rows = s.rows();
    let text = rows.join("\n");
    assert!(s.ok, "{text}");
    assert_eq!(
        s.styles(),
        Vec::<String>::new(),
        "NO_COLOR: styles in the output"
    );
    // Wrapped at words: every phrase of the summary is whole on one row.
    for n in 1..=3 {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("zk{n}")) && l.contains("out of service")),
            "zk{n}'s outage line is cut:\n{text}"
        );
    }
    assert!(text.contains("sum of node restarts"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 60));
}

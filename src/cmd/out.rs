//! Writing to stdout: a reader that closes early (`zkrun --status | head`)
//! ends zkrun quietly, as it would any Unix tool, instead of a panic.

pub fn write_out(args: std::fmt::Arguments) {
    match args.as_str() {
        Some(s) => write_out_str(s),
        None => write_out_str(&args.to_string()),
    }
}

/// `write_out` for text already in hand (a large JSON line is not copied).
pub fn write_out_str(text: &str) {
    use std::io::Write;
    let text = crate::scrub::text(text);
    let mut stdout = std::io::stdout().lock();
    exit_on_closed_pipe(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
    );
}

/// A reader that went away (`zkrun ... | head`) ends zkrun as SIGPIPE
/// would, with the status a shell reports for it.
fn exit_on_closed_pipe(written: std::io::Result<()>) {
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(141);
    }
}

/// `println!` that survives a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cmd::out::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}
/// `print!` that survives a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cmd::out::write_out(format_args!($($arg)*)) };
}

/// One JSON line in the `{"type": …, "data": …}` envelope.
pub fn print_json<T: serde::Serialize>(kind: &str, data: &T) {
    // Serialized straight to text: going through a `serde_json::Value`
    // first doubled the memory of a 10,000-host plan.
    #[derive(serde::Serialize)]
    struct Envelope<'a, T> {
        r#type: &'a str,
        data: &'a T,
    }
    let envelope = Envelope { r#type: kind, data };
    // With no secret to mask, streamed to stdout: a 10,000-host plan is
    // 19 MB of JSON that need not stand in memory whole. Masking needs the
    // whole text (a secret may straddle any buffer's edge).
    if crate::scrub::knows_none() {
        use std::io::Write;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let written = serde_json::to_writer(&mut out, &envelope)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        exit_on_closed_pipe(written);
        return;
    }
    let mut line = serde_json::to_string(&envelope).expect("plain data serializes");
    line.push('\n');
    write_out_str(&line);
}

/// Writes to stderr; a closed or broken stderr (`zkrun … 2>&-`,
/// `2>&1 | head -1`) loses the text instead of panicking, as `eprint!` would.
pub fn write_err(args: std::fmt::Arguments) {
    use std::io::Write;
    let text = args.to_string();
    let text = crate::scrub::text(&text);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush());
}

/// `eprintln!` that survives a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::cmd::out::write_err(format_args!("{}\n", format_args!($($arg)*))) };
}
/// `eprint!` that survives a closed stderr.
macro_rules! err {
    ($($arg:tt)*) => { $crate::cmd::out::write_err(format_args!($($arg)*)) };
}

//! `--output json`: one `{"type": ..., "data": ...}` object per line on stdout.

use std::io::Write;

use super::Reporter;
use crate::event::Event;

pub struct Json;

impl Reporter for Json {
    fn event(&self, e: &Event) {
        let line = serde_json::to_string(e).expect("events serialize");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

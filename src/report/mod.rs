//! Front ends: they turn runner events into what a person or a program reads.
//! A terminal gets progress bars, a pipe timestamped lines, `--output json`
//! one JSON object per line.

pub mod json;
pub mod plain;
pub mod progress;
pub mod roll;

use crate::event::Event;

pub trait Reporter {
    fn event(&self, e: &Event);
}

//! Front ends: they turn runner events into what a person or a program reads.
//! A terminal gets progress bars, a pipe timestamped lines, `--output json`
//! one JSON object per line.

pub mod json;
pub mod plain;
pub mod progress;
pub mod roll;
pub mod timeline;

use crate::event::Event;

pub use crate::diagnostic::printable as clean;

pub trait Reporter {
    fn event(&self, e: &Event);
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_from_outside_are_shown_escaped() {
        assert_eq!(super::clean("plain\tline\n"), "plain\tline\n");
        let hostile = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\r";
        let shown = super::clean(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert_eq!(shown, "ok\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\r");
    }
}

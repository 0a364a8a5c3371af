//! The user-facing error: what happened, where, and what to do next.
//!
//! A diagnostic carries its own copy of the offending source line so it can be
//! rendered long after the file that produced it has been dropped.

use std::fmt::Write as _;

use console::style;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub snippet: Option<Box<Snippet>>,
    /// Extra facts: which hosts, which other places.
    pub notes: Vec<String>,
    /// What to do next.
    pub help: Option<String>,
}

/// A place in a file, with the text of its line so the caret can be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub path: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// How many characters the caret underlines (at least one).
    pub width: usize,
    pub line_text: String,
    /// Short text printed after the caret.
    pub label: Option<String>,
}

/// Text from outside zkrun (remote output, messages that quote it, values
/// from the inventory) as a terminal may safely show it: control characters
/// other than newline and tab are written as escapes, so an ANSI sequence
/// in a log line cannot move the cursor, recolour or retitle the terminal.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            snippet: None,
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn at(mut self, snippet: Option<Snippet>) -> Self {
        self.snippet = snippet.map(Box::new);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        if let Some(snippet) = &mut self.snippet {
            snippet.label = Some(label.into());
        } else {
            self.notes.push(label.into());
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column`, or nothing when the problem has no place in a file.
    pub fn location(&self) -> Option<String> {
        self.snippet
            .as_ref()
            .map(|s| format!("{}:{}:{}", s.path, s.line, s.column))
    }

    /// Renders in the style of rustc and cargo. Colour follows `console`'s
    /// global switch, so tests and pipes get plain text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}{} {}",
            style("error").red().bold(),
            style(":").bold(),
            style(&self.message).bold()
        );
        if let Some(s) = &self.snippet {
            let number = s.line.to_string();
            let pad = " ".repeat(number.len());
            let bar = style("|").blue().bold();
            let _ = writeln!(
                out,
                "{pad}{} {}:{}:{}",
                style("-->").blue().bold(),
                s.path,
                s.line,
                s.column
            );
            let _ = writeln!(out, "{pad} {bar}");
            let (shown, column, width) = clipped(&s.line_text, s.column, s.width);
            let _ = writeln!(
                out,
                "{} {bar} {}",
                style(&number).blue().bold(),
                shown.trim_end()
            );
            let caret = format!(
                "{}{}",
                " ".repeat(column.saturating_sub(1)),
                "^".repeat(width.max(1))
            );
            let label = s.label.as_deref().unwrap_or("");
            let _ = writeln!(
                out,
                "{pad} {bar} {}",
                style(format!("{caret} {label}").trim_end().to_string())
                    .red()
                    .bold()
            );
        }
        let pad = self
            .snippet
            .as_ref()
            .map_or(0, |s| s.line.to_string().len());
        for note in &self.notes {
            let _ = writeln!(
                out,
                "{} {} {note}",
                " ".repeat(pad),
                style("= note:").bold()
            );
        }
        if let Some(help) = &self.help {
            let _ = writeln!(
                out,
                "{} {} {help}",
                " ".repeat(pad),
                style("= help:").bold()
            );
        }
        out
    }
}

/// A snippet line fit for a terminal: control characters escaped, tabs as
/// spaces, and a long line (a minified file, a runaway nesting) cut to
/// `CLIP` characters around the caret, marked with `…`. Returns the line, the
/// caret's column in it and its width.
fn clipped(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    const CLIP: usize = 100;
    let shown: Vec<char> = printable(line).replace('\t', " ").chars().collect();
    if shown.len() <= CLIP {
        return (shown.into_iter().collect(), column, width);
    }
    let at = column.saturating_sub(1).min(shown.len());
    let start = at.saturating_sub(CLIP / 2);
    let end = (start + CLIP).min(shown.len());
    let mut out = String::new();
    let mut col = at - start + 1;
    if start > 0 {
        out.push('…');
        col += 1;
    }
    out.extend(&shown[start..end]);
    if end < shown.len() {
        out.push('…');
    }
    (out, col, width.min(end.saturating_sub(at)).max(1))
}

/// Several problems, reported together so an SRE fixes them in one pass.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Ok when nothing was reported.
    pub fn into_result(self) -> Result<(), Diagnostics> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// All diagnostics, a blank line between them, and a count at the end.
    /// Past `limit` the rest are counted, not printed: the first twenty
    /// errors are read, the two-hundredth never is.
    pub fn render(&self, limit: usize) -> String {
        let mut out = String::new();
        for d in self.0.iter().take(limit) {
            out.push_str(&d.render());
            out.push('\n');
        }
        if self.0.len() > limit {
            let _ = writeln!(
                out,
                "... and {} more errors not shown",
                self.0.len() - limit
            );
        }
        let n = self.0.len();
        let _ = writeln!(
            out,
            "{}{} {}",
            style("error").red().bold(),
            style(":").bold(),
            style(format!(
                "{n} problem{} found; nothing was run and no host was contacted",
                if n == 1 { "" } else { "s" }
            ))
            .bold()
        );
        out
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// "did you mean `x`?" — the closest candidate, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["name", "hosts", "service", "rolling", "tasks"];
        assert_eq!(did_you_mean("servce", fields), Some("service"));
        assert_eq!(did_you_mean("taks", fields), Some("tasks"));
        assert_eq!(did_you_mean("banana", fields), None);
    }

    #[test]
    fn long_lines_are_clipped_around_the_caret() {
        console::set_colors_enabled(false);
        let mut line = "x".repeat(5000);
        line.replace_range(3000..3003, "BAD");
        let d = Diagnostic::new("bad").at(Some(Snippet {
            path: "p.yaml".into(),
            line: 1,
            column: 3001,
            width: 3,
            line_text: line,
            label: None,
        }));
        let text = d.render();
        assert!(text.lines().all(|l| l.chars().count() <= 120), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let (shown, caret) = (lines[3], lines[4]);
        let at = caret.find('^').unwrap();
        assert_eq!(
            &shown.chars().skip(at).take(3).collect::<String>(),
            "BAD",
            "{text}"
        );
    }

    #[test]
    fn renders_caret_under_the_column() {
        console::set_colors_enabled(false);
        let d = Diagnostic::new("unknown field `servce`")
            .at(Some(Snippet {
                path: "p.yaml".into(),
                line: 3,
                column: 1,
                width: 6,
                line_text: "servce: {}".into(),
                label: None,
            }))
            .label("did you mean `service`?");
        let text = d.render();
        assert!(text.contains(" --> p.yaml:3:1"), "{text}");
        assert!(text.contains("3 | servce: {}"), "{text}");
        assert!(
            text.contains("  | ^^^^^^ did you mean `service`?"),
            "{text}"
        );
    }
}

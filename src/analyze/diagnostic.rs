//! One problem in a pipeline, located, with optional hints; rendered with
//! pest's own renderer (`--> file:line:col`, the source line, a caret).

use crate::syntax::Span;
use crate::syntax::parser::{Rule, SyntaxError};
use pest::error::{Error as PestError, ErrorVariant};
use std::fmt;

/// A located error. `line` and `column` are 1-based (column in characters).
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hints: Vec<String>,
    /// The full text a user sees.
    pub rendered: String,
}

impl Diagnostic {
    /// An error at `span` of `source`, read from `path`.
    pub fn new(source: &str, path: &str, span: Span, message: String, hints: Vec<String>) -> Self {
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
        let err: PestError<Rule> = match pest::Span::new(source, start, end) {
            Some(s) => PestError::new_from_span(
                ErrorVariant::CustomError {
                    message: String::new(),
                },
                s,
            ),
            None => PestError::new_from_pos(
                ErrorVariant::CustomError {
                    message: String::new(),
                },
                pest::Position::from_start(source),
            ),
        };
        let (line, column) = match err.line_col {
            pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
        };
        let body = err.with_path(path).to_string();
        // pest ends its rendering with an empty `  = ` message line: replace
        // it with the hints, or drop it.
        let mut lines: Vec<&str> = body.lines().collect();
        if lines.last().is_some_and(|l| l.trim() == "=") {
            lines.pop();
        }
        let gutter = lines.last().map(|l| l.find('|').unwrap_or(0)).unwrap_or(0);
        if hints.is_empty() && lines.last().is_some_and(|l| l.trim() == "|") {
            lines.pop();
        }
        let mut rendered = format!("error: {message}\n");
        for l in &lines {
            rendered.push_str(l);
            rendered.push('\n');
        }
        for h in &hints {
            rendered.push_str(&format!("{:gutter$}= help: {h}\n", ""));
        }
        Diagnostic {
            line,
            column,
            message,
            hints,
            rendered,
        }
    }

    /// A warning at `span`: the pipeline is valid, but something in it does
    /// not do what a reader would expect. Rendered like an error.
    pub fn warning(
        source: &str,
        path: &str,
        span: Span,
        message: String,
        hints: Vec<String>,
    ) -> Self {
        let mut d = Diagnostic::new(source, path, span, message, hints);
        if let Some(rest) = d.rendered.strip_prefix("error: ") {
            d.rendered = format!("warning: {rest}");
        }
        d
    }

    /// A syntax error from pest (rules already renamed), rendered by pest.
    pub fn syntax(err: SyntaxError, source: &str, path: &str) -> Self {
        let (line, column) = match err.line_col {
            pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
        };
        let message = err.variant.message().to_string();
        let at = match err.location {
            pest::error::InputLocation::Pos(p) | pest::error::InputLocation::Span((p, _)) => p,
        };
        let rest = source.get(at..).unwrap_or("");
        let before = source.get(..at).unwrap_or("");
        let hint = if rest.starts_with('=') && before.ends_with([' ', '\t']) {
            Some("write key=value without spaces around `=`")
        } else if rest.starts_with(". ") || rest.starts_with('.') && before.ends_with(' ') {
            Some("numbers need a digit before the point: 0.5")
        } else if rest.starts_with('"') && !rest[1..].lines().next().unwrap_or("").contains('"') {
            Some("this string is not closed on its line")
        } else if rest.is_empty() {
            Some("a block `{` is not closed")
        } else {
            None
        };
        let mut rendered = format!("error: invalid syntax\n{}\n", err.with_path(path));
        let hints: Vec<String> = hint.map(str::to_string).into_iter().collect();
        for h in &hints {
            rendered.push_str(&format!("  = help: {h}\n"));
        }
        Diagnostic {
            line,
            column,
            message,
            hints,
            rendered,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

/// Renders several diagnostics as one text, separated by blank lines, with
/// a closing count.
pub fn render_all(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.rendered);
        out.push('\n');
    }
    let n = diags.len();
    out.push_str(&format!("{n} error{}\n", if n == 1 { "" } else { "s" }));
    out
}

/// Renders warnings one after the other, each followed by a blank line.
pub fn render_warnings(warnings: &[Diagnostic]) -> String {
    warnings
        .iter()
        .map(|w| format!("{}\n", w.rendered))
        .collect()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

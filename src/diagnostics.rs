//! Problems in a pipeline as data: a [`Kind`], a [`Severity`], a primary
//! span, related spans and hints (after typst's `SourceDiagnostic` and
//! just's `CompileError`). Nothing is rendered when a diagnostic is made:
//! [`Report`] renders them for the terminal in one place (pest's renderer:
//! `--> file:line:col`, the source line, a caret), and the language server
//! turns the same values into editor ranges.

use crate::syntax::Span;
use crate::syntax::parser::{Rule, SyntaxError};
use pest::error::{Error as PestError, ErrorVariant, InputLocation};
use std::fmt;

/// A source location, 1-based, kept in the plan where later stages report
/// errors against the pipeline (split sizes, expectations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Loc {
    pub line: usize,
    pub column: usize,
}

/// Whether a diagnostic stops the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The pipeline is invalid.
    Error,
    /// Valid, but something does not do what a reader would expect.
    Warning,
}

/// What kind of mistake a diagnostic reports. Tests and tools match on
/// this, never on the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The text does not parse.
    Syntax,
    /// A section, statement or layer name that does not exist.
    UnknownStatement,
    /// A `key=` that the statement does not take, or a surplus positional value.
    UnknownParameter,
    /// A `$name` no `let` or `repeat` defines.
    UnknownVariable,
    /// A word outside a parameter's choices (an activation, an optimizer, a device…).
    UnknownValue,
    /// A metric name nothing computes.
    UnknownMetric,
    /// A statement in a place it cannot be (a layer outside `model`, a block
    /// where none is taken).
    Misplaced,
    /// Something given twice; the related span is the first.
    Duplicate,
    /// A required section, statement or value is absent.
    Missing,
    /// A value of the wrong type (a word where a number goes).
    Type,
    /// A number outside its range, arithmetic that fails.
    Range,
    /// Two settings that exclude or contradict each other.
    Conflict,
    /// A layer that cannot take its input's shape, or a model too large.
    Shape,
    /// Sections that disagree: the model's outputs, the loss, the classes,
    /// the monitored and expected metrics.
    Mismatch,
    /// A data source that cannot be read or does not fit the split.
    Data,
    /// A sweep value that would make a trial invalid.
    Sweep,
    /// A statement that changes nothing (a warning).
    NoEffect,
}

/// A secondary location that explains the primary one (the first of two
/// duplicates, the statement a shape comes from).
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub span: Span,
    /// 1-based line and column (in characters) of `span.start`.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// One located problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub kind: Kind,
    pub severity: Severity,
    /// Byte range in the source.
    pub span: Span,
    /// 1-based line and column (in characters) of `span.start`.
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub related: Vec<Related>,
    pub hints: Vec<String>,
}

impl Diagnostic {
    /// An error at `span` (located later, by [`Diagnostic::locate`]).
    pub(crate) fn error(kind: Kind, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            kind,
            severity: Severity::Error,
            span,
            line: 0,
            column: 0,
            message: message.into(),
            related: Vec::new(),
            hints: Vec::new(),
        }
    }

    /// A warning at `span`.
    pub(crate) fn warning(kind: Kind, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(kind, span, message)
        }
    }

    /// Adds a related location (`= note: … at file:line:col`).
    pub(crate) fn related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            line: 0,
            column: 0,
            message: message.into(),
        });
        self
    }

    /// Fills in the lines and columns of its spans in `source`; spans are
    /// clamped to the source and to character boundaries.
    pub(crate) fn locate(mut self, source: &str) -> Self {
        self.span = clamp(source, self.span);
        (self.line, self.column) = line_col(source, self.span.start);
        for r in &mut self.related {
            r.span = clamp(source, r.span);
            (r.line, r.column) = line_col(source, r.span.start);
        }
        self
    }

    /// A syntax error from pest (rules already renamed), with a hint for
    /// the usual slips.
    pub(crate) fn syntax(err: &SyntaxError, source: &str) -> Self {
        let (start, end) = match err.location {
            InputLocation::Pos(p) => (p, p),
            InputLocation::Span(s) => s,
        };
        let rest = source.get(start..).unwrap_or("");
        let before = source.get(..start).unwrap_or("");
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
        // An integer beyond 64 bits parses as a number that cannot be:
        // a range error, headed by its message.
        let kind = match &err.variant {
            ErrorVariant::CustomError { message } if crate::syntax::is_too_large(message) => {
                Kind::Range
            }
            _ => Kind::Syntax,
        };
        let mut d = Diagnostic::error(
            kind,
            Span::new(start, end),
            err.variant.message().to_string(),
        );
        d.hints.extend(hint.map(str::to_string));
        d.locate(source)
    }

    /// Whether this diagnostic is an error.
    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic as the terminal shows it.
    pub(crate) fn render(&self, source: &str, path: &str) -> String {
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let Some(snippet) = self.snippet(source, path) else {
            // The source is gone (a run resumed after the pipeline was
            // edited away): the location alone.
            let mut out = format!(
                "{word}: {}\n  --> {path}:{}:{}\n",
                self.message, self.line, self.column
            );
            for r in &self.related {
                out.push_str(&format!(
                    "  = note: {} at {path}:{}:{}\n",
                    r.message, r.line, r.column
                ));
            }
            for h in &self.hints {
                out.push_str(&format!("  = help: {h}\n"));
            }
            return out;
        };
        // A syntax error keeps pest's "expected …" as the last line of
        // its snippet and says "invalid syntax" above it.
        let head = match self.kind {
            Kind::Syntax => "invalid syntax",
            _ => self.message.as_str(),
        };
        let mut lines: Vec<&str> = snippet.lines().collect();
        let has_message = self.kind == Kind::Syntax;
        if !has_message && lines.last().is_some_and(|l| l.trim() == "=") {
            lines.pop();
        }
        // The column of pest's `|` gutter, where `= help:` lines align.
        let gutter = lines
            .iter()
            .find(|l| l.trim_start().starts_with('|'))
            .and_then(|l| l.find('|'))
            .unwrap_or(2);
        let extra = !self.related.is_empty() || !self.hints.is_empty();
        if !has_message && !extra && lines.last().is_some_and(|l| l.trim() == "|") {
            lines.pop();
        }
        let mut out = format!("{word}: {head}\n");
        for l in &lines {
            out.push_str(l);
            out.push('\n');
        }
        let pad = gutter;
        for r in &self.related {
            out.push_str(&format!(
                "{:pad$}= note: {} at {path}:{}:{}\n",
                "", r.message, r.line, r.column
            ));
        }
        for h in &self.hints {
            out.push_str(&format!("{:pad$}= help: {h}\n", ""));
        }
        out
    }

    /// pest's rendering of the primary span: `--> path:line:col`, the
    /// line, the caret; for a syntax error, with pest's message. `None`
    /// when the span is not in `source`.
    fn snippet(&self, source: &str, path: &str) -> Option<String> {
        if self.span.end > source.len()
            || !source.is_char_boundary(self.span.start)
            || !source.is_char_boundary(self.span.end)
            || (source.is_empty() && self.line > 1)
        {
            return None;
        }
        let variant = ErrorVariant::<Rule>::CustomError {
            message: match self.kind {
                Kind::Syntax => self.message.clone(),
                _ => String::new(),
            },
        };
        let err = if self.span.start == self.span.end {
            PestError::new_from_pos(variant, pest::Position::new(source, self.span.start)?)
        } else {
            PestError::new_from_span(
                variant,
                pest::Span::new(source, self.span.start, self.span.end)?,
            )
        };
        Some(err.with_path(path).to_string())
    }
}

/// The diagnostics of one pipeline file, with its text: what
/// [`crate::error::Error::Invalid`] carries and the terminal shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The file as messages name it.
    pub path: String,
    pub source: String,
    /// In source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(path: impl Into<String>, source: impl Into<String>, diags: Vec<Diagnostic>) -> Self {
        let mut diagnostics = diags;
        diagnostics.sort_by_key(|d| (d.line, d.column));
        Report {
            path: path.into(),
            source: source.into(),
            diagnostics,
        }
    }

    /// One error at a location kept in the plan (a later stage's check
    /// against the pipeline: a split larger than the data, a model that
    /// does not fit the classes found). The pipeline is read again for
    /// its line; the span covers the word that starts at `loc`.
    pub(crate) fn at_loc(path: &std::path::Path, loc: Loc, kind: Kind, message: String) -> Report {
        let source = crate::syntax::read_source(path).unwrap_or_default();
        let start = offset(&source, loc).unwrap_or(source.len());
        let word = source[start..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(source.len() - start);
        let mut d = Diagnostic::error(kind, Span::new(start, start + word), message);
        if offset(&source, loc).is_some() {
            d = d.locate(&source);
        } else {
            (d.line, d.column) = (loc.line, loc.column);
        }
        Report::new(path.display().to_string(), source, vec![d])
    }

    /// The errors (not the warnings).
    pub(crate) fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// Each diagnostic followed by a blank line; with errors, a closing
    /// count.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&d.render(&self.source, &self.path));
            out.push('\n');
        }
        let errors = self.errors().count();
        if errors > 0 {
            out.push_str(&format!(
                "{errors} error{}\n",
                if errors == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// The byte offset of a 1-based line and character column, if the source
/// has it.
fn offset(source: &str, loc: Loc) -> Option<usize> {
    let mut start = 0;
    for _ in 1..loc.line {
        start += source[start..].find('\n')? + 1;
    }
    let line = &source[start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    match line.char_indices().nth(loc.column.checked_sub(1)?) {
        Some((i, _)) => Some(start + i),
        None if line.chars().count() + 1 == loc.column => Some(start + line.len()),
        None => None,
    }
}

/// 1-based line and character column of byte `at`.
pub(crate) fn line_col(source: &str, at: usize) -> (usize, usize) {
    let at = floor_char_boundary(source, at.min(source.len()));
    pest::Position::new(source, at).map_or((1, 1), |p| p.line_col())
}

fn clamp(source: &str, span: Span) -> Span {
    let start = floor_char_boundary(source, span.start.min(source.len()));
    let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
    Span::new(start, end)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_line_and_column() {
        let src = "a é\nbc\n\nd";
        for at in [0, 2, 5, 6, 7, 8, 9, src.len()] {
            if !src.is_char_boundary(at) {
                continue;
            }
            let (line, column) = line_col(src, at);
            assert_eq!(offset(src, Loc { line, column }), Some(at), "{at}");
        }
        assert_eq!(offset(src, Loc { line: 9, column: 1 }), None);
        assert_eq!(offset(src, Loc { line: 2, column: 9 }), None);
    }

    #[test]
    fn a_missing_source_still_names_the_place() {
        let mut d = Diagnostic::error(Kind::Data, Span::new(10, 12), "too few")
            .related(Span::new(1, 2), "first");
        d.hints.push("fewer".into());
        (d.line, d.column) = (3, 4);
        d.related[0].line = 1;
        d.related[0].column = 2;
        assert_eq!(
            d.render("", "p.dlp"),
            "error: too few\n  --> p.dlp:3:4\n  = note: first at p.dlp:1:2\n  = help: fewer\n"
        );
    }
}

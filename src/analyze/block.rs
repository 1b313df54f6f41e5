//! Walking a section's block: the statements it may hold, reported once
//! each when unknown, misplaced or repeated.

use super::context::Context;
use super::schema::{self, did_you_mean};
use crate::diagnostics::{Diagnostic, Kind};
use crate::syntax::{Command, Statement};

/// What `statement` is called in messages for a section (`layer` in model).
fn noun(section: &str) -> String {
    match section {
        "model" => "layer".into(),
        "data" | "preprocess" | "augment" | "train" | "evaluate" | "diagnose" => {
            format!("{section} statement")
        }
        _ => "statement".into(),
    }
}

/// The commands of a section block, reporting everything that is not a
/// known command of `section`. With `unique`, a command given twice is an
/// error at the second.
pub(crate) fn commands<'a>(
    cx: &mut Context,
    section: &str,
    block: &'a [Statement],
    unique: bool,
) -> Vec<&'a Command> {
    let known = schema::statements(section);
    let mut out: Vec<&'a Command> = Vec::new();
    for s in block {
        match s {
            Statement::Command(c) => {
                let name = c.name.name.as_str();
                if !known.contains(&name) {
                    let (kind, msg) = match schema::home_section(name) {
                        Some(home) => (
                            Kind::Misplaced,
                            format!("{name} belongs in {home} {{ … }}, not in {section}"),
                        ),
                        None if schema::SECTIONS.contains(&name) => (
                            Kind::Misplaced,
                            format!(
                                "{name} {{ … }} must be at the top level, not inside {section}"
                            ),
                        ),
                        None => (
                            Kind::UnknownStatement,
                            format!(
                                "unknown {} \"{name}\"{}",
                                noun(section),
                                did_you_mean(name, known.iter().copied())
                            ),
                        ),
                    };
                    cx.error(kind, c.name.span, msg);
                    continue;
                }
                if c.block.is_some()
                    && !matches!(name, "repeat" | "add" | "concat" | "branch" | "block")
                {
                    cx.error(
                        Kind::Misplaced,
                        c.name.span,
                        format!("{name} takes no block"),
                    );
                    continue;
                }
                if unique && let Some(first) = out.iter().find(|o| o.name.name == name) {
                    let line = cx.loc(first.name.span).line;
                    cx.report(
                        Diagnostic::error(
                            Kind::Duplicate,
                            c.name.span,
                            format!("{name} is given twice (first on line {line})"),
                        )
                        .related(first.name.span, format!("the first {name} is here")),
                    );
                    continue;
                }
                out.push(c);
            }
            Statement::Let(l) => cx.error(
                Kind::Misplaced,
                l.span,
                "let is only allowed at the top level",
            ),
            Statement::Assign(_) | Statement::Compare(_) => misplaced_line(cx, s),
        }
    }
    out
}

/// The error for a sweep line (`PATH = VALUES`) or a comparison outside
/// the block that takes it (`sweep`, `expect`); other statements pass.
pub(crate) fn misplaced_line(cx: &mut Context, statement: &Statement) {
    let (span, msg) = match statement {
        Statement::Assign(a) => (a.span, "`PATH = VALUES` is only allowed inside sweep"),
        Statement::Compare(c) => (c.span, "comparisons are only allowed inside expect"),
        _ => return,
    };
    cx.error(Kind::Misplaced, span, msg);
}

/// The first positional word of a command (`adam` in `optimizer adam`), or
/// its `kind=` value: it selects which parameters the statement takes.
pub(crate) fn kind_of(cmd: &Command) -> Option<&str> {
    use crate::syntax::ValueKind;
    cmd.args
        .iter()
        .find(|a| a.key.as_ref().is_none_or(|k| k.name == "kind"))
        .and_then(|a| match &a.value.kind {
            ValueKind::Word(w) | ValueKind::Str(w) => Some(w.as_str()),
            _ => None,
        })
}

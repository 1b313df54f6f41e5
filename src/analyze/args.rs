//! Binding a statement's arguments to its [`Spec`]: positional values take
//! the documented names, so `dense 10` and `dense units=10` are one thing.
//! Typed getters check types and ranges, and record defaults.

use super::context::Context;
use super::schema::{Spec, did_you_mean};
use super::value::{Located, Resolved};
use crate::diagnostics::{Diagnostic, Kind};
use crate::syntax::{Command, Span};
use std::collections::BTreeMap;

/// A numeric range a parameter must lie in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Range {
    /// > 0
    Positive,
    /// ≥ 0
    NonNegative,
    /// [0, 1)
    UnitHalfOpen,
    /// (0, 1)
    UnitOpen,
    /// [0, 1]
    Unit,
}

impl Range {
    fn holds(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Range::Positive => x > 0.0,
                Range::NonNegative => x >= 0.0,
                Range::UnitHalfOpen => (0.0..1.0).contains(&x),
                Range::UnitOpen => x > 0.0 && x < 1.0,
                Range::Unit => (0.0..=1.0).contains(&x),
            }
    }

    fn describe(self) -> &'static str {
        match self {
            Range::Positive => "> 0",
            Range::NonNegative => "≥ 0",
            Range::UnitHalfOpen => "in [0, 1)",
            Range::UnitOpen => "in (0, 1)",
            Range::Unit => "in [0, 1]",
        }
    }
}

/// The bound arguments of one statement.
pub(crate) struct Args {
    /// The statement's name, as messages call it (`conv2d`, `optimizer adam`).
    pub stmt: String,
    /// The dotted prefix of default paths (`train.optimizer`).
    pub prefix: String,
    /// The statement name's span, where "missing" errors point.
    pub name_span: Span,
    values: BTreeMap<&'static str, Located>,
    /// Parameters given but whose value failed to evaluate (already
    /// reported): not "missing".
    failed: Vec<&'static str>,
}

impl Args {
    /// Binds `cmd`'s arguments to `spec`, reporting unknown, duplicate and
    /// surplus arguments.
    pub(crate) fn bind(
        cx: &mut Context,
        cmd: &Command,
        spec: Spec,
        stmt: &str,
        prefix: String,
    ) -> Args {
        let mut values: BTreeMap<&'static str, Located> = BTreeMap::new();
        let mut failed = Vec::new();
        let mut positional = 0;
        for arg in &cmd.args {
            let name: &'static str = match &arg.key {
                None => {
                    let Some(n) = spec.positional.get(positional) else {
                        let msg = match spec.positional.len() {
                            0 => format!("{stmt} takes no positional values"),
                            1 => format!(
                                "{stmt} takes 1 positional value ({}), this is one too many",
                                spec.positional[0]
                            ),
                            n => format!(
                                "{stmt} takes {n} positional values ({}), this is one too many",
                                spec.positional.join(", ")
                            ),
                        };
                        let hint =
                            (!spec.named.is_empty() || !spec.positional.is_empty()).then(|| {
                                format!("parameters: {}", spec.all().collect::<Vec<_>>().join(", "))
                            });
                        cx.error_hint(Kind::UnknownParameter, arg.span, msg, hint);
                        positional += 1;
                        continue;
                    };
                    positional += 1;
                    n
                }
                Some(key) => match spec.all().find(|n| *n == key.name) {
                    Some(n) => n,
                    None => {
                        // `kind` is the statement's own word, never written
                        // as a parameter.
                        let shown = || spec.all().filter(|n| *n != "kind");
                        let hint = did_you_mean(&key.name, shown());
                        let known: Vec<&str> = shown().collect();
                        let list = if known.is_empty() {
                            format!("; {stmt} takes no parameters")
                        } else if hint.is_empty() {
                            format!("; it takes {}", known.join(", "))
                        } else {
                            String::new()
                        };
                        cx.error(
                            Kind::UnknownParameter,
                            key.span,
                            format!("unknown parameter \"{}\" for {stmt}{hint}{list}", key.name),
                        );
                        continue;
                    }
                },
            };
            if let Some(first) = values.get(name) {
                let first = first.span;
                cx.report(
                    Diagnostic::error(
                        Kind::Duplicate,
                        arg.span,
                        format!("{stmt} {name} is given twice"),
                    )
                    .related(first, format!("the first {name} is here")),
                );
                continue;
            }
            match cx.eval(&arg.value) {
                Some(r) => {
                    values.insert(name, r);
                }
                None => failed.push(name),
            }
        }
        Args {
            stmt: stmt.to_string(),
            prefix,
            name_span: cmd.name.span,
            values,
            failed,
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Located> {
        self.values.get(name)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The span of a parameter's value, else the statement name's.
    pub(crate) fn span(&self, name: &str) -> Span {
        self.values.get(name).map_or(self.name_span, |r| r.span)
    }

    /// How messages name parameter `name`: `epochs count`, and `seed`
    /// rather than `seed seed` where the statement's one parameter has its
    /// name.
    fn param(&self, name: &str) -> String {
        if name == self.stmt {
            name.to_string()
        } else {
            format!("{} {name}", self.stmt)
        }
    }

    fn missing(&self, cx: &mut Context, name: &str) {
        if self.failed.contains(&name) {
            return;
        }
        cx.error(
            Kind::Missing,
            self.name_span,
            format!("{} needs {name}", self.stmt),
        );
    }

    fn defaulted(&self, cx: &mut Context, name: &str) {
        cx.mark_default(format!("{}.{name}", self.prefix));
    }

    /// A number in `range`; `default` when absent (recorded as a default).
    pub(crate) fn f64(
        &self,
        cx: &mut Context,
        name: &str,
        default: Option<f64>,
        range: Range,
    ) -> Option<f64> {
        let Some(r) = self.values.get(name) else {
            if default.is_some() {
                self.defaulted(cx, name);
            } else {
                self.missing(cx, name);
            }
            return default;
        };
        let Some(x) = r.as_f64() else {
            cx.error(
                Kind::Type,
                r.span,
                format!(
                    "{} must be a number, got {}",
                    self.param(name),
                    r.describe()
                ),
            );
            return None;
        };
        if !range.holds(x) {
            cx.error(
                Kind::Range,
                r.span,
                format!("{} must be {}, got {x}", self.param(name), range.describe()),
            );
            return None;
        }
        Some(x)
    }

    /// An integer ≥ `min`; integral floats (`$w/2`) are accepted.
    pub(crate) fn int(
        &self,
        cx: &mut Context,
        name: &str,
        default: Option<i64>,
        min: i64,
    ) -> Option<i64> {
        let Some(r) = self.values.get(name) else {
            if default.is_some() {
                self.defaulted(cx, name);
            } else {
                self.missing(cx, name);
            }
            return default;
        };
        let i = match r.v {
            Resolved::Int(i) => i,
            Resolved::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => f as i64,
            _ => {
                cx.error(
                    Kind::Type,
                    r.span,
                    format!(
                        "{} must be an integer, got {}",
                        self.param(name),
                        r.describe()
                    ),
                );
                return None;
            }
        };
        if i < min {
            cx.error(
                Kind::Range,
                r.span,
                format!("{} must be ≥ {min}, got {i}", self.param(name)),
            );
            return None;
        }
        Some(i)
    }

    /// Like [`Args::int`], as a `usize`.
    pub(crate) fn usize(
        &self,
        cx: &mut Context,
        name: &str,
        default: Option<usize>,
        min: usize,
    ) -> Option<usize> {
        self.int(cx, name, default.map(|d| d as i64), min as i64)
            .map(|i| i as usize)
    }

    pub(crate) fn bool(&self, cx: &mut Context, name: &str, default: bool) -> bool {
        let Some(r) = self.values.get(name) else {
            self.defaulted(cx, name);
            return default;
        };
        match r.v {
            Resolved::Bool(b) => b,
            _ => {
                cx.error(
                    Kind::Type,
                    r.span,
                    format!(
                        "{} must be true or false, got {}",
                        self.param(name),
                        r.describe()
                    ),
                );
                default
            }
        }
    }

    /// One of `choices`; `default` when absent.
    pub(crate) fn choice(
        &self,
        cx: &mut Context,
        name: &str,
        choices: &[&str],
        default: Option<&str>,
    ) -> Option<String> {
        let Some(r) = self.values.get(name) else {
            if default.is_some() {
                self.defaulted(cx, name);
            } else {
                self.missing(cx, name);
            }
            return default.map(str::to_string);
        };
        match r.as_text() {
            Some(w) if choices.contains(&w) => Some(w.to_string()),
            Some(w) => {
                let hint = did_you_mean(w, choices.iter().copied());
                let list = if hint.is_empty() {
                    format!("; one of {}", choices.join(", "))
                } else {
                    String::new()
                };
                cx.error(
                    Kind::UnknownValue,
                    r.span,
                    format!("unknown {} \"{w}\"{hint}{list}", self.param(name)),
                );
                None
            }
            None => {
                cx.error(
                    Kind::Type,
                    r.span,
                    format!(
                        "{} must be one of {}, got {}",
                        self.param(name),
                        choices.join(", "),
                        r.describe()
                    ),
                );
                None
            }
        }
    }

    /// A required text (a path, a column name).
    pub(crate) fn text(&self, cx: &mut Context, name: &str) -> Option<String> {
        let Some(r) = self.values.get(name) else {
            self.missing(cx, name);
            return None;
        };
        match r.as_text() {
            Some(t) => Some(t.to_string()),
            None => {
                cx.error(
                    Kind::Type,
                    r.span,
                    format!(
                        "{} must be a string, got {}",
                        self.param(name),
                        r.describe()
                    ),
                );
                None
            }
        }
    }
}

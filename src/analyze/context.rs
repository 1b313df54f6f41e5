//! The analyzer's working state: the source (to locate diagnostics), variable
//! scopes, collected errors and the set of defaulted paths.

use super::schema::did_you_mean;
use super::value::{Located, Resolved};
use crate::diagnostics::{Diagnostic, Kind, Severity};
use crate::syntax::{BinOp, Expr, ExprKind, Span, Value, ValueKind};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) struct Context<'s> {
    pub source: &'s str,
    pub diags: Vec<Diagnostic>,
    /// Things that are valid but do not do what they seem to (see
    /// [`Context::warn`]).
    pub warnings: Vec<Diagnostic>,
    pub defaults: BTreeSet<String>,
    /// Partial results for tools (see [`super::Found`]).
    pub found: super::Found,
    /// Innermost last: `let`s at the bottom, `repeat` bindings above.
    scopes: Vec<BTreeMap<String, Located>>,
}

impl<'s> Context<'s> {
    pub(crate) fn new(source: &'s str) -> Context<'s> {
        Context {
            source,
            diags: Vec::new(),
            warnings: Vec::new(),
            defaults: BTreeSet::new(),
            found: super::Found::default(),
            scopes: vec![BTreeMap::new()],
        }
    }

    /// Records an error of `kind` at `span`.
    pub(crate) fn error(&mut self, kind: Kind, span: Span, message: impl Into<String>) {
        self.report(Diagnostic::error(kind, span, message));
    }

    /// Records an error with an optional hint.
    pub(crate) fn error_hint(
        &mut self,
        kind: Kind,
        span: Span,
        message: impl Into<String>,
        hint: Option<impl Into<String>>,
    ) {
        let mut d = Diagnostic::error(kind, span, message);
        d.hints.extend(hint.map(Into::into));
        self.report(d);
    }

    /// Records a warning at `span`: a statement that is valid but changes
    /// nothing, said at its line rather than accepted in silence.
    pub(crate) fn warn(&mut self, span: Span, message: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::warning(Kind::NoEffect, span, message);
        d.hints.extend(hint.map(str::to_string));
        self.report(d);
    }

    /// Records a diagnostic, located in the source. One equal to a
    /// diagnostic already recorded (a `repeat` body reports once, not once
    /// per pass) is kept once.
    pub(crate) fn report(&mut self, d: Diagnostic) {
        let d = d.locate(self.source);
        let list = match d.severity {
            Severity::Error => &mut self.diags,
            Severity::Warning => &mut self.warnings,
        };
        if !list.contains(&d) {
            list.push(d);
        }
    }

    pub(crate) fn mark_default(&mut self, path: impl Into<String>) {
        self.defaults.insert(path.into());
    }

    pub(crate) fn define(&mut self, name: &str, value: Located) {
        if let Some(top) = self.scopes.last_mut() {
            top.insert(name.to_string(), value);
        }
    }

    pub(crate) fn push_scope(&mut self) {
        self.scopes.push(BTreeMap::new());
    }

    pub(crate) fn pop_scope(&mut self) {
        if self.scopes.len() > 1 {
            self.scopes.pop();
        }
    }

    /// The `let` variables (the outermost scope).
    pub(crate) fn globals(&self) -> &BTreeMap<String, Located> {
        &self.scopes[0]
    }

    fn lookup(&self, name: &str) -> Option<&Located> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn all_names(&self) -> Vec<String> {
        self.scopes.iter().flat_map(|s| s.keys().cloned()).collect()
    }

    /// Resolves variables and arithmetic; `None` after reporting an error.
    pub(crate) fn eval(&mut self, value: &Value) -> Option<Located> {
        let span = value.span;
        let v = match &value.kind {
            ValueKind::Expr(e) => return self.eval_expr(e),
            ValueKind::Str(s) => Resolved::Str(s.clone()),
            ValueKind::Word(w) | ValueKind::Path(w) => Resolved::Word(w.clone()),
            ValueKind::Bool(b) => Resolved::Bool(*b),
            ValueKind::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(self.eval(i)?);
                }
                Resolved::List(out)
            }
            ValueKind::Call { name, args } => {
                let mut out = Vec::new();
                for a in args {
                    out.push(self.eval(a)?);
                }
                Resolved::Call(name.name.clone(), out)
            }
        };
        Some(Located::new(v, span))
    }

    fn eval_expr(&mut self, e: &Expr) -> Option<Located> {
        match &e.kind {
            ExprKind::Int(i) => Some(Located::new(Resolved::Int(*i), e.span)),
            ExprKind::Float(f) => Some(Located::new(Resolved::Float(*f), e.span)),
            ExprKind::Var(name) => match self.lookup(name) {
                Some(r) => Some(Located::new(r.v.clone(), e.span)),
                None => {
                    let names = self.all_names();
                    let hint = did_you_mean(name, names.iter().map(String::as_str))
                        .replace('"', "")
                        .replace(" mean ", " mean $");
                    self.error(
                        Kind::UnknownVariable,
                        e.span,
                        format!("unknown variable ${name}{hint}"),
                    );
                    None
                }
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.eval_expr(lhs)?, self.eval_expr(rhs)?);
                let v = match (&a.v, &b.v, op) {
                    (Resolved::Int(x), Resolved::Int(y), BinOp::Add) => {
                        x.checked_add(*y).map(Resolved::Int)
                    }
                    (Resolved::Int(x), Resolved::Int(y), BinOp::Sub) => {
                        x.checked_sub(*y).map(Resolved::Int)
                    }
                    (Resolved::Int(x), Resolved::Int(y), BinOp::Mul) => {
                        x.checked_mul(*y).map(Resolved::Int)
                    }
                    _ => match (a.as_f64(), b.as_f64()) {
                        (Some(x), Some(y)) => {
                            let r = match op {
                                BinOp::Add => x + y,
                                BinOp::Sub => x - y,
                                BinOp::Mul => x * y,
                                BinOp::Div => x / y,
                            };
                            if *op == BinOp::Div && y == 0.0 {
                                self.error(Kind::Range, rhs.span, "division by zero");
                                return None;
                            }
                            Some(Resolved::Float(r))
                        }
                        (None, _) => {
                            self.error(
                                Kind::Type,
                                a.span,
                                format!("arithmetic needs numbers, got {}", a.describe()),
                            );
                            return None;
                        }
                        (_, None) => {
                            self.error(
                                Kind::Type,
                                b.span,
                                format!("arithmetic needs numbers, got {}", b.describe()),
                            );
                            return None;
                        }
                    },
                };
                match v {
                    Some(v) => Some(Located::new(v, e.span)),
                    None => {
                        self.error(Kind::Range, e.span, "integer overflow");
                        None
                    }
                }
            }
        }
    }
}

impl Context<'_> {
    /// The 1-based line and column of a span's start.
    pub(crate) fn loc(&self, span: Span) -> crate::plan::Loc {
        let mut i = span.start.min(self.source.len());
        while i > 0 && !self.source.is_char_boundary(i) {
            i -= 1;
        }
        let (line, column) = pest::Position::new(self.source, i).map_or((1, 1), |p| p.line_col());
        crate::plan::Loc { line, column }
    }
}

//! Values after variable substitution and arithmetic, each with the span
//! it came from (the use site for `$var`), so errors point at the user's
//! text.

use crate::plan::Value as PlanValue;
use crate::syntax::Span;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Int(i64),
    Float(f64),
    Str(String),
    Word(String),
    Bool(bool),
    List(Vec<Located>),
    Call(String, Vec<Located>),
}

/// A resolved value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located {
    pub v: Resolved,
    pub span: Span,
}

impl Located {
    pub(crate) fn new(v: Resolved, span: Span) -> Located {
        Located { v, span }
    }

    /// The value as a number, if it is one.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self.v {
            Resolved::Int(i) => Some(i as f64),
            Resolved::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The value as a text: strings, words and dotted paths alike.
    pub(crate) fn as_text(&self) -> Option<&str> {
        match &self.v {
            Resolved::Str(s) | Resolved::Word(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for "expected …, got …" messages.
    pub(crate) fn describe(&self) -> String {
        match &self.v {
            Resolved::Int(i) => format!("the integer {i}"),
            Resolved::Float(f) => format!("the number {f}"),
            Resolved::Str(s) => format!("the string \"{s}\""),
            Resolved::Word(w) => format!("\"{w}\""),
            Resolved::Bool(b) => format!("{b}"),
            Resolved::List(_) => "a list".into(),
            Resolved::Call(n, _) => format!("{n}(…)"),
        }
    }

    /// The plan's representation (words become strings).
    pub(crate) fn to_plan(&self) -> PlanValue {
        match &self.v {
            Resolved::Int(i) => PlanValue::Int(*i),
            Resolved::Float(f) => PlanValue::Float(*f),
            Resolved::Str(s) | Resolved::Word(s) => PlanValue::Str(s.clone()),
            Resolved::Bool(b) => PlanValue::Bool(*b),
            Resolved::List(items) => PlanValue::List(items.iter().map(Located::to_plan).collect()),
            Resolved::Call(n, args) => PlanValue::Str(format!(
                "{n}({})",
                args.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.v {
            Resolved::Int(i) => write!(f, "{i}"),
            Resolved::Float(x) => write!(f, "{x}"),
            Resolved::Str(s) => write!(f, "\"{s}\""),
            Resolved::Word(w) => write!(f, "{w}"),
            Resolved::Bool(b) => write!(f, "{b}"),
            Resolved::List(items) => {
                let parts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            Resolved::Call(n, args) => {
                let parts: Vec<String> = args.iter().map(|i| i.to_string()).collect();
                write!(f, "{n}({})", parts.join(", "))
            }
        }
    }
}

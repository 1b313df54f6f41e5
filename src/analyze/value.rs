//! Values after variable substitution and arithmetic, each with the span
//! it came from (the use site for `$var`), so errors point at the user's
//! text.

use crate::plan::Value as PlanValue;
use crate::syntax::Span;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Int(i64),
    Float(f64),
    Str(String),
    Word(String),
    Bool(bool),
    List(Vec<R>),
    Call(String, Vec<R>),
}

/// A resolved value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct R {
    pub v: V,
    pub span: Span,
}

impl R {
    pub fn new(v: V, span: Span) -> R {
        R { v, span }
    }

    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self.v {
            V::Int(i) => Some(i as f64),
            V::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The value as a text: strings, words and dotted paths alike.
    pub fn as_text(&self) -> Option<&str> {
        match &self.v {
            V::Str(s) | V::Word(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for "expected …, got …" messages.
    pub fn describe(&self) -> String {
        match &self.v {
            V::Int(i) => format!("the integer {i}"),
            V::Float(f) => format!("the number {f}"),
            V::Str(s) => format!("the string \"{s}\""),
            V::Word(w) => format!("\"{w}\""),
            V::Bool(b) => format!("{b}"),
            V::List(_) => "a list".into(),
            V::Call(n, _) => format!("{n}(…)"),
        }
    }

    /// The plan's representation (words become strings).
    pub fn to_plan(&self) -> PlanValue {
        match &self.v {
            V::Int(i) => PlanValue::Int(*i),
            V::Float(f) => PlanValue::Float(*f),
            V::Str(s) | V::Word(s) => PlanValue::Str(s.clone()),
            V::Bool(b) => PlanValue::Bool(*b),
            V::List(items) => PlanValue::List(items.iter().map(R::to_plan).collect()),
            V::Call(n, args) => PlanValue::Str(format!(
                "{n}({})",
                args.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

impl fmt::Display for R {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.v {
            V::Int(i) => write!(f, "{i}"),
            V::Float(x) => write!(f, "{x}"),
            V::Str(s) => write!(f, "\"{s}\""),
            V::Word(w) => write!(f, "{w}"),
            V::Bool(b) => write!(f, "{b}"),
            V::List(items) => {
                let parts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            V::Call(n, args) => {
                let parts: Vec<String> = args.iter().map(|i| i.to_string()).collect();
                write!(f, "{n}({})", parts.join(", "))
            }
        }
    }
}

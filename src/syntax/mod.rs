//! Parsing: `grammar/dlp.pest` into a typed AST that keeps byte spans, so
//! the analyzer can point at the exact token it rejects.

pub mod ast;
pub mod parser;

pub use ast::*;
pub use parser::{parse, parse_value};

//! Parsing: `grammar/dlp.pest` into a typed AST with spans.

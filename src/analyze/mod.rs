//! Analysis: variables, `repeat`, schemas and shape inference, from AST to [`crate::plan::Plan`].

//! Layers, one file per layer family, and the model built from a [`crate::plan::ModelPlan`].

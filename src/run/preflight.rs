//! What `dlp run` refuses before its first optimizer step once the data is
//! read, checked without training: `dlp check` calls [`preflight`], and
//! the runner calls the same functions in the same order (in
//! `prepare_data` and `prepare_training`), so the two say the same words.
//!
//! The analyzer knows a source's shape from its header; what only the
//! rows tell — the label set and class count of a CSV file, each feature
//! cell's type, split counts against the rows, `stratify` against the
//! classes, class weights against the classes, the memory a batch needs —
//! is found here by loading the source as the run does. Built-in sets
//! (which may need a download) and image folders (whose headers the
//! analyzer reads; their pixels are decoded only by the run) are left to
//! the analyzer.

use super::{check_outputs, memory, trainer};
use crate::data::{self, Dataset};
use crate::error::Result;
use crate::plan::{Plan, Source};

/// Whether [`preflight`] reads `source` (local tables and synthetic data;
/// not built-in sets or image folders).
pub(crate) fn reads(source: &Source) -> bool {
    matches!(
        source,
        Source::Csv { .. } | Source::Idx { .. } | Source::Blobs { .. }
    )
}

/// Loads the data as `dlp run` does and raises every error the run would
/// raise before its first step; `None` for sources it does not read
/// ([`reads`]).
pub(crate) fn preflight(plan: &Plan) -> Result<Option<Dataset>> {
    if !reads(&plan.data.source) {
        return Ok(None);
    }
    let data = data::load(plan, false)?;
    check_outputs(plan, &data.classes)?;
    let bs = trainer::batch_size(plan, &data);
    memory::Need::training(plan, bs).check()?;
    memory::Need::inference(plan, trainer::EVAL_BATCH.1).check()?;
    trainer::class_weights(plan, &data, &candle_core::Device::Cpu)?;
    Ok(Some(data))
}

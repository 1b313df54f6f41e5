//! `dlp eval FILE --weights PATH`: the test metrics of saved weights.

use crate::analyze;
use crate::cli::EvalArgs;
use crate::data::{self, Part};
use crate::error::{Error, Result};
use crate::nn::Model;
use crate::run::{device, evaluate, memory, trainer};
use std::sync::Arc;

pub(crate) fn run(args: &EvalArgs) -> Result<i32> {
    let (plan, warnings) = analyze::load_with_warnings(&args.file, &args.overrides.set)?;
    crate::terminal::err!("{warnings}");
    let spec = args
        .device
        .as_deref()
        .map(device::parse)
        .transpose()?
        .unwrap_or(plan.train.device);
    let device = device::select(spec, false)?;
    memory::Need::inference(&plan, trainer::EVAL_BATCH.1).check()?;
    let model = Model::new(&plan.model, plan.train.loss, &device)?;
    model.load(&args.weights)?;
    let data = Arc::new(data::load(&plan, false)?);
    crate::run::check_outputs(&plan, &data.classes)?;
    if !data.has(Part::Test) {
        return Err(Error::Usage(format!(
            "{}: the pipeline has no test split to evaluate on",
            args.file.display()
        )));
    }
    let bs = trainer::batch_size(&plan, &data).clamp(trainer::EVAL_BATCH.0, trainer::EVAL_BATCH.1);
    let eval = evaluate::evaluate(
        &model,
        &data,
        Part::Test,
        bs,
        &plan.train,
        data.classes.len(),
        &device,
    )?;
    let metrics = evaluate::named_metrics(
        "test_",
        &eval,
        &plan.evaluate.metrics,
        plan.evaluate.top_k,
        true,
    );
    let text: String = metrics
        .iter()
        .map(|(name, value)| format!("{name} {}\n", crate::records::atomic::csv_num(*value)))
        .collect();
    crate::terminal::out(&text)?;
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
        crate::records::write_eval(out, &data.classes, &eval.confusion)?;
    }
    Ok(0)
}

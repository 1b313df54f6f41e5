//! `dlp export RUN_DIR [--format onnx] [--weights best|last] [--out FILE]
//! [--opset N] [--no-preprocessing]`: writes the run's model as one ONNX
//! file ([`crate::export`]) and prints its path, input and output.

use crate::cli::{ExportArgs, WeightsChoice};
use crate::error::Result;
use crate::export::{self, Options};
use crate::run::predict::Weights;

pub(crate) fn run(args: &ExportArgs) -> Result<i32> {
    let weights = match args.weights {
        None => Weights::Tested,
        Some(WeightsChoice::Best) => Weights::Best,
        Some(WeightsChoice::Last) => Weights::Last,
    };
    let done = export::export(
        &args.run,
        &Options {
            weights,
            out: args.out.clone(),
            opset: args.opset,
            preprocessing: !args.no_preprocessing,
        },
    )?;
    let path = match &args.out {
        Some(p) => p.display().to_string(),
        None => args.run.join(export::DEFAULT_FILE).display().to_string(),
    };
    crate::terminal::out(&format!(
        "{path}\n  weights {}, ONNX opset {}, {}\n  input  {}\n  output {}\n",
        done.weights,
        done.opset,
        if done.preprocessing {
            "the run's preprocessing inside"
        } else {
            "no preprocessing (--no-preprocessing)"
        },
        done.input,
        done.output
    ))?;
    Ok(0)
}

//! `dlp plan`: the Keras-style model summary and the resolved training
//! plan with every default marked, or the plan as YAML (`--format yaml`,
//! the structure run manifests store).

use crate::analyze;
use crate::cli::{Format, PlanArgs};
use crate::error::{Error, Result};
use crate::plan::summary::{describe, summary};

pub(crate) fn run(args: &PlanArgs) -> Result<i32> {
    let (plan, warnings) = analyze::load_with_warnings(&args.file, &args.overrides.set)?;
    // On stderr, so the plan (and its YAML) stays clean on stdout.
    crate::terminal::err!("{warnings}");
    match args.format {
        Format::Text => {
            crate::terminal::out(&format!("{}\n{}", summary(&plan), describe(&plan)))?;
        }
        Format::Yaml => {
            let text = serde_yaml_ng::to_string(&plan)
                .map_err(|e| Error::Runtime(format!("cannot write the plan as YAML: {e}")))?;
            crate::terminal::out(&text)?;
        }
    }
    Ok(0)
}

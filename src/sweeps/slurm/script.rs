//! The batch scripts: the trials' job array and the summary job.

use super::*;
use crate::error::{Error, Result};
use std::path::Path;

/// Single-quotes `s` for a shell.
pub(super) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A path for an `#SBATCH` line, which Slurm splits at white space.
pub(super) fn sbatch_path(p: &Path) -> Result<String> {
    let s = p
        .to_str()
        .ok_or_else(|| Error::Usage(format!("{}: Slurm needs a UTF-8 path", p.display())))?;
    if s.chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c.is_control())
    {
        return Err(Error::Usage(format!(
            "{s}: the sweep folder's path goes on #SBATCH lines, which cannot hold spaces or quotes; choose another --out"
        )));
    }
    Ok(s.to_string())
}

/// The `--array` value: `1-7`, `2,5`, with `%K` for `--max-parallel`.
pub(crate) fn array_spec(trials: &[usize], max_parallel: Option<usize>) -> String {
    let contiguous = trials.windows(2).all(|w| w[1] == w[0] + 1);
    let list = match (trials.first(), trials.last()) {
        (Some(a), Some(b)) if contiguous && a != b => format!("{a}-{b}"),
        _ => trials
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
    };
    match max_parallel {
        Some(k) => format!("{list}%{k}"),
        None => list,
    }
}

pub(super) fn common_lines(o: &Options, out: &mut String) {
    if let Some(p) = &o.partition {
        out.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &o.time {
        out.push_str(&format!("#SBATCH --time={t}\n"));
    }
    for a in &o.sbatch_args {
        out.push_str(&format!("#SBATCH {a}\n"));
    }
}

/// The array's batch script: task I runs or resumes trial I. `data` is
/// the dataset cache the tasks read (`DLP_DATA`).
pub(crate) fn trials_script(
    dlp: &Path,
    base: &Path,
    data: &Path,
    name: &str,
    trials: &[usize],
    o: &Options,
) -> Result<String> {
    let folder = sbatch_path(base)?;
    let mut s = format!(
        "#!/bin/bash\n\
         # The trials of the dlp sweep in {folder}: array task I runs trial I\n\
         # into trial-NNN/, or resumes it from its resume file.\n\
         #SBATCH --job-name=dlp-{name}\n\
         #SBATCH --array={}\n\
         #SBATCH --output={folder}/{DIR}/trial-%a.out\n\
         #SBATCH --open-mode=append\n\
         #SBATCH --ntasks=1\n",
        array_spec(trials, o.max_parallel)
    );
    if let Some(c) = o.cpus_per_trial {
        s.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
    }
    if let Some(g) = o.gpus_per_trial.filter(|&g| g > 0) {
        s.push_str(&format!("#SBATCH --gres=gpu:{g}\n"));
    }
    common_lines(o, &mut s);
    let device = match (&o.device, o.gpus_per_trial) {
        (Some(d), _) => format!(" --device {}", quote(d)),
        (None, Some(g)) if g > 0 => " --device cuda".to_string(),
        _ => String::new(),
    };
    s.push_str(&format!(
        "# One thread per CPU Slurm gave the task; the dataset cache filled at submission.\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"\n\
         export DLP_DATA={}\n\
         exec {} run --resume {} --trial \"$SLURM_ARRAY_TASK_ID\"{device}\n",
        quote(&data.to_string_lossy()),
        quote(&dlp.to_string_lossy()),
        quote(&folder),
    ));
    Ok(s)
}

/// The summary job's batch script.
pub(crate) fn summary_script(dlp: &Path, base: &Path, name: &str, o: &Options) -> Result<String> {
    let folder = sbatch_path(base)?;
    let mut s = format!(
        "#!/bin/bash\n\
         # Writes sweep.csv and sweep.png of the dlp sweep in {folder} once its\n\
         # trials have ended.\n\
         #SBATCH --job-name=dlp-{name}-summary\n\
         #SBATCH --output={folder}/{DIR}/summary.out\n\
         #SBATCH --open-mode=append\n\
         #SBATCH --ntasks=1\n\
         #SBATCH --cpus-per-task=1\n"
    );
    common_lines(o, &mut s);
    s.push_str(&format!(
        "exec {} sweep summary {}\n",
        quote(&dlp.to_string_lossy()),
        quote(&folder)
    ));
    Ok(s)
}

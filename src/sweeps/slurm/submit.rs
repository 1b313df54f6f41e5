//! Submitting a sweep: `sbatch` of the scripts, the dry run, the record.

use super::*;
use crate::data::download;
use crate::error::{Error, Result};
use crate::plan::{Plan, Source};
use crate::records::atomic;
use crate::sweeps::sweep::Spec;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `sbatch --parsable ARGS…`; returns the job id.
pub(super) fn sbatch(args: &[String]) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .map_err(|e| {
            Error::Runtime(format!(
                "cannot run sbatch ({e}): --executor slurm needs Slurm's commands on this machine"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Runtime(format!(
            "sbatch {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // `--parsable` prints `ID` or `ID;CLUSTER`.
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::Runtime(format!(
            "sbatch printed {:?}, not a job id",
            text.trim()
        )));
    }
    Ok(id)
}

/// What a submission would run: the two scripts and their commands.
pub(super) struct Batch {
    trials: String,
    summary: String,
    trials_path: PathBuf,
    summary_path: PathBuf,
}

/// A job name from the pipeline's: what an `#SBATCH` line and `squeue`
/// show well.
pub(super) fn job_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(super) fn batch(base: &Path, name: &str, trials: &[usize], o: &Options) -> Result<Batch> {
    let name = &job_name(name);
    let dlp = std::env::current_exe()
        .map_err(|e| Error::Runtime(format!("cannot find the dlp binary: {e}")))?;
    let data = std::path::absolute(download::cache_root()?)
        .map_err(|e| Error::Runtime(format!("cannot resolve the dataset cache: {e}")))?;
    if o.gpus_per_trial.is_some_and(|g| g > 0)
        && o.device.as_deref().is_none_or(|d| d.starts_with("cuda"))
        && !candle_core::utils::cuda_is_available()
    {
        crate::terminal::errln!(
            "warning: --gpus-per-trial: this dlp is built without CUDA (candle's cuda feature), so its trials would fail on --device cuda"
        );
    }
    Ok(Batch {
        trials: trials_script(&dlp, base, &data, name, trials, o)?,
        summary: summary_script(&dlp, base, name, o)?,
        trials_path: base.join(DIR).join(TRIALS_SCRIPT),
        summary_path: base.join(DIR).join(SUMMARY_SCRIPT),
    })
}

/// Prints what `--dry-run` shows: the two scripts, each after the
/// command that would submit it.
pub(super) fn print_dry_run(b: &Batch, trials: &[usize], o: &Options) -> Result<()> {
    crate::terminal::out(&format!(
        "# sbatch --parsable --array={} {}\n{}\n# sbatch --parsable --dependency=afterany:<the array's job id> {}\n{}",
        array_spec(trials, o.max_parallel),
        b.trials_path.display(),
        b.trials,
        b.summary_path.display(),
        b.summary
    ))
}

/// Writes the scripts, submits the array and the summary, records them.
pub(super) fn submit_batch(
    base: &Path,
    b: &Batch,
    trials: &[usize],
    o: &Options,
) -> Result<Submission> {
    let dir = base.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    atomic::write(&b.trials_path, b.trials.as_bytes())?;
    atomic::write(&b.summary_path, b.summary.as_bytes())?;
    // The script's own --array holds the trials too; the command line's
    // wins, and says in `ps` what was asked.
    let array = sbatch(&[
        format!("--array={}", array_spec(trials, o.max_parallel)),
        b.trials_path.to_string_lossy().into_owned(),
    ])?;
    let summary = sbatch(&[
        format!("--dependency=afterany:{array}"),
        b.summary_path.to_string_lossy().into_owned(),
    ])?;
    let s = Submission {
        array,
        summary,
        trials: trials.to_vec(),
        options: o.clone(),
    };
    let mut jobs = Jobs::read(base)?.unwrap_or_default();
    jobs.submissions.push(s.clone());
    jobs.write(base)?;
    Ok(s)
}

pub(super) fn say_submitted(base: &Path, s: &Submission) -> Result<()> {
    let n = s.trials.len();
    crate::terminal::out(&format!(
        "submitted {n} trial{} of {} as Slurm job array {}{} and the summary as job {} (after the array)\n\
         follow with `dlp sweep status {}` (or squeue -j {}); logs in {}\n",
        if n == 1 { "" } else { "s" },
        base.display(),
        s.array,
        s.options
            .max_parallel
            .map_or(String::new(), |k| format!(" (at most {k} at once)")),
        s.summary,
        base.display(),
        s.array,
        base.join(DIR).display()
    ))
}

/// `dlp run SWEEP.dlp --executor slurm …`.
pub(crate) fn submit(
    plan: &Plan,
    overrides: &[String],
    out: Option<&Path>,
    o: &Options,
    dry_run: bool,
) -> Result<i32> {
    o.check()?;
    let spec = Spec::new(plan, overrides)?;
    let trials: Vec<usize> = (1..=spec.trials.len()).collect();
    if dry_run {
        // Nothing is written: the folder named is the one a real run claims.
        let dir = match out {
            Some(d) => d.to_path_buf(),
            None => Path::new("runs")
                .join(&plan.name)
                .join(crate::run::folder::run_id(std::time::SystemTime::now())),
        };
        let dir = std::path::absolute(&dir).map_err(|e| Error::io(&dir, e))?;
        let b = batch(&dir, &plan.name, &trials, o)?;
        print_dry_run(&b, &trials, o)?;
        return Ok(0);
    }
    // Before anything is written: a folder no job will ever fill helps
    // nobody.
    match Command::new("sbatch").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Err(Error::Runtime(format!(
                "sbatch --version failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )));
        }
        Err(e) => {
            return Err(Error::Runtime(format!(
                "cannot run sbatch ({e}): --executor slurm needs Slurm's commands on this machine (--dry-run prints the scripts without them)"
            )));
        }
    }
    // Compute nodes often have no internet access, and many tasks must
    // not download one dataset into the cache at once: fetch it here.
    if let Source::Builtin(b) = plan.data.source {
        let mirror = std::env::var("DLP_MIRROR").ok();
        download::ensure(
            &download::Spec::builtin(b),
            &download::cache_root()?,
            mirror.as_deref(),
            true,
        )?;
    }
    let base = crate::sweeps::sweep::claim(plan, out)?;
    let dir = std::fs::canonicalize(&base.dir).map_err(|e| Error::io(&base.dir, e))?;
    let b = batch(&dir, &plan.name, &trials, o)?;
    spec.write(&dir)?;
    let s = submit_batch(&dir, &b, &trials, o)?;
    say_submitted(&dir, &s)?;
    Ok(0)
}

//! Sweeps on a Slurm cluster: `dlp run SWEEP.dlp --executor slurm`.
//!
//! The sweep folder is written as for a local sweep (`sweep.yaml`), then
//! submitted as one job array, one array task per trial, each running
//! `dlp run --resume SWEEP_DIR --trial $SLURM_ARRAY_TASK_ID` into the
//! shared folder, and a summary job that depends on the array
//! (`--dependency=afterany`) and runs `dlp sweep summary SWEEP_DIR`.
//! Slurm does the scheduling, the queueing, the limits and the requeueing;
//! `dlp` writes the batch scripts (`slurm/trials.sbatch`,
//! `slurm/summary.sbatch`), submits them with `sbatch`, and records the
//! job ids in `slurm/jobs.yaml`.
//!
//! `dlp sweep status` reads each trial's state from its folder and from
//! `squeue` (and `sacct` where the cluster keeps accounting); `dlp sweep
//! resume` resubmits the trials that failed, timed out or were preempted:
//! each continues from its resume file.

use super::{Spec, summary, trial_name, value_text};
use crate::data::download;
use crate::error::{Error, Result};
use crate::plan::{Plan, Source};
use crate::report::{Status, atomic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of scripts, logs and job ids inside a sweep folder.
pub const DIR: &str = "slurm";
/// The job ids of every submission.
pub const JOBS_FILE: &str = "jobs.yaml";
pub const TRIALS_SCRIPT: &str = "trials.sbatch";
pub const SUMMARY_SCRIPT: &str = "summary.sbatch";

/// How trials are requested from Slurm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// `--partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// GPUs per trial (`--gres=gpu:G`); trials then run with `--device cuda`
    /// unless `device` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus_per_trial: Option<u32>,
    /// CPUs per trial (`--cpus-per-task`); each trial runs that many threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_per_trial: Option<u32>,
    /// Each task's time limit (`--time`, Slurm's formats: `90`, `2:00:00`,
    /// `1-00:00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// At most this many trials at once (`--array=…%K`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<usize>,
    /// Further `sbatch` options, one per `#SBATCH` line of both scripts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sbatch_args: Vec<String>,
    /// `--device` for the trials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl Options {
    /// Refuses values that cannot go on an `#SBATCH` line.
    pub fn check(&self) -> Result<()> {
        let one_line = |flag: &str, v: &str| {
            if v.is_empty() || v.chars().any(|c| c.is_control()) {
                Err(Error::Usage(format!(
                    "{flag} {v:?}: a value for an #SBATCH line cannot be empty or hold control characters"
                )))
            } else {
                Ok(())
            }
        };
        if let Some(p) = &self.partition {
            one_line("--partition", p)?;
        }
        if let Some(t) = &self.time {
            one_line("--time", t)?;
        }
        for a in &self.sbatch_args {
            one_line("--sbatch-arg", a)?;
            if !a.starts_with('-') {
                return Err(Error::Usage(format!(
                    "--sbatch-arg {a:?}: pass an sbatch option, such as --sbatch-arg=--account=ml"
                )));
            }
        }
        if self.max_parallel == Some(0) {
            return Err(Error::Usage("--max-parallel must be at least 1".into()));
        }
        if self.cpus_per_trial == Some(0) {
            return Err(Error::Usage("--cpus-per-trial must be at least 1".into()));
        }
        Ok(())
    }

    /// Replaces the options given on a command line (`dlp sweep resume`).
    pub fn overridden_by(&self, other: &Options) -> Options {
        Options {
            partition: other.partition.clone().or_else(|| self.partition.clone()),
            gpus_per_trial: other.gpus_per_trial.or(self.gpus_per_trial),
            cpus_per_trial: other.cpus_per_trial.or(self.cpus_per_trial),
            time: other.time.clone().or_else(|| self.time.clone()),
            max_parallel: other.max_parallel.or(self.max_parallel),
            sbatch_args: if other.sbatch_args.is_empty() {
                self.sbatch_args.clone()
            } else {
                other.sbatch_args.clone()
            },
            device: other.device.clone().or_else(|| self.device.clone()),
        }
    }
}

/// One `sbatch` of the trials and its summary job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The job array's id.
    pub array: String,
    /// The summary job's id.
    pub summary: String,
    /// The trials submitted (1-based, the array's task ids).
    pub trials: Vec<usize>,
    pub options: Options,
}

/// `slurm/jobs.yaml`: every submission, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Jobs {
    pub submissions: Vec<Submission>,
}

impl Jobs {
    pub fn read(base: &Path) -> Result<Option<Jobs>> {
        let path = base.join(DIR).join(JOBS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                crate::file_format::check_yaml(&path, &text)?;
                serde_yaml_ng::from_str(&text)
                    .map(Some)
                    .map_err(|e| Error::file(&path, e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn write(&self, base: &Path) -> Result<()> {
        let text = serde_yaml_ng::to_string(self).map_err(|e| Error::Runtime(e.to_string()))?;
        let text = crate::file_format::stamp(&text);
        atomic::write(&base.join(DIR).join(JOBS_FILE), text.as_bytes())
    }

    /// The latest submission of 1-based trial `t`.
    fn latest(&self, t: usize) -> Option<&Submission> {
        self.submissions
            .iter()
            .rev()
            .find(|s| s.trials.contains(&t))
    }
}

/// Single-quotes `s` for a shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A path for an `#SBATCH` line, which Slurm splits at white space.
fn sbatch_path(p: &Path) -> Result<String> {
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
pub fn array_spec(trials: &[usize], max_parallel: Option<usize>) -> String {
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

fn common_lines(o: &Options, out: &mut String) {
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
pub fn trials_script(
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
pub fn summary_script(dlp: &Path, base: &Path, name: &str, o: &Options) -> Result<String> {
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

/// Runs `sbatch --parsable ARGS…`; returns the job id.
fn sbatch(args: &[String]) -> Result<String> {
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
struct Batch {
    trials: String,
    summary: String,
    trials_path: PathBuf,
    summary_path: PathBuf,
}

/// A job name from the pipeline's: what an `#SBATCH` line and `squeue`
/// show well.
fn job_name(name: &str) -> String {
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

fn batch(base: &Path, name: &str, trials: &[usize], o: &Options) -> Result<Batch> {
    let name = &job_name(name);
    let dlp = std::env::current_exe()
        .map_err(|e| Error::Runtime(format!("cannot find the dlp binary: {e}")))?;
    let data = std::path::absolute(download::cache_root()?)
        .map_err(|e| Error::Runtime(format!("cannot resolve the dataset cache: {e}")))?;
    if o.gpus_per_trial.is_some_and(|g| g > 0)
        && o.device.as_deref().is_none_or(|d| d.starts_with("cuda"))
        && !candle_core::utils::cuda_is_available()
    {
        eprintln!(
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
fn print_dry_run(b: &Batch, trials: &[usize], o: &Options) -> Result<()> {
    crate::commands::out(&format!(
        "# sbatch --parsable --array={} {}\n{}\n# sbatch --parsable --dependency=afterany:<the array's job id> {}\n{}",
        array_spec(trials, o.max_parallel),
        b.trials_path.display(),
        b.trials,
        b.summary_path.display(),
        b.summary
    ))
}

/// Writes the scripts, submits the array and the summary, records them.
fn submit_batch(base: &Path, b: &Batch, trials: &[usize], o: &Options) -> Result<Submission> {
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

fn say_submitted(base: &Path, s: &Submission) -> Result<()> {
    let n = s.trials.len();
    crate::commands::out(&format!(
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
pub fn submit(
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
    let base = super::claim(plan, out)?;
    let dir = std::fs::canonicalize(&base.dir).map_err(|e| Error::io(&base.dir, e))?;
    let b = batch(&dir, &plan.name, &trials, o)?;
    spec.write(&dir)?;
    let s = submit_batch(&dir, &b, &trials, o)?;
    say_submitted(&dir, &s)?;
    Ok(0)
}

/// A trial's state, as `dlp sweep status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialState {
    /// pending, running, done, pruned, diverged or failed.
    pub state: &'static str,
    /// Why, for failed ones (the folder's or Slurm's word).
    pub note: String,
    /// `ARRAY_TASK STATE` when the trial was submitted.
    pub slurm: Option<String>,
}

impl TrialState {
    /// Whether `dlp sweep resume` submits the trial again: it failed, or
    /// it never ran and nothing queues it.
    fn resubmit(&self) -> bool {
        self.state == "failed" || (self.state == "pending" && self.slurm.is_none())
    }
}

/// Job states by id (`123_4` for array tasks) from `squeue` and, where the
/// cluster keeps accounting, `sacct`; empty when neither answers.
pub fn job_states(ids: &[String]) -> BTreeMap<String, String> {
    let mut states = BTreeMap::new();
    if ids.is_empty() {
        return states;
    }
    let list = ids.join(",");
    let parse = |out: &std::process::Output, states: &mut BTreeMap<String, String>| {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((id, state)) = line.split_once('|') {
                let word = state.split_whitespace().next().unwrap_or("");
                if !id.is_empty() && !word.is_empty() {
                    states
                        .entry(id.trim().to_string())
                        .or_insert(word.to_string());
                }
            }
        }
    };
    // squeue first: it knows the live jobs, and finished ones for a while.
    if let Ok(out) = Command::new("squeue")
        .args(["-h", "-r", "-t", "all", "-j", &list, "-o", "%i|%T"])
        .output()
        && out.status.success()
    {
        parse(&out, &mut states);
    }
    if let Ok(out) = Command::new("sacct")
        .args(["-n", "-P", "-X", "-j", &list, "-o", "JobID,State"])
        .output()
        && out.status.success()
    {
        parse(&out, &mut states);
    }
    states
}

/// The earlier trials' latest array tasks, for a trial that runs as one:
/// a stopped trial whose task is still queued or running will be resumed
/// by it, so a later trial waits for it rather than stopping.
#[derive(Debug)]
pub struct Tasks {
    /// `ARRAY_TASK` of each trial's latest submission.
    ids: Vec<Option<String>>,
}

impl Tasks {
    /// The tasks of the `n` trials of the sweep in `base`.
    pub fn of(base: &Path, n: usize) -> Result<Tasks> {
        let jobs = Jobs::read(base)?;
        Ok(Tasks {
            ids: (1..=n)
                .map(|t| {
                    jobs.as_ref()
                        .and_then(|j| j.latest(t))
                        .map(|s| format!("{}_{t}", s.array))
                })
                .collect(),
        })
    }
}

impl super::prune::Peers for Tasks {
    fn may_continue(&self, trial: usize) -> bool {
        let Some(Some(id)) = self.ids.get(trial) else {
            return false;
        };
        job_states(std::slice::from_ref(id))
            .get(id)
            .is_some_and(|s| {
                matches!(
                    s.as_str(),
                    "PENDING" | "REQUEUED" | "RUNNING" | "CONFIGURING" | "COMPLETING" | "RESIZING"
                )
            })
    }
}

/// Each trial's state: its folder's word first (a trial that ended has
/// ended, whatever Slurm says), then Slurm's, then the folder's again.
pub fn trial_states(
    base: &Path,
    spec: &Spec,
    jobs: Option<&Jobs>,
    slurm: &BTreeMap<String, String>,
) -> Result<Vec<TrialState>> {
    let n = spec.trials.len();
    (0..n)
        .map(|i| {
            let dir = base.join(trial_name(i, n));
            let status = super::prune::status_of(&dir)?;
            let task = jobs.and_then(|j| j.latest(i + 1)).map(|s| {
                let id = format!("{}_{}", s.array, i + 1);
                let state = slurm.get(&id).cloned();
                (id, state)
            });
            let slurm_word = task.as_ref().and_then(|(_, s)| s.clone());
            let shown = task
                .as_ref()
                .map(|(id, s)| format!("{id} {}", s.as_deref().unwrap_or("(gone from squeue)")));
            let (state, note) = match (status, slurm_word.as_deref()) {
                (Some(Status::Completed | Status::StoppedEarly), _) => ("done", String::new()),
                (Some(Status::Pruned), _) => ("pruned", String::new()),
                (Some(Status::Diverged), _) => ("diverged", String::new()),
                (Some(Status::Failed), _) => ("failed", "the run failed (see its log)".into()),
                (_, Some("PENDING" | "REQUEUED" | "SUSPENDED" | "REQUEUE_HOLD")) => {
                    ("pending", String::new())
                }
                (_, Some("RUNNING" | "CONFIGURING" | "COMPLETING" | "RESIZING")) => {
                    ("running", String::new())
                }
                (_, Some(word)) => (
                    "failed",
                    match status {
                        Some(s) => format!("{}; the task ended {word}", s.as_str()),
                        None => format!("the task ended {word}"),
                    },
                ),
                (Some(Status::Running), None) if task.is_none() => {
                    // A local sweep: alive when its process is (same host).
                    let pid = std::fs::read_to_string(dir.join(crate::run::folder::LOCK))
                        .unwrap_or_default();
                    let pid = pid.trim();
                    if !pid.is_empty() && Path::new("/proc").join(pid).exists() {
                        ("running", format!("pid {pid}"))
                    } else {
                        ("failed", "crashed".into())
                    }
                }
                (Some(Status::Running | Status::Crashed), _) => ("failed", "crashed".into()),
                (Some(Status::Interrupted), _) => ("failed", "interrupted".into()),
                // Submitted, gone from the queue, and nothing written.
                (None, None) if task.is_some() => (
                    "failed",
                    "the task never started the trial (see its log)".into(),
                ),
                (None, _) => ("pending", String::new()),
            };
            Ok(TrialState {
                state,
                note,
                slurm: shown,
            })
        })
        .collect()
}

/// `dlp sweep status SWEEP_DIR`: one line per trial.
pub fn status(base: &Path) -> Result<String> {
    let spec = Spec::read(base)?;
    let jobs = Jobs::read(base)?;
    let mut ids: Vec<String> = Vec::new();
    if let Some(j) = &jobs {
        for s in &j.submissions {
            ids.push(s.array.clone());
            ids.push(s.summary.clone());
        }
    }
    let slurm = job_states(&ids);
    let states = trial_states(base, &spec, jobs.as_ref(), &slurm)?;
    let results = summary::collect(base, &spec)?;
    let n = spec.trials.len();
    let epochs = |i: usize| -> String {
        crate::report::Manifest::read(&base.join(trial_name(i, n)))
            .ok()
            .map_or_else(
                || results[i].epochs().to_string(),
                |m| format!("{}/{}", results[i].epochs(), m.plan.train.epochs),
            )
    };
    let (monitor, goal) = (&spec.sweep.monitor, spec.sweep.goal);
    let mut rows = vec![{
        let mut h = vec!["trial".to_string()];
        h.extend(spec.sweep.axes.iter().map(|a| a.target.clone()));
        h.extend([
            "state".into(),
            "epochs".into(),
            format!("best {monitor}"),
            "slurm".into(),
            "note".into(),
        ]);
        h
    }];
    for (i, st) in states.iter().enumerate() {
        let mut row = vec![trial_name(i, n)];
        row.extend(spec.trials[i].values.iter().map(value_text));
        row.push(st.state.to_string());
        row.push(if results[i].status.is_some() {
            epochs(i)
        } else {
            "-".into()
        });
        row.push(
            results[i]
                .score(monitor, goal)
                .map_or("-".into(), |(_, v)| format!("{v:.4}")),
        );
        row.push(st.slurm.clone().unwrap_or_else(|| "-".into()));
        row.push(st.note.clone());
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let counts = ["done", "pruned", "diverged", "running", "pending", "failed"]
        .iter()
        .map(|w| (w, states.iter().filter(|s| s.state == *w).count()))
        .filter(|(_, c)| *c > 0)
        .map(|(w, c)| format!("{c} {w}"))
        .collect::<Vec<_>>()
        .join(", ");
    out.push_str(&format!("{}: {n} trials: {counts}\n", base.display()));
    if let Some(j) = &jobs {
        for s in &j.submissions {
            out.push_str(&format!(
                "Slurm: array {} (trials {}), summary job {} {}\n",
                s.array,
                array_spec(&s.trials, None),
                s.summary,
                slurm
                    .get(&s.summary)
                    .map_or("(gone from squeue)", String::as_str)
            ));
        }
    }
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if base.join(summary::FILE).is_file() {
        out.push_str(&format!(
            "summary: {}\n",
            base.join(summary::FILE).display()
        ));
    }
    if states.iter().any(TrialState::resubmit) {
        out.push_str(&format!(
            "continue the failed trials with `dlp sweep resume {}`\n",
            base.display()
        ));
    }
    Ok(out)
}

/// `dlp sweep resume SWEEP_DIR` on Slurm: submits the trials that failed
/// (or never ran) again, with the options of the last submission unless
/// `given` replaces them, and a new summary job after them.
pub fn resubmit(base: &Path, given: &Options, dry_run: bool) -> Result<i32> {
    let base = std::fs::canonicalize(base).map_err(|e| Error::io(base, e))?;
    let spec = Spec::read(&base)?;
    let jobs = Jobs::read(&base)?;
    let mut ids: Vec<String> = Vec::new();
    if let Some(j) = &jobs {
        for s in &j.submissions {
            ids.push(s.array.clone());
        }
    }
    let slurm = job_states(&ids);
    let states = trial_states(&base, &spec, jobs.as_ref(), &slurm)?;
    let trials: Vec<usize> = (0..states.len())
        .filter(|&i| states[i].resubmit())
        .map(|i| i + 1)
        .collect();
    let o = jobs
        .as_ref()
        .and_then(|j| j.submissions.last())
        .map_or_else(|| given.clone(), |s| s.options.overridden_by(given));
    o.check()?;
    if trials.is_empty() {
        let live: Vec<String> = states
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.state, "pending" | "running"))
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        if !live.is_empty() {
            crate::commands::out(&format!(
                "nothing to resubmit: trial{} {} still queued or running\n",
                if live.len() == 1 { "" } else { "s" },
                live.join(", ")
            ))?;
            return Ok(0);
        }
        // Every trial has ended: the summary is all that is left.
        let (text, _) = summary::summarize(&base)?;
        crate::commands::out(&text)?;
        return Ok(0);
    }
    let name = crate::report::Manifest::read(&base.join(trial_name(0, spec.trials.len())))
        .map(|m| m.plan.name)
        .or_else(|_| {
            spec.pipeline
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or(())
        })
        .unwrap_or_else(|()| "sweep".into());
    let b = batch(&base, &name, &trials, &o)?;
    if dry_run {
        print_dry_run(&b, &trials, &o)?;
        return Ok(0);
    }
    let s = submit_batch(&base, &b, &trials, &o)?;
    say_submitted(&base, &s)?;
    Ok(0)
}

/// Whether a sweep folder was submitted to Slurm.
pub fn is_slurm_sweep(base: &Path) -> bool {
    base.join(DIR).join(JOBS_FILE).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_keep_to_safe_characters() {
        assert_eq!(job_name("lr_sweep"), "lr_sweep");
        assert_eq!(job_name("my sweep #2\n"), "my_sweep__2_");
    }

    #[test]
    fn array_specs() {
        assert_eq!(array_spec(&[1, 2, 3, 4, 5, 6, 7], Some(3)), "1-7%3");
        assert_eq!(array_spec(&[1, 2, 3], None), "1-3");
        assert_eq!(array_spec(&[2, 5, 6], Some(2)), "2,5,6%2");
        assert_eq!(array_spec(&[4], None), "4");
    }

    #[test]
    fn options_refuse_what_an_sbatch_line_cannot_hold() {
        let o = Options {
            sbatch_args: vec!["account=x".into()],
            ..Options::default()
        };
        assert_eq!(
            o.check().unwrap_err().to_string(),
            "--sbatch-arg \"account=x\": pass an sbatch option, such as --sbatch-arg=--account=ml"
        );
        let o = Options {
            partition: Some("gpu\n#SBATCH --x".into()),
            ..Options::default()
        };
        assert!(o.check().is_err());
        let given = Options {
            time: Some("1:00:00".into()),
            ..Options::default()
        };
        let kept = Options {
            partition: Some("gpu".into()),
            time: Some("10".into()),
            sbatch_args: vec!["--qos=low".into()],
            ..Options::default()
        };
        let o = kept.overridden_by(&given);
        assert_eq!(
            (
                o.partition.as_deref(),
                o.time.as_deref(),
                o.sbatch_args.len()
            ),
            (Some("gpu"), Some("1:00:00"), 1)
        );
    }
}

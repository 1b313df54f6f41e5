//! Each trial's state from its folder, `squeue` and `sacct`; resubmitting
//! the failed, timed-out or preempted trials.

use super::submit::{batch, print_dry_run, say_submitted, submit_batch};
use super::*;
use crate::error::{Error, Result};
use crate::plan::trials::{trial_name, value_text};
use crate::records::Status;
use crate::sweeps::summary;
use crate::sweeps::sweep::Spec;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A trial's state, as `dlp sweep status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrialState {
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
pub(crate) fn job_states(ids: &[String]) -> BTreeMap<String, String> {
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
pub(crate) struct Tasks {
    /// `ARRAY_TASK` of each trial's latest submission.
    ids: Vec<Option<String>>,
}

impl Tasks {
    /// The tasks of the `n` trials of the sweep in `base`.
    pub(crate) fn of(base: &Path, n: usize) -> Result<Tasks> {
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

impl crate::sweeps::prune::Peers for Tasks {
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
pub(crate) fn trial_states(
    base: &Path,
    spec: &Spec,
    jobs: Option<&Jobs>,
    slurm: &BTreeMap<String, String>,
) -> Result<Vec<TrialState>> {
    let n = spec.trials.len();
    (0..n)
        .map(|i| {
            let dir = base.join(trial_name(i, n));
            let status = crate::sweeps::prune::status_of(&dir)?;
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
pub(crate) fn status(base: &Path) -> Result<String> {
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
        crate::records::Manifest::read(&base.join(trial_name(i, n)))
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
pub(crate) fn resubmit(base: &Path, given: &Options, dry_run: bool) -> Result<i32> {
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
            crate::terminal::out(&format!(
                "nothing to resubmit: trial{} {} still queued or running\n",
                if live.len() == 1 { "" } else { "s" },
                live.join(", ")
            ))?;
            return Ok(0);
        }
        // Every trial has ended: the summary is all that is left.
        let (text, _) = summary::summarize(&base)?;
        crate::terminal::out(&text)?;
        return Ok(0);
    }
    let name = crate::records::Manifest::read(&base.join(trial_name(0, spec.trials.len())))
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

//! Pruning: `sweep … prune=median warmup=W startup=S`.
//!
//! The rule is Optuna's `MedianPruner`: at the end of epoch e > W, trial
//! i (i > S in sweep order) stops when its best monitored value over
//! epochs 1…e is worse than the median of the other trials' values at
//! epoch e (NaN values left out, as `numpy.nanpercentile` does; a trial
//! with no finite value yet is pruned, as Optuna prunes a NaN).
//!
//! Which other trials: Optuna takes the trials finished at the moment the
//! question is asked, so its decisions depend on timing. Here they are
//! the *earlier* trials in sweep order that trained epoch e (pruned ones
//! included, up to where they stopped; a trial that stopped before e does
//! not count at e). With `--jobs 1` that is what Optuna sees; with
//! `--jobs N`, or array tasks on a cluster, a trial waits at the end of
//! epoch e until every earlier trial has trained epoch e or ended, so
//! every decision, and every file, is the one `--jobs 1` gives. The
//! earliest unfinished trial never waits, so the sweep always moves. When
//! an earlier trial stopped without ending (interrupted, crashed, failed),
//! the waiting trial stops too, as interrupted: resuming the sweep runs
//! both again, in order ([`Peers`] tells when the stopped trial is itself
//! about to be resumed, by this process or its Slurm array: then it waits). An earlier trial killed without a word (`kill
//! -9`, a lost node) still says `running`: the waiting trial waits until
//! it is resumed, or until its own time limit stops it (SIGTERM: it saves
//! and stops as interrupted).
//!
//! The earlier trials are read from their folders (`run.yaml`, then
//! `train.csv`, both replaced atomically), so the same code serves
//! threads of one process, processes on one machine and Slurm tasks on a
//! shared filesystem.

use crate::error::{Error, Result};
use crate::plan::Mode;
use crate::records::{History, Status, history, manifest};
use crate::run::trainer::Pruner;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The median of the finite values (the mean of the middle two for an
/// even count, as `numpy.median`); `None` without any.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The best of `values` in direction `goal`, NaN left out.
pub(crate) fn best(values: &[f64], goal: Mode) -> Option<f64> {
    values
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .reduce(|a, b| match goal {
            Mode::Min => a.min(b),
            Mode::Max => a.max(b),
        })
}

/// The median rule's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MedianRule {
    pub goal: Mode,
    /// Epochs 1…warmup are never pruned.
    pub warmup: usize,
    /// Trials 1…startup (1-based, sweep order) are never pruned.
    pub startup: usize,
}

impl MedianRule {
    /// Whether trial `trial` (0-based) needs the other trials at 1-based
    /// `epoch` at all.
    pub(crate) fn applies(&self, trial: usize, epoch: usize) -> bool {
        epoch > self.warmup && trial >= self.startup
    }

    /// The decision at the end of `epoch` for trial `trial` (0-based):
    /// `own` are its monitored values for epochs 1…epoch, `earlier` the
    /// values at `epoch` of the earlier trials that trained it.
    pub(crate) fn prune(&self, trial: usize, epoch: usize, own: &[f64], earlier: &[f64]) -> bool {
        if !self.applies(trial, epoch) {
            return false;
        }
        let Some(median) = median(earlier) else {
            return false;
        };
        match best(own, self.goal) {
            None => true,
            Some(b) => match self.goal {
                Mode::Min => b > median,
                Mode::Max => b < median,
            },
        }
    }
}

/// Where an earlier trial stands at an epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Look {
    /// It trained the epoch: its monitored value (NaN when not recorded).
    Value(f64),
    /// It ended before the epoch.
    Ended,
    /// Not yet: it has not started, or is training.
    Wait,
    /// It stopped before the epoch without ending (interrupted, crashed,
    /// failed): it will continue when resumed, and only then say.
    Stalled(Status),
}

/// A run folder's status from its `run.yaml` (`None` before it has one).
/// Only the `status:` line is read: it is polled often.
pub(crate) fn status_of(dir: &Path) -> Result<Option<Status>> {
    let path = dir.join(manifest::FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let word = text
        .lines()
        .find_map(|l| l.strip_prefix("status: "))
        .ok_or_else(|| Error::file(&path, "no status line"))?;
    serde_yaml_ng::from_str(word)
        .map(Some)
        .map_err(|e| Error::file(&path, format!("status {word}: {e}")))
}

/// Whether a run with this status will train no further epoch.
pub(crate) fn ended(status: Status) -> bool {
    matches!(
        status,
        Status::Completed | Status::StoppedEarly | Status::Pruned | Status::Diverged
    )
}

/// Whether an earlier trial whose folder says interrupted, crashed or
/// failed is still to be run or resumed by what runs the sweep now (this
/// process's batch, the Slurm array it was resubmitted in): worth waiting
/// for, rather than stopping.
pub(crate) trait Peers: Send + Sync + std::fmt::Debug {
    /// `trial` is 0-based.
    fn may_continue(&self, trial: usize) -> bool;
}

/// No other trial runs now (a lone `--trial` outside Slurm).
#[derive(Debug)]
pub(crate) struct Alone;

impl Peers for Alone {
    fn may_continue(&self, _: usize) -> bool {
        false
    }
}

/// The trials of one process's batch: each may continue until its run
/// has returned.
#[derive(Debug)]
pub(crate) struct Batch {
    running: Vec<AtomicBool>,
}

impl Batch {
    /// A batch that will run (or keep) every one of `n` trials.
    pub(crate) fn new(n: usize) -> Batch {
        Batch {
            running: (0..n).map(|_| AtomicBool::new(true)).collect(),
        }
    }

    /// Trial `i`'s run has returned.
    pub(crate) fn done(&self, i: usize) {
        if let Some(r) = self.running.get(i) {
            r.store(false, Ordering::SeqCst);
        }
    }
}

impl Peers for Batch {
    fn may_continue(&self, trial: usize) -> bool {
        self.running
            .get(trial)
            .is_some_and(|r| r.load(Ordering::SeqCst))
    }
}

/// The pruner of one trial of a sweep.
#[derive(Debug)]
pub(crate) struct MedianPruner {
    pub rule: MedianRule,
    pub monitor: String,
    /// 0-based index of the trial this pruner decides for.
    pub trial: usize,
    /// The folders of the earlier trials, in sweep order.
    pub earlier: Vec<PathBuf>,
    /// Which stopped earlier trials will still run.
    pub peers: std::sync::Arc<dyn Peers>,
    /// Say on stderr when waiting long for an earlier trial.
    pub quiet: bool,
}

impl MedianPruner {
    fn look(&self, dir: &Path, epoch: usize) -> Result<Look> {
        // The status first: once it says ended, train.csv is final.
        let status = status_of(dir)?;
        let csv = dir.join(history::FILE);
        if csv.is_file() {
            let h = History::read_csv(&csv)?;
            if let Some(row) = h.rows.iter().find(|r| r.epoch == epoch) {
                return Ok(Look::Value(row.get(&self.monitor).unwrap_or(f64::NAN)));
            }
        }
        Ok(match status {
            Some(s) if ended(s) => Look::Ended,
            Some(s @ (Status::Interrupted | Status::Crashed | Status::Failed)) => Look::Stalled(s),
            _ => Look::Wait,
        })
    }

    /// The earlier trials' values at `epoch`, waiting for those not there
    /// yet.
    fn earlier_values(&self, epoch: usize, stop: &AtomicBool) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        for (j, dir) in self.earlier.iter().enumerate() {
            let started = Instant::now();
            let mut pause = Duration::from_millis(2);
            let mut said = false;
            loop {
                match self.look(dir, epoch)? {
                    Look::Value(v) => {
                        out.push(v);
                        break;
                    }
                    Look::Ended => break,
                    // About to be resumed (its run or task has not yet
                    // marked it running): wait.
                    Look::Stalled(_) if self.peers.may_continue(j) => {}
                    Look::Stalled(s) => {
                        // Waiting would hold this trial's CPUs (a cluster
                        // allocation) for nothing, and deciding without
                        // it would change the sweep: stop, to be resumed
                        // with it.
                        return Err(Error::Interrupted(format!(
                            "stopped at the end of epoch {epoch}: {} before it is {} and has not reached epoch {epoch}, which pruning compares at",
                            dir.display(),
                            s.as_str()
                        )));
                    }
                    Look::Wait => {}
                }
                if stop.load(Ordering::SeqCst) {
                    return Err(Error::Interrupted(format!(
                        "interrupted at the end of epoch {epoch} while waiting for {} to reach it",
                        dir.display()
                    )));
                }
                if !said && !self.quiet && started.elapsed() > Duration::from_secs(30) {
                    crate::terminal::errln!(
                        "waiting for {} to finish epoch {epoch}: pruning compares trials at equal epochs",
                        dir.display()
                    );
                    said = true;
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
        Ok(out)
    }
}

impl Pruner for MedianPruner {
    fn prune(&self, epoch: usize, history: &History, stop: &AtomicBool) -> Result<bool> {
        if !self.rule.applies(self.trial, epoch) {
            return Ok(false);
        }
        let own: Vec<f64> = history
            .rows
            .iter()
            .filter(|r| r.epoch <= epoch)
            .map(|r| r.get(&self.monitor).unwrap_or(f64::NAN))
            .collect();
        let earlier = self.earlier_values(epoch, stop)?;
        Ok(self.rule.prune(self.trial, epoch, &own, &earlier))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_best_leave_nan_out() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
        assert_eq!(median(&[f64::NAN]), None);
        assert_eq!(median(&[]), None);
        assert_eq!(best(&[0.5, f64::NAN, 0.25], Mode::Min), Some(0.25));
        assert_eq!(best(&[0.5, f64::NAN, 0.25], Mode::Max), Some(0.5));
        assert_eq!(best(&[f64::NAN], Mode::Min), None);
    }

    /// A made-up sweep of five trials, val_loss per epoch, run in order
    /// with `warmup=2 startup=2`: each trial is judged against the trials
    /// before it at the same epoch, as Optuna's MedianPruner judges
    /// against the finished ones.
    #[test]
    fn median_rule_on_a_table_of_curves() {
        let rule = MedianRule {
            goal: Mode::Min,
            warmup: 2,
            startup: 2,
        };
        let curves: [&[f64]; 5] = [
            &[1.0, 0.8, 0.6, 0.5, 0.4],
            &[1.2, 1.0, 0.9, 0.8, 0.7],
            // Slow: 0.95 at epoch 3 against the median (0.6 + 0.9) / 2 = 0.75.
            &[1.1, 1.0, 0.95, 0.5, 0.1],
            // Fast: never behind.
            &[0.9, 0.7, 0.5, 0.4, 0.3],
            // Best-so-far counts: 0.6 at epoch 2 holds it through epoch 3
            // (median of 0.6, 0.9, 0.95, 0.5 = 0.75), not through epoch 4
            // (median of 0.5, 0.8, 0.4 = 0.5: trial 3 stopped at 3).
            &[0.7, 0.6, 0.9, 0.9, 0.9],
        ];
        let mut stopped: Vec<Option<usize>> = Vec::new();
        for (i, curve) in curves.iter().enumerate() {
            let mut at = None;
            for e in 1..=curve.len() {
                let earlier: Vec<f64> = (0..i)
                    .filter(|&j| stopped[j].is_none_or(|s| s >= e))
                    .map(|j| curves[j][e - 1])
                    .collect();
                if rule.prune(i, e, &curve[..e], &earlier) {
                    at = Some(e);
                    break;
                }
            }
            stopped.push(at);
        }
        assert_eq!(stopped, [None, None, Some(3), None, Some(4)]);
    }

    #[test]
    fn warmup_startup_goal_and_nan() {
        let rule = MedianRule {
            goal: Mode::Max,
            warmup: 1,
            startup: 1,
        };
        // Accuracy: 0.5 is below the median 0.7.
        assert!(rule.prune(1, 2, &[0.4, 0.5], &[0.7]));
        assert!(!rule.prune(1, 2, &[0.4, 0.7], &[0.7]), "equal is not worse");
        assert!(!rule.prune(1, 1, &[0.1], &[0.7]), "warm-up");
        assert!(!rule.prune(0, 2, &[0.1, 0.1], &[0.7]), "start-up trial");
        assert!(
            !rule.prune(1, 2, &[0.1, 0.1], &[]),
            "nobody to compare with"
        );
        assert!(
            !rule.prune(1, 2, &[0.1, 0.1], &[f64::NAN]),
            "only NaN to compare with"
        );
        assert!(
            rule.prune(1, 2, &[f64::NAN, f64::NAN], &[0.7]),
            "NaN is pruned"
        );
    }

    fn row(epoch: usize, v: f64) -> crate::records::EpochRow {
        crate::records::EpochRow {
            epoch,
            lr: 0.1,
            values: [("val_loss".to_string(), v)].into(),
        }
    }

    fn write_trial(dir: &Path, status: &str, values: &[f64]) {
        std::fs::create_dir_all(dir).unwrap();
        let yaml = format!("status: {status}\nexit_code: null\n");
        crate::records::atomic::write(&dir.join("run.yaml"), yaml.as_bytes()).unwrap();
        let mut h = History::new();
        for (i, v) in values.iter().enumerate() {
            h.push(row(i + 1, *v));
        }
        h.write_csv(&dir.join("train.csv")).unwrap();
    }

    /// The pruner reads earlier trials from their folders: a value where
    /// the epoch was trained, nothing from a trial that ended before it,
    /// and it waits for a trial still running until it has the epoch.
    #[test]
    fn the_pruner_reads_folders_and_waits_for_running_trials() {
        let tmp = tempfile::tempdir().unwrap();
        let t = |i: usize| tmp.path().join(format!("trial-{i:03}"));
        write_trial(&t(1), "completed", &[1.0, 0.8, 0.6]);
        write_trial(&t(2), "pruned", &[1.2, 1.1]);
        write_trial(&t(3), "running", &[1.1, 1.0]);
        let pruner = MedianPruner {
            rule: MedianRule {
                goal: Mode::Min,
                warmup: 0,
                startup: 0,
            },
            monitor: "val_loss".into(),
            trial: 3,
            earlier: vec![t(1), t(2), t(3)],
            peers: std::sync::Arc::new(Alone),
            quiet: true,
        };
        let stop = AtomicBool::new(false);
        let mut own = History::new();
        own.push(row(1, 1.05));
        own.push(row(2, 0.95));
        // Epoch 2: 0.8, 1.1, 1.0 → median 1.0; best 0.95 stays.
        assert_eq!(pruner.earlier_values(2, &stop).unwrap(), [0.8, 1.1, 1.0]);
        assert!(!pruner.prune(2, &own, &stop).unwrap());
        // Epoch 3: trial 3 is still running; it finishes epoch 3 at 1.5
        // while the pruner waits. Trial 2 stopped at 2: the median of 0.6
        // and 1.5 is 1.05, and 0.9 stays (without trial 3, 0.6 would
        // prune it).
        own.push(row(3, 0.9));
        let dir = t(3);
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            write_trial(&dir, "running", &[1.1, 1.0, 1.5]);
        });
        assert!(!pruner.prune(3, &own, &stop).unwrap());
        writer.join().unwrap();
        assert_eq!(pruner.earlier_values(3, &stop).unwrap(), [0.6, 1.5]);
        own.push(row(4, 0.95));
        write_trial(&t(1), "completed", &[1.0, 0.8, 0.6, 0.5]);
        write_trial(&t(3), "running", &[1.1, 1.0, 1.5, 0.8]);
        // Epoch 4: median(0.5, 0.8) = 0.65 < 0.9.
        assert!(pruner.prune(4, &own, &stop).unwrap());
        // An earlier trial that stopped without ending stops this one too.
        write_trial(&t(3), "interrupted", &[1.1, 1.0, 1.5, 0.8]);
        let err = pruner.earlier_values(5, &stop).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "stopped at the end of epoch 5: {} before it is interrupted and has not reached epoch 5, which pruning compares at",
                t(3).display()
            )
        );
        // Unless it is about to be resumed: then its value is awaited.
        let batch = std::sync::Arc::new(Batch::new(4));
        let waiting = MedianPruner {
            peers: batch.clone(),
            earlier: pruner.earlier.clone(),
            monitor: pruner.monitor.clone(),
            ..pruner
        };
        let dir = t(3);
        let resumed = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            write_trial(&dir, "interrupted", &[1.1, 1.0, 1.5, 0.8, 0.7]);
            batch.done(2);
        });
        assert_eq!(waiting.earlier_values(5, &stop).unwrap(), [0.7]);
        resumed.join().unwrap();
        // Once its run has returned, a stopped trial stops this one.
        assert!(waiting.earlier_values(6, &stop).is_err());
        let pruner = waiting;
        // Waiting ends with an interrupt.
        write_trial(&t(3), "running", &[1.1, 1.0, 1.5, 0.8]);
        stop.store(true, Ordering::SeqCst);
        let err = pruner.earlier_values(5, &stop).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("interrupted at the end of epoch 5"),
            "{err}"
        );
    }
}

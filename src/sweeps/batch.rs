//! Running a batch of runs — the seeds of a multi-seed run, the trials of
//! a sweep — `jobs` at a time, and telling how the batch ended: the one
//! executor both use.

use crate::error::{Error, Result};
use crate::run::RunOptions;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A batch of `count` runs in the folder `dir`, called `noun` in messages
/// ("seeds", "trials"); `label(i)` names run `i` (its folder).
pub(crate) struct Batch<'a> {
    pub dir: &'a Path,
    pub noun: &'a str,
    pub count: usize,
    pub label: &'a (dyn Fn(usize) -> String + Sync),
}

/// How a batch ended: the runs that finished, in order, and the first
/// error of those that did not.
pub(crate) struct Ended<T> {
    pub done: Vec<(usize, T)>,
    pub first_error: Option<Error>,
    /// "k of n seeds finished; continue with `dlp run --resume DIR`".
    pub hint: String,
    count: usize,
}

impl<T> Ended<T> {
    /// Every run, or the error that stops the batch: an interrupt (also
    /// when runs were never started) becomes one saying how to continue;
    /// another failure is returned after the hint is printed.
    pub(crate) fn complete(self) -> Result<Vec<(usize, T)>> {
        match self.first_error {
            Some(Error::Interrupted(_)) => Err(Error::Interrupted(self.hint)),
            Some(other) => {
                crate::terminal::errln!("{}", self.hint);
                Err(other)
            }
            None if self.done.len() < self.count => Err(Error::Interrupted(self.hint)),
            None => Ok(self.done),
        }
    }
}

impl Batch<'_> {
    /// Runs the batch, `run(i, opts)` for each run, `jobs` at a time (one
    /// line on stderr says how), and collects how it ended. A run's error
    /// is printed under its label as it is collected; an interrupt is not
    /// (the batch's hint says it).
    pub(crate) fn execute<T: Send>(
        &self,
        jobs: usize,
        opts: &RunOptions,
        run: &(dyn Fn(usize, &RunOptions) -> Result<T> + Sync),
    ) -> Result<Ended<T>> {
        let n = self.count;
        let (jobs, threads) = parallelism(n, jobs);
        // Concurrent progress bars would overwrite each other.
        let opts = RunOptions {
            quiet: opts.quiet || jobs > 1,
            ..opts.clone()
        };
        if !opts.quiet || jobs > 1 {
            crate::terminal::errln!(
                "{n} {} into {}: {jobs} at a time, {threads} thread{} each",
                self.noun,
                self.dir.display(),
                if threads == 1 { "" } else { "s" }
            );
        }
        let results = run_batch(n, jobs, &opts, self.label, run)?;
        let mut done = Vec::with_capacity(n);
        let mut first_error = None;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(t) => done.push((i, t)),
                Err(e) => {
                    if !matches!(e, Error::Interrupted(_)) {
                        crate::terminal::errln!("{}: {e}", (self.label)(i));
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        let hint = format!(
            "{} of {n} {} finished; continue with `dlp run --resume {}`",
            done.len(),
            self.noun,
            self.dir.display()
        );
        Ok(Ended {
            done,
            first_error,
            hint,
            count: n,
        })
    }
}

/// How many runs of a batch of `count` go at once, and on how many threads
/// each: `jobs` capped at the runs and at the cores, the cores split
/// evenly.
pub(crate) fn parallelism(count: usize, jobs: usize) -> (usize, usize) {
    let cores = rayon::current_num_threads().max(1);
    let jobs = jobs.clamp(1, count.max(1)).min(cores);
    (jobs, (cores / jobs).max(1))
}

/// Runs the `count` runs of a batch (the seeds of a multi-seed run, the
/// trials of a sweep), `jobs` at a time (see [`parallelism`]): with one
/// job in the process's pool, else each worker in its own pool of
/// ⌊cores / jobs⌋ threads. `run(i, opts)` runs or finishes run `i`;
/// `label(i)` names it in messages. The results come in order; once a run
/// is interrupted no further run starts, and those never started are left
/// out.
pub(crate) fn run_batch<T: Send>(
    count: usize,
    jobs: usize,
    opts: &RunOptions,
    label: &(dyn Fn(usize) -> String + Sync),
    run: &(dyn Fn(usize, &RunOptions) -> Result<T> + Sync),
) -> Result<Vec<Result<T>>> {
    let (jobs, threads) = parallelism(count, jobs);
    if jobs == 1 {
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let r = run(i, opts);
            let stop = matches!(r, Err(Error::Interrupted(_)));
            out.push(r);
            if stop {
                break;
            }
        }
        return Ok(out);
    }
    let next = AtomicUsize::new(0);
    let stop = crate::run::signals::stop_flag()?;
    let results: Arc<Mutex<Vec<Option<Result<T>>>>> =
        Arc::new(Mutex::new((0..count).map(|_| None).collect()));
    let pools: Vec<rayon::ThreadPool> = (0..jobs)
        .map(|_| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| Error::Runtime(format!("cannot start a thread pool: {e}")))
        })
        .collect::<Result<_>>()?;
    std::thread::scope(|s| {
        for pool in &pools {
            let (next, results, stop) = (&next, Arc::clone(&results), Arc::clone(&stop));
            s.spawn(move || {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= count {
                        break;
                    }
                    let r = pool.install(|| run(i, opts));
                    match &r {
                        Ok(_) => crate::terminal::errln!("{}: finished", label(i)),
                        // The others stop too (a test hook interrupts one
                        // run without a signal), and none starts.
                        Err(Error::Interrupted(_)) => stop.store(true, Ordering::SeqCst),
                        Err(_) => {}
                    }
                    let mut guard = results.lock().unwrap_or_else(|p| p.into_inner());
                    guard[i] = Some(r);
                }
            });
        }
    });
    let mut guard = results.lock().unwrap_or_else(|p| p.into_inner());
    // Runs never started (after an interrupt) are left out: the caller
    // counts them as unfinished.
    let mut out = Vec::with_capacity(count);
    for r in guard.iter_mut() {
        match r.take() {
            Some(r) => out.push(r),
            None => break,
        }
    }
    Ok(out)
}

//! `stages.csv`: how long each stage of a run took and how fast it went.
//!
//! This is the only file of a run folder with wall-clock columns; every
//! other file is a pure function of the pipeline, the seed, the device and
//! the thread count, so two runs can be compared byte for byte.

use super::atomic::{self, csv_num};
use crate::error::Result;
use std::path::Path;
use std::time::{Duration, Instant};

/// The file's name in a run folder.
pub(crate) const FILE: &str = "stages.csv";

/// One timed stage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StageTime {
    /// `load`, `preprocess`, `train`, `evaluate`, …
    pub stage: String,
    pub seconds: f64,
    /// Samples (or batches) the stage processed; 0 when not meaningful.
    pub items: u64,
}

impl StageTime {
    /// Items per second; 0 when nothing was counted or no time elapsed.
    pub(crate) fn items_per_second(&self) -> f64 {
        if self.items == 0 || self.seconds <= 0.0 {
            0.0
        } else {
            self.items as f64 / self.seconds
        }
    }
}

/// Collects stage timings in the order they ran.
#[derive(Debug, Clone, Default)]
pub(crate) struct StageTimer {
    pub stages: Vec<StageTime>,
}

impl StageTimer {
    pub(crate) fn new() -> StageTimer {
        StageTimer::default()
    }

    /// Records a stage measured elsewhere.
    pub(crate) fn record(&mut self, stage: &str, elapsed: Duration, items: u64) {
        self.stages.push(StageTime {
            stage: stage.to_string(),
            seconds: elapsed.as_secs_f64(),
            items,
        });
    }

    /// Runs `f` inside a tracing span named after the stage (so it shows
    /// in a `--trace` file) and records its duration. `items` is computed
    /// from the result, so a stage can count what it produced.
    pub(crate) fn time<T>(
        &mut self,
        stage: &str,
        f: impl FnOnce() -> T,
        items: impl FnOnce(&T) -> u64,
    ) -> T {
        let span = tracing::info_span!("stage", name = stage);
        let start = Instant::now();
        let out = span.in_scope(f);
        let n = items(&out);
        self.record(stage, start.elapsed(), n);
        out
    }

    /// Writes `stages.csv`: `stage,seconds,items,items_per_second`.
    pub(crate) fn write_csv(&self, path: &Path) -> Result<()> {
        let header = ["stage", "seconds", "items", "items_per_second"]
            .map(String::from)
            .to_vec();
        let rows: Vec<Vec<String>> = self
            .stages
            .iter()
            .map(|s| {
                vec![
                    s.stage.clone(),
                    csv_num(s.seconds),
                    s.items.to_string(),
                    csv_num(s.items_per_second()),
                ]
            })
            .collect();
        atomic::write_csv(path, &header, &rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_csv() {
        let mut t = StageTimer::new();
        t.record("train", Duration::from_millis(2500), 1000);
        t.record("plot", Duration::from_millis(10), 0);
        let n = t.time("count", || vec![1, 2, 3], |v| v.len() as u64);
        assert_eq!(n, vec![1, 2, 3]);
        assert_eq!(t.stages[0].items_per_second(), 400.0);
        assert_eq!(t.stages[1].items_per_second(), 0.0);
        assert_eq!(t.stages[2].items, 3);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("stages.csv");
        t.write_csv(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "stage,seconds,items,items_per_second");
        assert_eq!(lines[1], "train,2.5,1000,400");
        assert_eq!(lines[2], "plot,0.01,0,0");
        assert!(lines[3].starts_with("count,"));
    }
}

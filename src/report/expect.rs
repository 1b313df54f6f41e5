//! Checks `expect { METRIC OP NUMBER }` assertions against a run's final
//! metrics. `dlp run` exits 3 when any fails; each failure is one line that
//! points at the assertion in the pipeline, like a compiler error, so an
//! editor or CI log links straight to it.

use crate::plan::Expectation;
use crate::records::atomic::csv_num;
use std::collections::BTreeMap;
use std::path::Path;

/// Returns one message per failed assertion, in source order; empty when
/// all hold. A metric the run did not produce fails too (a typo in a
/// metric name must not pass silently), and so does a NaN value.
///
/// Format: `pipelines/blobs.dlp:22:12: expected test_accuracy >= 0.8, got 0.7650`.
pub(crate) fn check(
    expect: &[Expectation],
    metrics: &BTreeMap<String, f64>,
    pipeline: &Path,
) -> Vec<String> {
    let mut failures = Vec::new();
    for e in expect {
        let at = format!("{}:{}:{}", pipeline.display(), e.loc.line, e.loc.column);
        let wanted = format!("{} {} {}", e.metric, e.op.symbol(), csv_num(e.value));
        match metrics.get(&e.metric) {
            None => {
                let known: Vec<&str> = metrics.keys().map(String::as_str).collect();
                let have = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                failures.push(format!(
                    "{at}: expected {wanted}, but the run has no metric `{}` (it has: {have})",
                    e.metric
                ));
            }
            Some(&actual) if !e.op.holds(actual, e.value) => {
                failures.push(format!("{at}: expected {wanted}, got {}", shown(actual)));
            }
            Some(_) => {}
        }
    }
    failures
}

/// Four decimals, enough to see how far off a metric is; `nan`/`inf` as is.
fn shown(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        csv_num(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{CmpOp, Loc};

    fn exp(metric: &str, op: CmpOp, value: f64, line: usize, column: usize) -> Expectation {
        Expectation {
            metric: metric.into(),
            op,
            value,
            loc: Loc { line, column },
        }
    }

    #[test]
    fn messages_are_exact() {
        let metrics: BTreeMap<String, f64> = [
            ("test_accuracy".to_string(), 0.765),
            ("val_loss".to_string(), 0.69),
            ("test_f1".to_string(), f64::NAN),
        ]
        .into_iter()
        .collect();
        let expect = [
            exp("test_accuracy", CmpOp::Ge, 0.8, 22, 12),
            exp("val_loss", CmpOp::Lt, 0.7, 23, 12),
            exp("val_loss", CmpOp::Eq, 0.69, 24, 3),
            exp("test_f1", CmpOp::Gt, 0.5, 25, 3),
            exp("test_acuracy", CmpOp::Ge, 0.8, 26, 3),
            exp("val_loss", CmpOp::Le, 1e-7, 27, 3),
        ];
        let got = check(&expect, &metrics, Path::new("pipelines/blobs.dlp"));
        assert_eq!(
            got,
            [
                "pipelines/blobs.dlp:22:12: expected test_accuracy >= 0.8, got 0.7650",
                "pipelines/blobs.dlp:25:3: expected test_f1 > 0.5, got nan",
                "pipelines/blobs.dlp:26:3: expected test_acuracy >= 0.8, but the run has no metric `test_acuracy` (it has: test_accuracy, test_f1, val_loss)",
                "pipelines/blobs.dlp:27:3: expected val_loss <= 1e-7, got 0.6900",
            ]
        );
    }

    #[test]
    fn all_hold_gives_nothing() {
        let metrics: BTreeMap<String, f64> =
            [("test_accuracy".to_string(), 0.9)].into_iter().collect();
        let expect = [exp("test_accuracy", CmpOp::Ge, 0.9, 1, 1)];
        assert!(check(&expect, &metrics, Path::new("p.dlp")).is_empty());
    }
}

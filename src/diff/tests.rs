use super::render::result;
use super::*;
use crate::records::history::EpochRow;

fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn side(pairs: &[(&str, f64)]) -> Loaded {
    Loaded {
        values: map(pairs),
        ..Loaded::default()
    }
}

fn gate(args: &[&str]) -> Gate {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse_gate(&args, DEFAULT_ALPHA).unwrap()
}

fn row<'a>(c: &'a Comparison, metric: &str) -> &'a Row {
    c.rows.iter().find(|r| r.metric == metric).unwrap()
}

#[test]
fn tolerance_parsing() {
    let g = gate(&[
        "test_accuracy=-0.01",
        "val_loss=+5%",
        "loss = 0",
        "curve.val_loss=0.001",
        "latency=+3",
    ]);
    let tol = |amount, sign| Tol { amount, sign };
    assert_eq!(
        g.metrics["test_accuracy"],
        tol(Amount::Abs(0.01), Some(Mode::Max))
    );
    assert_eq!(
        g.metrics["val_loss"],
        tol(Amount::Rel(0.05), Some(Mode::Min))
    );
    assert_eq!(g.metrics["loss"], Tol::ZERO);
    // A name dlp does not know takes the direction from the sign.
    assert_eq!(g.metrics["latency"], tol(Amount::Abs(3.0), Some(Mode::Min)));
    assert_eq!(g.curves["val_loss"], 0.001);
    assert_eq!(g.metrics["test_accuracy"].to_string(), "-0.01");
    assert_eq!(g.metrics["val_loss"].to_string(), "+5%");
    let bad: &[(&str, &str)] = &[
        ("test_accuracy", "no `=`"),
        ("=0.1", "the metric name must be"),
        ("val-loss=0.1", "the metric name must be"),
        ("val_loss=abc", "`abc` is not a number"),
        ("val_loss=5 %%", "`5 %%` is not a number"),
        ("val_loss=--1", "a finite amount with at most one sign"),
        ("val_loss=inf", "a finite amount with at most one sign"),
        ("val_loss=%", "`%` is not a number"),
        (
            "test_accuracy=+0.01",
            "test_accuracy is better higher, so only a drop can regress it: write `test_accuracy=-0.01` or leave the sign out",
        ),
        (
            "val_loss=-5%",
            "val_loss is better lower, so only a rise can regress it: write `val_loss=+5%` or leave the sign out",
        ),
        ("curve.loss=5%", "an unsigned absolute number"),
        ("curve.loss=-0.1", "an unsigned absolute number"),
        ("curve.=0.1", "the metric name must be"),
    ];
    for (arg, want) in bad {
        let err = parse_gate(&[arg.to_string()], 0.05).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{arg}");
        let msg = err.to_string();
        assert!(msg.contains(want), "{arg}: {msg}");
        assert!(msg.starts_with(&format!("--tol `{arg}`: ")), "{msg}");
    }
    let err = parse_gate(&["a=1".into(), "a=-2%".into()], 0.05).unwrap_err();
    assert!(err.to_string().contains("`a` has a tolerance already"));
    for alpha in [0.0, 1.0, f64::NAN] {
        let err = parse_gate(&[], alpha).unwrap_err().to_string();
        assert!(err.contains("must lie between 0 and 1"), "{err}");
    }
}

#[test]
fn judge_table() {
    use Mode::{Max, Min};
    use Outcome::*;
    let nan = f64::NAN;
    type Case = (Option<f64>, Option<f64>, Mode, f64, Outcome);
    let t: &[Case] = &[
        (Some(0.82), Some(0.82), Max, 0.0, Same),
        (Some(0.82), Some(0.83), Max, 0.0, Better),
        (Some(0.82), Some(0.81), Max, 0.0, Regressed),
        // 0.82 - 0.81 is 0.010000000000000009: within 0.01 by the slack.
        (Some(0.82), Some(0.81), Max, 0.01, Worse),
        (Some(0.82), Some(0.80), Max, 0.01, Regressed),
        (Some(0.40), Some(0.41), Min, 0.02, Worse),
        (Some(0.40), Some(0.43), Min, 0.02, Regressed),
        (Some(0.40), Some(0.30), Min, 0.0, Better),
        (Some(0.40), Some(nan), Min, 1.0, Regressed),
        (Some(nan), Some(0.4), Min, 0.0, Better),
        (Some(nan), Some(nan), Min, 0.0, Same),
        (Some(0.4), Some(f64::INFINITY), Min, 1e9, Regressed),
        (Some(0.4), None, Min, 0.0, Missing),
        (None, Some(0.4), Min, 0.0, Added),
    ];
    for &(o, n, mode, allowance, want) in t {
        assert_eq!(
            judge(o, n, mode, allowance),
            want,
            "{o:?} -> {n:?} {mode:?} {allowance}"
        );
    }
}

/// No tolerance: every difference fails, an improvement too.
#[test]
fn exact_mode_fails_on_any_difference() {
    let old = side(&[("test_accuracy", 0.82), ("val_loss", 0.5), ("lr", 0.1)]);
    let same = compare(&old, &old, &Gate::default()).unwrap();
    assert_eq!(same.exit_code(), 0);
    assert_eq!(
        same.text(),
        "exact comparison (no --tol given): every metric and curve must be identical\n\
         metric         better  old   new   delta      result\n\
         test_accuracy  higher  0.82  0.82  0 (0.00%)  same\n\
         val_loss       lower   0.5   0.5   0 (0.00%)  same\n\
         no difference: 2 metrics identical\n"
    );
    let better = side(&[("test_accuracy", 0.83), ("val_loss", 0.5)]);
    let c = compare(&old, &better, &Gate::default()).unwrap();
    assert_eq!(c.exit_code(), 1);
    assert_eq!(c.failures(), ["test_accuracy"]);
    assert_eq!(result(row(&c, "test_accuracy"), true), "DIFFERS (better)");
    assert_eq!(
        c.verdict(),
        "1 of 2 differ (exact comparison: no --tol given): test_accuracy"
    );
    // `lr` is not a final metric (its curve is compared instead).
    assert!(c.rows.iter().all(|r| r.metric != "lr"));
}

/// With tolerances only the named metrics decide; the others are shown.
#[test]
fn gate_mode_only_named_metrics_decide() {
    let old = side(&[
        ("test_accuracy", 0.82),
        ("test_loss", 0.4),
        ("val_loss", 0.5),
    ]);
    let new = side(&[
        ("test_accuracy", 0.815),
        ("test_loss", 0.6),
        ("val_loss", 0.9),
    ]);
    let c = compare(&old, &new, &gate(&["test_accuracy=-0.01"])).unwrap();
    assert_eq!(c.exit_code(), 0, "{}", c.text());
    assert_eq!(
        c.text(),
        "gate: test_accuracy -0.01; 2 other metrics for information\n\
         metric         better  old   new    delta            tol    result\n\
         test_accuracy  higher  0.82  0.815  -0.005 (-0.61%)  -0.01  worse, within tolerance\n\
         test_loss      lower   0.4   0.6    +0.2 (+50.00%)   -      worse\n\
         val_loss       lower   0.5   0.9    +0.4 (+80.00%)   -      worse\n\
         no regression beyond tolerance (1 gated, 2 for information)\n"
    );
    // Gating test_loss too: it regressed, and it is listed first.
    let c = compare(
        &old,
        &new,
        &gate(&["test_accuracy=-0.01", "test_loss=+10%"]),
    )
    .unwrap();
    assert_eq!(c.exit_code(), 1);
    assert_eq!(c.rows[0].metric, "test_loss");
    assert_eq!(result(&c.rows[0], false), "REGRESSED");
    assert_eq!(
        c.verdict(),
        "1 metric regressed beyond tolerance: test_loss"
    );
    // A gated metric missing from the new side fails; an unnamed one does not.
    let gone = side(&[("test_loss", 0.4)]);
    let c = compare(&old, &gone, &gate(&["test_loss=0"])).unwrap();
    assert_eq!(c.exit_code(), 0);
    assert_eq!(result(row(&c, "val_loss"), false), "missing in new");
    let c = compare(&old, &gone, &gate(&["val_loss=0"])).unwrap();
    assert_eq!(c.failures(), ["val_loss"]);
    assert_eq!(result(row(&c, "val_loss"), false), "MISSING in new");
    // A gated metric the old side lacks cannot be judged: it fails.
    let c = compare(&gone, &old, &gate(&["val_loss=0"])).unwrap();
    assert_eq!(result(row(&c, "val_loss"), false), "NO OLD VALUE to gate");
    assert_eq!(c.exit_code(), 1);
    // A typo is a usage error naming what exists.
    let err = compare(&old, &new, &gate(&["test_acc=0.02"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--tol names `test_acc`, which neither side has (metrics: test_accuracy, test_loss, val_loss)"
    );
}

/// A sign sets the bad direction of a metric whose name does not tell it.
#[test]
fn signed_tolerances_set_the_direction() {
    let old = side(&[("latency", 10.0)]);
    let slower = side(&[("latency", 14.0)]);
    let faster = side(&[("latency", 4.0)]);
    // Unsigned, an unknown name is better higher: a rise is no regression.
    assert_eq!(
        compare(&old, &slower, &gate(&["latency=3"]))
            .unwrap()
            .exit_code(),
        0
    );
    let c = compare(&old, &slower, &gate(&["latency=+3"])).unwrap();
    assert_eq!((c.exit_code(), c.rows[0].mode), (1, Mode::Min));
    assert_eq!(
        compare(&old, &slower, &gate(&["latency=+40%"]))
            .unwrap()
            .exit_code(),
        0
    );
    assert_eq!(
        compare(&old, &faster, &gate(&["latency=+0"]))
            .unwrap()
            .exit_code(),
        0
    );
    assert_eq!(
        compare(&old, &faster, &gate(&["latency=-5"]))
            .unwrap()
            .exit_code(),
        1
    );
}

fn history(rows: &[(f64, f64, f64)]) -> History {
    let mut h = History::new();
    for (i, &(lr, loss, val_loss)) in rows.iter().enumerate() {
        h.push(EpochRow {
            epoch: i + 1,
            lr,
            values: map(&[("loss", loss), ("val_loss", val_loss)]),
        });
    }
    h
}

fn with_curves(h: History) -> Loaded {
    Loaded {
        values: h.last().map(|r| r.values.clone()).unwrap_or_default(),
        seeds: None,
        curves: Some(h),
    }
}

/// Curves: the largest deviation per column, `lr` included.
#[test]
fn curves_max_deviation_per_column() {
    let old = with_curves(history(&[
        (0.1, 1.0, 1.2),
        (0.1, 0.5, 0.9),
        (0.05, 0.3, 0.8),
    ]));
    let new = with_curves(history(&[
        (0.1, 1.0, 1.25),
        (0.1, 0.5, 0.8),
        (0.05, 0.3, 0.8),
    ]));
    let c = compare(&old, &new, &Gate::default()).unwrap();
    let cols: Vec<(&str, f64, Option<usize>, bool)> = c
        .curves
        .iter()
        .map(|r| (r.column.as_str(), r.max_dev, r.at_epoch, r.same))
        .collect();
    // |0.8 - 0.9| = 0.09999999999999998 in doubles, above |1.25 - 1.2|.
    assert_eq!(
        cols,
        [
            ("lr", 0.0, None, true),
            ("loss", 0.0, None, true),
            ("val_loss", (0.8f64 - 0.9).abs(), Some(2), false)
        ]
    );
    // Exact: the final values agree, but the curve differs: it fails.
    assert_eq!(c.failures(), ["curve.val_loss"]);
    // A gate on final metrics lists the curves as information.
    let c = compare(&old, &new, &gate(&["val_loss=0"])).unwrap();
    assert_eq!(c.exit_code(), 0);
    let c = compare(&old, &new, &gate(&["curve.val_loss=0.1"])).unwrap();
    assert_eq!(c.exit_code(), 0, "{}", c.text());
    let c = compare(&old, &new, &gate(&["curve.val_loss=0.05"])).unwrap();
    assert_eq!(c.failures(), ["curve.val_loss"]);
    assert!(
        c.text().contains(
            "val_loss           3       0.1              2         0.05  BEYOND TOLERANCE\n"
        ),
        "{}",
        c.text()
    );
    // A stop at another epoch: the lengths differ, the common epochs compare.
    let short = with_curves(history(&[(0.1, 1.0, 1.2), (0.1, 0.5, 0.9)]));
    let c = compare(&old, &short, &gate(&["curve.loss=0"])).unwrap();
    assert_eq!(c.exit_code(), 0);
    assert_eq!(epochs_of(&c, "loss"), (3, 2));
    let err = compare(&old, &new, &gate(&["curve.val_los=0.1"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--tol names `curve.val_los`, which neither train.csv has (columns: lr, loss, val_loss)"
    );
}

fn epochs_of(c: &Comparison, column: &str) -> (usize, usize) {
    let r = c.curves.iter().find(|r| r.column == column).unwrap();
    (r.epochs_old, r.epochs_new)
}

fn seeds(values: &[f64]) -> Loaded {
    let table = SeedTable {
        runs: (1..=values.len()).map(|i| format!("seed-{i:02}")).collect(),
        seeds: (1..=values.len() as u64).collect(),
        values: BTreeMap::from([("test_accuracy".to_string(), values.to_vec())]),
    };
    Loaded {
        values: map(&[("test_accuracy", Summary::of(values).mean)]),
        seeds: Some(table),
        curves: None,
    }
}

// Made-up seed tables; the p-values are SciPy's (the script is above
// `welch_matches_scipy` in src/report/stats.rs):
//   ttest_ind(a, b, equal_var=False).pvalue = 0.0011465920428410529
//   ttest_ind(a, c, equal_var=False).pvalue = 0.7180529421539324
const A: [f64; 5] = [0.84, 0.835, 0.845, 0.82, 0.83];
const B: [f64; 5] = [0.8, 0.815, 0.79, 0.805, 0.81];
const C: [f64; 7] = [0.84, 0.82, 0.85, 0.81, 0.845, 0.83, 0.825];

/// Between seeds a gated metric regresses only when beyond the tolerance
/// and significant.
#[test]
fn seeds_regress_only_beyond_tolerance_and_significant() {
    let (a, b, c) = (seeds(&A), seeds(&B), seeds(&C));
    // A → B: the mean drops 0.03 (0.834 → 0.804), p = 0.0011.
    let cmp = compare(&a, &b, &gate(&["test_accuracy=-0.01"])).unwrap();
    let r = row(&cmp, "test_accuracy");
    assert_eq!((r.outcome, r.fails), (Outcome::Regressed, true));
    let p = r.seeds.unwrap().p.unwrap();
    assert!((p - 0.0011465920428410529).abs() < 1e-12, "{p}");
    // A tolerance wider than the drop passes, significant or not.
    let cmp = compare(&a, &b, &gate(&["test_accuracy=-0.05"])).unwrap();
    assert_eq!(row(&cmp, "test_accuracy").outcome, Outcome::Worse);
    // A → C: the mean drops 0.0026, beyond 0.001, but p = 0.72: noise.
    let cmp = compare(&a, &c, &gate(&["test_accuracy=-0.001"])).unwrap();
    let r = row(&cmp, "test_accuracy");
    assert_eq!((r.outcome, r.fails), (Outcome::NotSignificant, false));
    assert_eq!(cmp.exit_code(), 0);
    // With α = 0.8 the same drop counts.
    let g = parse_gate(&["test_accuracy=-0.001".to_string()], 0.8).unwrap();
    assert_eq!(compare(&a, &c, &g).unwrap().exit_code(), 1);
    assert_eq!(
        cmp.text(),
        "gate: test_accuracy -0.001; 0 other metrics for information\n\
         seeds: 5 old, 7 new; values are mean ± sd over seeds, p is Welch's t-test (two-sided); \
         a gated metric regresses only when its mean moved beyond the tolerance and p < 0.05\n\
         metric         better  old (mean ± sd)     new (mean ± sd)      delta                 p      tol     result\n\
         test_accuracy  higher  0.834 ± 0.00961769  0.831429 ± 0.014351  -0.00257143 (-0.31%)  0.718  -0.001  worse beyond tolerance, not significant\n\
         no regression beyond tolerance (1 gated, 0 for information)\n"
    );
    // Exact mode compares seed by seed.
    assert_eq!(compare(&a, &a, &Gate::default()).unwrap().exit_code(), 0);
    let mut shuffled = A;
    shuffled.swap(0, 1);
    let cmp = compare(&a, &seeds(&shuffled), &Gate::default()).unwrap();
    assert_eq!(row(&cmp, "test_accuracy").outcome, Outcome::Differs);
    assert_eq!(cmp.exit_code(), 1);
    // A multi-seed side against a single run is refused.
    let err = compare(&a, &side(&[("test_accuracy", 0.8)]), &Gate::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the old side has several seeds"),
        "{err}"
    );
}

#[test]
fn markdown_puts_failures_first_and_folds_the_rest() {
    let old = side(&[
        ("test_accuracy", 0.82),
        ("test_loss", 0.4),
        ("val_loss", 0.5),
    ]);
    let new = side(&[
        ("test_accuracy", 0.8),
        ("test_loss", 0.41),
        ("val_loss", 0.5),
    ]);
    let c = compare(&old, &new, &gate(&["test_loss=+5%", "test_accuracy=-0.01"])).unwrap();
    assert_eq!(
        c.markdown("base", "runs/x"),
        "### dlp diff: ❌ fails\n\n\
         `base` → `runs/x`  \n\
         gate: test_accuracy -0.01, test_loss +5%; 1 other metric for information\n\n\
         | metric | better | old | new | delta | tol | result |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n\
         | `test_accuracy` | higher | 0.82 | 0.8 | -0.02 (-2.44%) | -0.01 | **REGRESSED** |\n\
         | `test_loss` | lower | 0.4 | 0.41 | +0.01 (+2.50%) | +5% | worse, within tolerance |\n\n\
         <details><summary>1 other metric for information, not gated</summary>\n\n\
         | metric | better | old | new | delta | tol | result |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n\
         | `val_loss` | lower | 0.5 | 0.5 | 0 (0.00%) | - | same |\n\n\
         </details>\n\n\
         **1 metric regressed beyond tolerance: test_accuracy**\n"
    );
}

#[test]
fn json_carries_every_figure() {
    let (a, c) = (seeds(&A), seeds(&C));
    let cmp = compare(&a, &c, &gate(&["test_accuracy=-0.001"])).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&cmp.json("a", "c")).unwrap();
    assert_eq!(doc["mode"], "gate");
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["alpha"], 0.05);
    assert_eq!(doc["seeds"], serde_json::json!({"old": 5, "new": 7}));
    let m = &doc["metrics"][0];
    assert_eq!(m["metric"], "test_accuracy");
    assert_eq!(m["better"], "higher");
    assert_eq!(m["result"], "not_significant");
    assert_eq!(m["tol"], serde_json::json!({"kind": "abs", "value": 0.001}));
    assert_eq!(m["tol_text"], "-0.001");
    assert_eq!(m["gated"], true);
    assert_eq!(m["fails"], false);
    let p = m["p"].as_f64().unwrap();
    assert!((p - 0.7180529421539324).abs() < 1e-9, "{p}");
    let sd = m["new_sd"].as_f64().unwrap();
    assert!((sd - 0.01435104111039964).abs() < 1e-12, "{sd}");
    // NaN becomes null rather than invalid JSON.
    let nan = compare(
        &side(&[("val_loss", 0.5)]),
        &side(&[("val_loss", f64::NAN)]),
        &Gate::default(),
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&nan.json("a", "b")).unwrap();
    assert_eq!(doc["metrics"][0]["new"], serde_json::Value::Null);
    assert_eq!(doc["failures"], serde_json::json!(["val_loss"]));
}

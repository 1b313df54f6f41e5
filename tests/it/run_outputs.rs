//! End-to-end runs: the book's blobs exercise, the run folder's files and
//! columns, determinism, `dlp eval`, expectations and divergence.

use crate::common::*;

#[test]
fn blobs_reproduces_the_book_exercise_and_writes_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = run(&[
        "run",
        "pipelines/blobs.dlp",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in [
        "pipeline.dlp",
        "run.yaml",
        "data.csv",
        "train.csv",
        "eval.csv",
        "confusion.csv",
        "stages.csv",
        "curves.png",
        "curves.svg",
        "confusion.png",
        "confusion.svg",
        "diagnosis.txt",
        "model.safetensors",
        "report.html",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // Labels and the split (file order) involve no floating point, so these counts
    // are exact anywhere: 800 train and 200 test samples. generator=numpy draws the
    // book's points, so they are scikit-learn's: np.bincount(y[:800]) = [263, 270,
    // 267], np.bincount(y[800:]) = [71, 63, 66] (script in tests/it/data/blobs.rs).
    assert_eq!(
        read(out.join("data.csv")),
        "split,class,count\ntrain,0,263\ntrain,1,270\ntrain,2,267\ntest,0,71\ntest,1,63\ntest,2,66\n"
    );
    let m = dlp::records::Manifest::read(&out).unwrap();
    let metric = |k: &str| -> f64 {
        *m.final_metrics
            .get(k)
            .unwrap_or_else(|| panic!("no {k} in run.yaml"))
    };
    // On the book's points the book gets 0.819 and scikit-learn's MLP(25) 0.845;
    // here 168 of 200 (0.84) on this machine, 0.84-0.85 over five seeds (README).
    // Allow one test point either way, not the 0.80 the pipeline's expect asks for.
    let acc = metric("test_accuracy");
    assert!((0.835..=0.845).contains(&acc), "test accuracy {acc}");
    // The clusters overlap: against their Bayes error (diagnose human_error
    // 0.17) the near-equal train and test errors read as a good fit.
    let diagnosis = read(out.join("diagnosis.txt"));
    assert!(diagnosis.contains("\nverdict: good fit: "), "{diagnosis}");
    // Early stopping: patience 50 on val_loss stops exactly 50 epochs after the best
    // one, train.csv has a row per epoch run, and restore_best hands the best epoch's
    // weights to the test split, which is the validation split here
    // (validate_on=test): the test figures are that epoch's validation figures.
    assert_eq!(m.status, dlp::records::Status::StoppedEarly);
    let (best, stop) = (m.best_epoch.unwrap(), m.stop_epoch.unwrap());
    assert_eq!(stop, best + 50);
    assert!(best > 50, "best epoch {best}");
    let train = read(out.join("train.csv"));
    assert!(
        train.starts_with(
            "epoch,lr,loss,accuracy,val_loss,val_accuracy,val_f1,val_precision,val_recall\n"
        ),
        "{train}"
    );
    assert_eq!(train.lines().count(), stop + 1);
    let row: Vec<&str> = train.lines().nth(best).unwrap().split(',').collect();
    assert_eq!(row[0], best.to_string());
    assert_eq!(row[1], "0.001");
    let cell = |i: usize| -> f64 { row[i].parse().unwrap() };
    assert_eq!((cell(4), cell(5)), (metric("test_loss"), acc), "{row:?}");
    assert_eq!(cell(6), metric("test_f1"));
    // The best val_loss is the minimum of the column.
    let min = train
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse::<f64>().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(min, cell(4));

    // eval.csv recomputed from confusion.csv (scikit-learn's definitions), and the
    // test metrics of run.yaml agree with both.
    let confusion = read(out.join("confusion.csv"));
    let c: Vec<Vec<f64>> = confusion
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(c.len(), 3, "{confusion}");
    let support: Vec<f64> = c.iter().map(|r| r.iter().sum()).collect();
    assert_eq!(support, [71.0, 63.0, 66.0], "{confusion}");
    let predicted: Vec<f64> = (0..3).map(|k| c.iter().map(|r| r[k]).sum()).collect();
    let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let eval = read(out.join("eval.csv"));
    let rows: Vec<Vec<&str>> = eval.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["class", "precision", "recall", "f1", "support"]);
    assert_eq!(rows.len(), 1 + 3 + 3, "{eval}");
    let close = |got: &str, want: f64| {
        let g: f64 = got.parse().unwrap();
        assert!((g - want).abs() < 1e-12, "{got} vs {want}\n{eval}");
    };
    let mut per = Vec::new();
    for k in 0..3 {
        let (p, r) = (ratio(c[k][k], predicted[k]), ratio(c[k][k], support[k]));
        let f = ratio(2.0 * c[k][k], support[k] + predicted[k]);
        let row = &rows[1 + k];
        assert_eq!(row[0], k.to_string());
        close(row[1], p);
        close(row[2], r);
        close(row[3], f);
        assert_eq!(row[4], support[k].to_string());
        close(&metric(&format!("test_precision_{k}")).to_string(), p);
        close(&metric(&format!("test_recall_{k}")).to_string(), r);
        close(&metric(&format!("test_f1_{k}")).to_string(), f);
        per.push((p, r, f));
    }
    let n = 200.0;
    let macro_avg = |i: usize| per.iter().map(|t| [t.0, t.1, t.2][i]).sum::<f64>() / 3.0;
    let weighted = |i: usize| {
        per.iter()
            .zip(&support)
            .map(|(t, s)| [t.0, t.1, t.2][i] * s)
            .sum::<f64>()
            / n
    };
    assert_eq!(rows[4][0], "macro_avg");
    assert_eq!(rows[5][0], "weighted_avg");
    for i in 0..3 {
        close(rows[4][1 + i], macro_avg(i));
        close(rows[5][1 + i], weighted(i));
    }
    close(&metric("test_f1").to_string(), macro_avg(2));
    close(&metric("test_f1_weighted").to_string(), weighted(2));
    let correct: f64 = (0..3).map(|k| c[k][k]).sum();
    assert_eq!(
        rows[6],
        ["accuracy", rows[6][1], rows[6][1], rows[6][1], "200"]
    );
    close(rows[6][1], correct / n);
    assert_eq!(acc, correct / n);
    let stages = read(out.join("stages.csv"));
    let names: Vec<&str> = stages
        .lines()
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "stage", "load", "train", "validate", "input", "save", "evaluate", "diagnose"
        ],
        "{stages}"
    );
    // Items: every epoch trained on the 800 training samples and validated
    // on the 200 of the test split (validate_on=test).
    assert_eq!(stage_items(&stages, "train"), stop * 800, "{stages}");
    assert_eq!(stage_items(&stages, "validate"), stop * 200, "{stages}");
    assert_eq!(stage_items(&stages, "input"), stop * 800, "{stages}");
    let png = image::open(out.join("curves.png")).expect("curves.png decodes");
    assert!(png.width() >= 800 && png.height() >= 400);
}

#[test]
fn same_seed_gives_byte_identical_csvs() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "small.dlp", &small_blobs(""));
    let outs: Vec<_> = (0..2).map(|i| tmp.path().join(format!("r{i}"))).collect();
    for out in &outs {
        let o = run_quiet(&p, out, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for f in [
        "train.csv",
        "eval.csv",
        "confusion.csv",
        "data.csv",
        "confusion.svg",
        "report.html",
    ] {
        assert_eq!(read(outs[0].join(f)), read(outs[1].join(f)), "{f} differs");
    }
    // A different seed changes the numbers.
    let other = tmp.path().join("other");
    let o = run(&[
        "run",
        p.to_str().unwrap(),
        "--quiet",
        "--set",
        "seed=8",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_ne!(
        read(outs[0].join("train.csv")),
        read(other.join("train.csv"))
    );
}

#[test]
fn eval_reproduces_the_test_metrics_from_saved_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "small.dlp", &small_blobs(""));
    let out = tmp.path().join("run");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let evald = tmp.path().join("eval");
    let weights = out.join("model.safetensors");
    let o = run(&[
        "eval",
        p.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--out",
        evald.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The pipeline's warnings, as `dlp run` and `dlp check` print them.
    assert!(
        stderr(&o).contains("warning: metrics accuracy changes nothing"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(out.join("eval.csv")), read(evald.join("eval.csv")));
    assert_eq!(
        read(out.join("confusion.csv")),
        read(evald.join("confusion.csv"))
    );
}

#[test]
fn a_failed_expectation_exits_3_and_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("") + "expect {\n  test_accuracy >= 1.5\n}\n";
    let p = write(tmp.path(), "e.dlp", &text);
    let out = tmp.path().join("run");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = text.lines().position(|l| l.contains(">= 1.5")).unwrap() + 1;
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "e.dlp:{line}:3: expected test_accuracy >= 1.5, got"
        )),
        "{err}"
    );
    // The run itself finished and its files are there.
    assert!(out.join("eval.csv").exists());
}

#[test]
fn divergence_stops_with_advice_and_keeps_the_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("").replace("optimizer adam lr=0.01", "optimizer sgd lr=1e30");
    let p = write(tmp.path(), "d.dlp", &text);
    let out = tmp.path().join("run");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("training diverged") && err.contains("Lower the learning rate"),
        "{err}"
    );
    let yaml = read(out.join("run.yaml"));
    assert!(yaml.contains("status: diverged"), "{yaml}");
    // The run ended (in its first epoch) before its report; `dlp report`
    // writes its page from what is there: the diverged status, no epoch,
    // no test results.
    assert!(!out.join("report.html").exists());
    let o = run(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = read(out.join("report.html"));
    assert!(page.contains("<span class=\"badge bad\">diverged</span>"));
    assert!(page.contains(
        "No test results: the run has no test split, or it ended before evaluating one."
    ));
    assert!(page.contains("No diagnosis.txt: the run ended before its report."));
    assert!(page.contains("No epoch finished: train.csv has no rows."));

    // In a sweep a diverged trial has ended: the others run, it ranks
    // last, and a resume keeps it.
    let text = text.replace("epochs 12", "epochs 2")
        + "sweep grid { train.optimizer.lr = [1e30, 0.01] }\n";
    let p = write(tmp.path(), "dsweep.dlp", &text);
    let out = tmp.path().join("sweep");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = read(out.join("sweep.csv"));
    let rows: Vec<Vec<&str>> = summary
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        rows[0][..8],
        ["1", "1e30", "diverged", "0", "", "", "2", "false"],
        "{summary}"
    );
    assert_eq!(rows[1][..4], ["2", "0.01", "completed", "2"], "{summary}");
    assert_eq!(rows[1][6..8], ["1", "true"], "{summary}");
    let o = run(&["run", "--resume", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read(out.join("sweep.csv")), summary);
}

#[test]
fn a_grid_sweep_runs_every_trial_into_its_folder_and_summarises() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("").replace("epochs 12", "epochs 2")
        + "sweep grid {\n  train.optimizer.lr = [0.01, 0.05]\n  train.batch = [16, 32]\n}\n";
    let p = write(tmp.path(), "sweep.dlp", &text);
    let out = tmp.path().join("sweep");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = read(out.join("sweep.csv"));
    let lines: Vec<&str> = summary.lines().collect();
    assert!(
        lines[0].starts_with("trial,train.optimizer.lr,train.batch,"),
        "{summary}"
    );
    assert_eq!(lines.len(), 5, "{summary}");
    assert!(
        lines[1].starts_with("1,0.01,16,") && lines[4].starts_with("4,0.05,32,"),
        "{summary}"
    );
    for i in 1..=4 {
        let dir = out.join(format!("trial-{i:03}"));
        assert!(dir.join("eval.csv").exists(), "trial {i}");
    }
    // `dlp status` of a sweep folder says what `dlp sweep status` says.
    let status = run(&["status", out.to_str().unwrap()]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(
        text.starts_with(&format!("{}: 4 trials: 4 done\n", out.display())),
        "{text}"
    );
    assert_eq!(
        text,
        stdout(&run(&["sweep", "status", out.to_str().unwrap()]))
    );
    // The trial's manifest holds the overridden values.
    let yaml = read(out.join("trial-004/run.yaml"));
    assert!(yaml.contains("lr: 0.05"), "{yaml}");

    // Each trial's score is its lowest val_loss (the monitor by default)
    // over the epochs of its train.csv; the best trial has the lowest.
    assert!(
        lines[0].starts_with(
            "trial,train.optimizer.lr,train.batch,status,epochs,best_epoch,best_val_loss,rank,best,loss,accuracy,val_loss,val_accuracy,"
        ),
        "{summary}"
    );
    let scores: Vec<(usize, f64)> = (1..=4)
        .map(|i| {
            let csv = read(out.join(format!("trial-{i:03}/train.csv")));
            let v = floats(&csv, "val_loss");
            let best = (0..v.len()).fold(0, |b, e| if v[e] < v[b] { e } else { b });
            (best + 1, v[best])
        })
        .collect();
    let mut ranked: Vec<usize> = (0..4).collect();
    ranked.sort_by(|&a, &b| scores[a].1.total_cmp(&scores[b].1));
    for (i, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let rank = ranked.iter().position(|&r| r == i).unwrap() + 1;
        assert_eq!(
            cells[3..9],
            [
                "completed".to_string(),
                "2".to_string(),
                scores[i].0.to_string(),
                scores[i].1.to_string(),
                rank.to_string(),
                (rank == 1).to_string()
            ],
            "{line}"
        );
    }
    // The console ends with the ranked table.
    // After each trial's own summary line.
    let table = stdout(&o);
    let rows: Vec<&str> = table.lines().skip(4).collect();
    assert!(
        table
            .lines()
            .take(4)
            .all(|l| l.starts_with("sweep: test_accuracy ")),
        "{table}"
    );
    assert_eq!(
        rows[0],
        "rank  trial  train.optimizer.lr  train.batch  status     epochs  best val_loss (epoch)"
    );
    let first = ranked[0];
    assert!(
        rows[1].starts_with(&format!("1     {}  ", first + 1)),
        "{table}"
    );
    assert!(
        rows[1].ends_with(&format!("({})  ← best", scores[first].0)),
        "{table}"
    );
    assert!(
        rows[5].starts_with(
            "sweep: 4 of 4 trials ended, ranked by their best val_loss (lowest first) → "
        ),
        "{table}"
    );
    for f in ["sweep.png", "sweep.svg", "sweep.yaml"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let png = image::open(out.join("sweep.png")).unwrap();
    assert_eq!((png.width(), png.height()), (1500, 650));
    let svg = read(out.join("sweep.svg"));
    for text in [
        "val_loss per epoch, one line per trial",
        "best val_loss by train.optimizer.lr",
        "1: lr=0.01, batch=16",
        "best: trial",
    ] {
        assert!(svg.contains(text), "{text} is not in the picture");
    }
    // The comparison page: written into the sweep folder, a curve per
    // trial in each chart, the swept values from sweep.csv against the
    // best val_loss, and what each trial changed.
    let o = run(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("{}\n", out.join("report.html").display())
    );
    let page = read(out.join("report.html"));
    for i in 1..=4 {
        let series = format!("<g class=\"series\" data-series=\"trial-00{i}\"");
        // Four curve charts and two scatter charts (lr, batch).
        assert_eq!(page.matches(&series).count(), 6, "trial {i}");
        assert!(page.contains(&format!(
            "<a href=\"trial-00{i}/report.html\">trial-00{i}</a>"
        )));
    }
    for text in [
        "the trials of a sweep over train.optimizer.lr, train.batch",
        "best val_loss by train.optimizer.lr",
        "<li><b>trial-002</b>: train.batch 16 → 32</li>",
        "<li><b>trial-004</b>: train.optimizer.lr 0.01 → 0.05, train.batch 16 → 32</li>",
    ] {
        assert!(page.contains(text), "{text}");
    }
    // Written again, the same bytes.
    let again = tmp.path().join("again.html");
    let o = run(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read(&again).replace("href=\"sweep/", "href=\""), page);
}

/// `dlp plan` lists the trials a sweep will run, with their values (and,
/// for random sweeps, their seeds), before any compute.
#[test]
fn plan_lists_the_trials_of_a_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&["plan", "pipelines/lr_sweep.dlp"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with(
            "\nsweep grid\n  ranked by monitor=val_loss (default) goal=min (default) prune=none (default)\n  \
             train.optimizer.lr = [1, 0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6]\n  \
             7 trials, each a run into its folder:\n    \
             trial-001  train.optimizer.lr=1\n    trial-002  train.optimizer.lr=0.1\n    \
             trial-003  train.optimizer.lr=0.01\n    trial-004  train.optimizer.lr=0.001\n    \
             trial-005  train.optimizer.lr=1e-4\n    trial-006  train.optimizer.lr=1e-5\n    \
             trial-007  train.optimizer.lr=1e-6\n"
        ),
        "{}",
        stdout(&o)
    );
    let text = small_blobs("early_stop monitor=val_accuracy")
        + "sweep random trials=2 seed=3 prune=median warmup=2 {\n  train.batch = [16, 32]\n}\n";
    let p = write(tmp.path(), "r.dlp", &text);
    let o = run(&["plan", p.to_str().unwrap()]);
    let seeds: Vec<u64> = (0..2)
        .map(|i| dlp::plan::trials::trial_seed(3, i))
        .collect();
    let plan = dlp::analyze::load(&p, &[]).unwrap();
    let trials = dlp::plan::trials::trials(plan.sweep.as_ref().unwrap()).unwrap();
    let batch = |i: usize| dlp::plan::trials::value_text(&trials[i][0].1);
    assert!(
        stdout(&o).ends_with(&format!(
            "\nsweep random trials=2 seed=3\n  ranked by monitor=val_accuracy (default) goal=max (default) prune=median warmup=2 startup=5 (default)\n  \
             train.batch = [16, 32]\n  2 trials, each a run into its folder:\n    \
             trial-001  train.batch={} seed={}\n    trial-002  train.batch={} seed={}\n",
            batch(0),
            seeds[0],
            batch(1),
            seeds[1]
        )),
        "{}",
        stdout(&o)
    );
}

#[test]
fn trace_writes_a_chrome_trace_with_the_stages() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "small.dlp",
        &small_blobs("").replace("epochs 12", "epochs 2"),
    );
    let trace = tmp.path().join("trace.json");
    let out = tmp.path().join("run");
    let o = run(&[
        "run",
        p.to_str().unwrap(),
        "--quiet",
        "--trace",
        trace.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = read(&trace);
    assert!(
        text.trim_start().starts_with('['),
        "not a Chrome trace: {}",
        &text[..text.len().min(200)]
    );
    for span in [
        "\"parse\"",
        "\"analyze\"",
        "\"epoch\"",
        "\"evaluate\"",
        "\"report\"",
        "\"preprocess\"",
    ] {
        assert!(text.contains(span), "no {span} span in the trace");
    }
}

#[test]
fn bench_prints_every_figure_in_the_reference_format() {
    // No timing is asserted: only that each figure is measured and printed
    // as benches/pytorch_reference.py prints its own.
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "small.dlp", &small_blobs(""));
    let o = run(&[
        "bench",
        p.to_str().unwrap(),
        "--reps",
        "1",
        "--steps",
        "1",
        "--infer-batch",
        "64",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: metrics confusion changes nothing"),
        "{}",
        stderr(&o)
    );
    let out = stdout(&o);
    for figure in [
        "train_img_per_s",
        "infer_img_per_s",
        "read_img_per_s",
        "batch_img_per_s",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(figure))
            .unwrap_or_else(|| panic!("no {figure} in {out}"));
        assert!(
            line.contains(" median=") && line.contains(" min=") && line.contains(" max="),
            "{line}"
        );
    }
    assert!(out.lines().any(|l| l.starts_with("peak_rss_mib ")), "{out}");
}

/// `dlp eval` with weights that make every sigmoid output exactly 0.5 (zero
/// kernel and bias): Keras' binary accuracy counts `p > 0.5` as class 1, so
/// every test row is predicted class 0 and the accuracy is the share of
/// class 0 (with `p >= 0.5` it was the share of class 1).
#[test]
fn a_sigmoid_output_of_exactly_one_half_is_predicted_class_zero() {
    use candle_core::{DType, Device, Tensor};
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "b.dlp",
        "seed 4\ndata {\n  source blobs samples=200 centers=2\n  split train=0.5 test=0.5\n}\n\
         model { dense 1 activation=sigmoid }\n\
         train {\n  loss binary_cross_entropy\n  epochs 1\n}\n",
    );
    let weights = tmp.path().join("zero.safetensors");
    let zeros = std::collections::HashMap::from([
        (
            "dense/kernel".to_string(),
            Tensor::zeros((2, 1), DType::F32, &Device::Cpu).unwrap(),
        ),
        (
            "dense/bias".to_string(),
            Tensor::zeros(1, DType::F32, &Device::Cpu).unwrap(),
        ),
    ]);
    candle_core::safetensors::save(&zeros, &weights).unwrap();
    let evald = tmp.path().join("eval");
    let o = run(&[
        "eval",
        p.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--out",
        evald.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let confusion = read(evald.join("confusion.csv"));
    let rows: Vec<Vec<u64>> = confusion
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{confusion}");
    // Nothing predicted as class 1; both classes occur in the truth.
    assert_eq!((rows[0][1], rows[1][1]), (0, 0), "{confusion}");
    let (zeros, ones) = (rows[0][0], rows[1][0]);
    assert!(zeros > 0 && ones > 0 && zeros + ones == 100, "{confusion}");
    let out = stdout(&o);
    let acc: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("test_accuracy "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no test_accuracy in {out}"));
    assert_eq!(acc, zeros as f64 / 100.0, "{out}");
}

/// The pipeline seeds of a sweep's trials, from each trial's `run.yaml`.
fn trial_seeds(sweep: &std::path::Path, trials: usize) -> Vec<u64> {
    (1..=trials)
        .map(|i| {
            let dir = sweep.join(format!("trial-{i:03}"));
            dlp::records::Manifest::read(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .plan
                .seed
        })
        .collect()
}

/// Column `name` of a CSV text, as strings.
/// The `items` of a stage's row in `stages.csv` (the row must be there).
fn stage_items(stages: &str, stage: &str) -> usize {
    let row = stages.lines().find(|l| l.split(',').next() == Some(stage));
    let items = row.and_then(|r| r.split(',').nth(2));
    items
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {stage} row in\n{stages}"))
}

fn column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let i = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {csv}"));
    lines
        .map(|l| l.split(',').nth(i).unwrap_or_default().to_string())
        .collect()
}

/// `sweep random` end to end. Each trial gets its own pipeline seed through
/// `--set seed=…`; those seeds once reached 2⁶³ and the analyzer rejected
/// them, stopping most sweeps part-way. Trial seeds and values follow
/// `sweep … seed=`, not the pipeline seed, and the same seed reproduces the
/// sweep.
#[test]
fn a_random_sweep_runs_for_any_seed_and_follows_its_own_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let base = small_blobs("").replace("epochs 12", "epochs 1");
    let axes = "  train.optimizer.lr = loguniform(1e-3, 1e-1)\n  train.batch = [16, 32]\n}\n";
    let seeded = write(
        tmp.path(),
        "s11.dlp",
        &format!("{base}sweep random trials=3 seed=11 {{\n{axes}"),
    );
    let sweep = |p: &std::path::Path, name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let o = run_quiet(p, &out, extra);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        out
    };
    let a = sweep(&seeded, "a", &[]);
    let summary = read(a.join("sweep.csv"));
    assert_eq!(summary.lines().count(), 4, "{summary}");
    let seeds = trial_seeds(&a, 3);
    assert!(
        seeds[0] != seeds[1] && seeds[1] != seeds[2] && seeds[0] != seeds[2],
        "{seeds:?}"
    );
    let lrs = column(&summary, "train.optimizer.lr");
    for lr in &lrs {
        let lr: f64 = lr.parse().unwrap();
        assert!((1e-3..=1e-1).contains(&lr), "{summary}");
    }
    // The trial ran with the drawn values: its manifest holds them.
    let m = dlp::records::Manifest::read(&a.join("trial-002")).unwrap();
    assert_eq!(format!("{:?}", m.plan.train.optimizer.lr()), lrs[1]);

    // Same sweep seed, another pipeline seed: same trial seeds and values,
    // and the same sweep.csv byte for byte as a rerun.
    let b = sweep(&seeded, "b", &["--set", "seed=8"]);
    assert_eq!(trial_seeds(&b, 3), seeds);
    assert_eq!(
        column(&read(b.join("sweep.csv")), "train.optimizer.lr"),
        lrs
    );
    let again = sweep(&seeded, "again", &[]);
    assert_eq!(read(again.join("sweep.csv")), summary);

    // Another sweep seed: other trial seeds and other values.
    let other = write(
        tmp.path(),
        "s12.dlp",
        &format!("{base}sweep random trials=3 seed=12 {{\n{axes}"),
    );
    let c = sweep(&other, "c", &[]);
    let other_seeds = trial_seeds(&c, 3);
    assert!(
        other_seeds.iter().all(|s| !seeds.contains(s)),
        "{other_seeds:?}"
    );
    assert_ne!(
        column(&read(c.join("sweep.csv")), "train.optimizer.lr"),
        lrs
    );

    // Without sweep seed= the trial seeds derive from the pipeline seed: every
    // pipeline seed completes (with 2 trials, 4 pipeline seeds once passed
    // together one time in 256).
    let unseeded = write(
        tmp.path(),
        "u.dlp",
        &format!("{base}sweep random trials=2 {{\n{axes}"),
    );
    let mut all = Vec::new();
    for s in 0..4 {
        let seed = format!("seed={s}");
        let d = sweep(&unseeded, &format!("u{s}"), &["--set", &seed]);
        all.extend(trial_seeds(&d, 2));
    }
    let unique: std::collections::BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "{all:?}");
}

/// `train seed=S` roots the training side's streams — shuffling, dropout
/// masks, augmentation — at S instead of the pipeline seed; the split and the
/// initial weights keep the pipeline seed, and statement seeds (`batch
/// seed=`, `dropout seed=`, `augment seed=`) still win. It changes
/// `train.csv`, and the same value reproduces it byte for byte.
#[test]
fn train_seed_drives_shuffling_dropout_and_augmentation() {
    use dlp::rng::{Stream, stream_seed};
    let plan = |text: &str| {
        dlp::analyze::analyze_source(text, std::path::Path::new("t.dlp"), &[])
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    };
    let base = small_blobs("");
    let seeded = base.replace("train {", "train seed=99 {");
    let (p0, p99) = (plan(&base), plan(&seeded));
    assert_eq!(p99.data.split.seed, p0.data.split.seed);
    assert_eq!(p99.model.init_seed, p0.model.init_seed);
    assert_eq!(p99.train.shuffle_seed, stream_seed(99, Stream::Shuffle));
    assert_eq!(p99.model.dropout_seed, stream_seed(99, Stream::Dropout));
    assert_eq!(p99.augment.seed, stream_seed(99, Stream::Augment));
    assert_ne!(p99.train.shuffle_seed, p0.train.shuffle_seed);
    // `train seed=` equal to the pipeline seed (7) changes nothing.
    assert_eq!(plan(&base.replace("train {", "train seed=7 {")), p0);
    // Statement seeds win over it.
    let p = plan(
        &seeded
            .replace("batch 16", "batch 16 seed=4")
            .replace("dropout 0.1", "dropout 0.1 seed=5"),
    );
    assert_eq!(p.train.shuffle_seed, 4);
    assert!(
        matches!(
            p.model.layers[1].layer,
            dlp::plan::Layer::Dropout { seed: Some(5), .. }
        ),
        "{:?}",
        p.model.layers[1]
    );

    let tmp = tempfile::tempdir().unwrap();
    let files = [("plain", &base), ("s99", &seeded), ("s99again", &seeded)];
    let mut csv = Vec::new();
    for (name, text) in files {
        let p = write(tmp.path(), &format!("{name}.dlp"), text);
        let out = tmp.path().join(name);
        let o = run_quiet(&p, &out, &[]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        // --quiet hides the plan's warnings (metrics accuracy, confusion).
        assert!(!stderr(&o).contains("warning:"), "{}", stderr(&o));
        csv.push(read(out.join("train.csv")));
    }
    assert_ne!(csv[0], csv[1], "train seed=99 changed nothing");
    assert_eq!(csv[1], csv[2], "train seed=99 does not reproduce");
}

/// Runs `text` as `name.dlp` into `dir/name` (quiet) and returns the run
/// folder and its manifest.
fn run_text(
    dir: &std::path::Path,
    name: &str,
    text: &str,
) -> (std::path::PathBuf, dlp::records::Manifest) {
    let p = write(dir, &format!("{name}.dlp"), text);
    let out = dir.join(name);
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    let m = dlp::records::Manifest::read(&out).unwrap();
    (out, m)
}

/// A float column of a CSV text.
fn floats(csv: &str, name: &str) -> Vec<f64> {
    column(csv, name)
        .iter()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: {v}")))
        .collect()
}

/// `class_weight [1, 1, 1e-6]` makes class 2's samples weigh nothing: nothing
/// pulls its output up, so the model stops predicting it, while the
/// unweighted run gets it right. `balanced` (scikit-learn's n/(k·count) from
/// the train split) changes the loss of this nearly balanced set only a little.
#[test]
fn class_weight_changes_what_the_model_learns() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = small_blobs("");
    let (_, a) = run_text(tmp.path(), "plain", &plain);
    let (_, b) = run_text(
        tmp.path(),
        "weighted",
        &small_blobs("class_weight [1, 1, 1e-6]"),
    );
    let recall = |m: &dlp::records::Manifest| m.final_metrics["test_recall_2"];
    assert!(
        recall(&a) > 0.9,
        "unweighted recall of class 2 {}",
        recall(&a)
    );
    assert!(
        recall(&b) < 0.2,
        "weighted recall of class 2 {}",
        recall(&b)
    );
    let (c, _) = run_text(
        tmp.path(),
        "balanced",
        &small_blobs("class_weight balanced"),
    );
    let first = |dir: &std::path::Path| floats(&read(dir.join("train.csv")), "loss")[0];
    let p = first(&tmp.path().join("plain"));
    let q = first(&c);
    assert!(
        p != q && (p - q).abs() < 0.05 * p,
        "loss {p} vs balanced {q}"
    );
}

/// `top_k=1` is the accuracy; `top_k=2` counts a sample when its class is one
/// of the two highest scores, so on a half-trained 3-class model it is above
/// the accuracy (and at most 1).
#[test]
fn top_k_is_reported_and_counts_the_k_best() {
    let tmp = tempfile::tempdir().unwrap();
    let weak = small_blobs("")
        .replace("epochs 12", "epochs 1")
        .replace("lr=0.01", "lr=0.001");
    let with = |k: usize| {
        weak.replace(
            "metrics accuracy precision recall f1 confusion",
            &format!("metrics f1 top_k={k}"),
        )
    };
    let (_, one) = run_text(tmp.path(), "k1", &with(1));
    let (_, two) = run_text(tmp.path(), "k2", &with(2));
    let m1 = &one.final_metrics;
    let m2 = &two.final_metrics;
    assert_eq!(m1["test_top_k"], m1["test_accuracy"]);
    assert_eq!(m2["test_accuracy"], m1["test_accuracy"]);
    assert!(m1["test_accuracy"] < 0.9, "{m1:?}");
    assert!(
        m2["test_top_k"] > m2["test_accuracy"] && m2["test_top_k"] <= 1.0,
        "{m2:?}"
    );
    // Without top_k there is no such metric.
    let (_, none) = run_text(tmp.path(), "none", &weak);
    assert!(!none.final_metrics.contains_key("test_top_k"));
}

/// 180 training samples in batches of 16: with `drop_last=true` each epoch
/// sees 11 full batches (176 samples), without it 12 (the last of 4), so
/// every epoch's training accuracy is a multiple of 1/176, resp. 1/180.
#[test]
fn drop_last_drops_the_partial_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let three = small_blobs("").replace("epochs 12", "epochs 3");
    let (full, _) = run_text(tmp.path(), "keep", &three);
    let (dropped, _) = run_text(
        tmp.path(),
        "drop",
        &three.replace("batch 16", "batch 16 drop_last=true"),
    );
    let whole = |x: f64| (x - x.round()).abs() < 1e-9;
    let acc = |dir: &std::path::Path| floats(&read(dir.join("train.csv")), "accuracy");
    let (a, b) = (acc(&full), acc(&dropped));
    assert_eq!((a.len(), b.len()), (3, 3));
    assert!(a.iter().all(|x| whole(x * 180.0)), "{a:?}");
    assert!(b.iter().all(|x| whole(x * 176.0)), "{b:?}");
    assert!(
        b.iter().any(|x| !whole(x * 180.0)),
        "every accuracy also fits 180 samples: {b:?}"
    );
}

/// `weights=last` evaluates the test split with the last epoch's weights even
/// when `restore_best` keeps the best ones (the default then). With
/// validate_on=test and patience 0 the run stops one epoch after its best, and
/// the test figures are that epoch's validation figures.
#[test]
fn weights_last_evaluates_the_last_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("early_stop monitor=val_loss min_delta=0.02 restore_best=true")
        .replace(
            "train=0.6 valid=0.2 test=0.2",
            "train=0.8 test=0.2 validate_on=test",
        )
        .replace("epochs 12", "epochs 40");
    let (best_dir, best) = run_text(tmp.path(), "best", &text);
    let (last_dir, last) = run_text(
        tmp.path(),
        "last",
        &text.replace("metrics accuracy", "metrics weights=last accuracy"),
    );
    assert_eq!(best.plan.evaluate.weights, dlp::plan::Weights::Best);
    assert_eq!(last.plan.evaluate.weights, dlp::plan::Weights::Last);
    // Training itself is the same run.
    let csv = read(best_dir.join("train.csv"));
    assert_eq!(csv, read(last_dir.join("train.csv")));
    assert_eq!(best.status, dlp::records::Status::StoppedEarly);
    let (b, s) = (best.best_epoch.unwrap(), best.stop_epoch.unwrap());
    assert_eq!(s, b + 1);
    let val = floats(&csv, "val_loss");
    assert_eq!(best.final_metrics["test_loss"], val[b - 1]);
    assert_eq!(last.final_metrics["test_loss"], val[s - 1]);
    assert_ne!(val[b - 1], val[s - 1]);
    assert_ne!(
        std::fs::read(best_dir.join("model.safetensors")).unwrap(),
        std::fs::read(last_dir.join("model.safetensors")).unwrap()
    );
}

/// `one_hot` changes nothing with cross_entropy (documented; `dlp check`
/// warns): the run's files are byte-identical with and without it.
#[test]
fn one_hot_with_cross_entropy_changes_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let three = small_blobs("").replace("epochs 12", "epochs 3");
    let (a, _) = run_text(tmp.path(), "plain", &three);
    let (b, _) = run_text(
        tmp.path(),
        "onehot",
        &three.replace("model {", "preprocess { one_hot }\nmodel {"),
    );
    for f in ["train.csv", "eval.csv", "confusion.csv", "data.csv"] {
        assert_eq!(read(a.join(f)), read(b.join(f)), "{f}");
    }
}

/// Writes 200 8×8 grey images whose class is the bright half: class 0 left,
/// class 1 right, over a little noise, as IDX files `img.idx`, `lab.idx`.
fn halves(dir: &std::path::Path) {
    let (n, side) = (200usize, 8usize);
    let mut pixels = Vec::with_capacity(n * side * side);
    let mut labels = Vec::with_capacity(n);
    let mut state = 12345u32;
    for i in 0..n {
        let class = i % 2;
        labels.push(class as u8);
        for _ in 0..side {
            for x in 0..side {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let noise = (state >> 16) % 60;
                let bright = (x < side / 2) == (class == 0);
                pixels.push((noise + if bright { 150 } else { 0 }) as u8);
            }
        }
    }
    dlp::data::synth::write_idx(&dir.join("img.idx"), &[n, side, side], &pixels, false).unwrap();
    dlp::data::synth::write_idx(&dir.join("lab.idx"), &[n], &labels, false).unwrap();
}

/// Augmentation inside a run. The class is which half of the image is bright,
/// so a horizontal flip (p = 0.5) turns half the training images into the
/// other class: the training accuracy falls to about chance, while without
/// augmentation it is near 1, and a vertical flip (which keeps the halves)
/// leaves it high but changes the numbers. The same augment seed reproduces
/// train.csv; another changes it.
#[test]
fn augmentation_applies_to_training_batches() {
    let tmp = tempfile::tempdir().unwrap();
    halves(tmp.path());
    let pipeline = |augment: &str| {
        format!(
            "seed 3\ndata {{\n  source idx images=\"img.idx\" labels=\"lab.idx\"\n  split train=0.8 test=0.2\n}}\n\
             preprocess {{ scale 1/255 }}\n{augment}\n\
             model {{\n  flatten\n  dense 2 activation=softmax\n}}\n\
             train {{\n  loss cross_entropy\n  optimizer adam lr=0.05\n  batch 16\n  epochs 6\n}}\n"
        )
    };
    let last_acc = |dir: &std::path::Path| {
        *floats(&read(dir.join("train.csv")), "accuracy")
            .last()
            .unwrap()
    };
    let (plain, _) = run_text(tmp.path(), "plain", &pipeline(""));
    let (hflip, _) = run_text(
        tmp.path(),
        "hflip",
        &pipeline("augment { flip horizontal }"),
    );
    let (vflip, _) = run_text(tmp.path(), "vflip", &pipeline("augment { flip vertical }"));
    assert!(last_acc(&plain) > 0.95, "{}", last_acc(&plain));
    assert!(last_acc(&hflip) < 0.7, "{}", last_acc(&hflip));
    assert!(last_acc(&vflip) > 0.95, "{}", last_acc(&vflip));
    let csv = |dir: &std::path::Path| read(dir.join("train.csv"));
    assert_ne!(csv(&plain), csv(&vflip));
    let (again, _) = run_text(tmp.path(), "again", &pipeline("augment { flip vertical }"));
    assert_eq!(csv(&again), csv(&vflip));
    let (other, _) = run_text(
        tmp.path(),
        "other",
        &pipeline("augment seed=5 { flip vertical }"),
    );
    assert_ne!(csv(&other), csv(&vflip));
}

/// `weights=best` with both `restore_best` and a best-only checkpoint on
/// different monitors: early stopping's restored epoch is what the test
/// split sees (Keras: `fit` returns the restored model), `best.safetensors`
/// keeps the checkpoint's own best, `dlp plan` says so and `run.yaml`
/// records the epoch. With validate_on=test the test figures equal the
/// chosen epoch's validation figures, which tells the two apart.
#[test]
fn restore_best_wins_over_a_best_only_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs(
        "early_stop monitor=val_loss patience=5 restore_best=true\n  checkpoint monitor=val_accuracy best_only=true",
    )
    .replace("std=1.5", "std=3")
    .replace(
        "train=0.6 valid=0.2 test=0.2",
        "train=0.8 test=0.2 validate_on=test",
    )
    .replace("epochs 12", "epochs 40");
    let p = write(tmp.path(), "both.dlp", &text);
    let o = run(&["plan", p.to_str().unwrap()]);
    assert!(
        stdout(&o).contains(
            "\n  the test split sees early stopping's best epoch by val_loss (restore_best=true); \
             it wins over checkpoint best_only, whose best epoch by val_accuracy is in best.safetensors\n"
        ),
        "{}",
        stdout(&o)
    );
    let (dir, m) = run_text(tmp.path(), "both", &text);
    let csv = read(dir.join("train.csv"));
    let (val_loss, val_acc) = (floats(&csv, "val_loss"), floats(&csv, "val_accuracy"));
    // The earliest minimum of val_loss and the earliest maximum of
    // val_accuracy (strict improvements, as both rules count them).
    let argbest = |v: &[f64], better: fn(f64, f64) -> bool| {
        (0..v.len()).fold(0, |b, i| if better(v[i], v[b]) { i } else { b }) + 1
    };
    let early = argbest(&val_loss, |a, b| a < b);
    let ckpt = argbest(&val_acc, |a, b| a > b);
    assert_ne!(early, ckpt, "the case needs two different best epochs");
    assert_eq!(m.best_epoch, Some(early));
    assert_eq!(m.test_epoch, Some(early));
    assert_eq!(m.final_metrics["test_loss"], val_loss[early - 1]);
    assert_eq!(m.final_metrics["test_accuracy"], val_acc[early - 1]);
    // best.safetensors holds the checkpoint's epoch: evaluated, it gives
    // that epoch's validation accuracy.
    let o = run(&[
        "eval",
        p.to_str().unwrap(),
        "--weights",
        dir.join("best.safetensors").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let accuracy = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("test_accuracy "))
        .map(|v| v.parse::<f64>().unwrap());
    assert_eq!(accuracy, Some(val_acc[ckpt - 1]));
}

/// `--executor slurm --dry-run` prints the two batch scripts, each after
/// the `sbatch` that would submit it, and writes nothing.
#[test]
fn slurm_dry_run_prints_the_batch_scripts() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("") + "sweep grid { train.optimizer.lr = [0.1, 0.01, 0.001] }\n";
    let p = write(tmp.path(), "lr.dlp", &text);
    let out = tmp.path().join("sweep");
    let cache = tmp.path().join("cache");
    let o = dlp()
        .env("DLP_DATA", &cache)
        .args([
            "run",
            p.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            "--executor",
            "slurm",
            "--partition",
            "gpu",
            "--gpus-per-trial",
            "1",
            "--cpus-per-trial",
            "4",
            "--time",
            "2:00:00",
            "--max-parallel",
            "2",
            "--sbatch-arg=--account=ml",
            "--sbatch-arg",
            "--qos=low",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!out.exists(), "a dry run wrote {}", out.display());
    let (d, dlp_bin, data) = (out.display(), env!("CARGO_BIN_EXE_dlp"), cache.display());
    assert_eq!(
        stdout(&o),
        format!(
            "# sbatch --parsable --array=1-3%2 {d}/slurm/trials.sbatch
#!/bin/bash
# The trials of the dlp sweep in {d}: array task I runs trial I
# into trial-NNN/, or resumes it from its resume file.
#SBATCH --job-name=dlp-lr
#SBATCH --array=1-3%2
#SBATCH --output={d}/slurm/trial-%a.out
#SBATCH --open-mode=append
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=4
#SBATCH --gres=gpu:1
#SBATCH --partition=gpu
#SBATCH --time=2:00:00
#SBATCH --account=ml
#SBATCH --qos=low
# One thread per CPU Slurm gave the task; the dataset cache filled at submission.
export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-1}}\"
export DLP_DATA='{data}'
exec '{dlp_bin}' run --resume '{d}' --trial \"$SLURM_ARRAY_TASK_ID\" --device cuda

# sbatch --parsable --dependency=afterany:<the array's job id> {d}/slurm/summary.sbatch
#!/bin/bash
# Writes sweep.csv and sweep.png of the dlp sweep in {d} once its
# trials have ended.
#SBATCH --job-name=dlp-lr-summary
#SBATCH --output={d}/slurm/summary.out
#SBATCH --open-mode=append
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --partition=gpu
#SBATCH --time=2:00:00
#SBATCH --account=ml
#SBATCH --qos=low
exec '{dlp_bin}' sweep summary '{d}'
"
        )
    );
}

/// Whether a Slurm cluster answers here, starting the single-node one of
/// `scripts/slurm-local.sh` when this process is root and Slurm is
/// installed (as in CI). With `DLP_REQUIRE_SLURM=1` (CI sets it) a cluster
/// that cannot be had fails the test instead of skipping it.
fn slurm_cluster() -> bool {
    let answers = || {
        std::process::Command::new("sinfo")
            .arg("-h")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let required = std::env::var("DLP_REQUIRE_SLURM").is_ok_and(|v| v == "1");
    if answers() {
        return true;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let why = if !root {
        "not root, so scripts/slurm-local.sh cannot start a cluster".to_string()
    } else {
        match std::process::Command::new("scripts/slurm-local.sh").output() {
            Ok(o) if o.status.success() && answers() => return true,
            Ok(o) => format!("scripts/slurm-local.sh failed: {}", stderr(&o)),
            Err(e) => format!("scripts/slurm-local.sh: {e}"),
        }
    };
    assert!(!required, "DLP_REQUIRE_SLURM=1 but no Slurm cluster: {why}");
    eprintln!("skipped: no Slurm cluster ({why})");
    false
}

/// The summary job's id in what `dlp run --executor slurm` or `dlp sweep
/// resume` printed.
fn summary_job(out: &str) -> String {
    out.split("and the summary as job ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no summary job in {out:?}"))
        .to_string()
}

/// Waits until Slurm says job `id` has ended.
fn wait_for_job(id: &str) {
    let start = std::time::Instant::now();
    loop {
        let o = std::process::Command::new("squeue")
            .args(["-h", "-t", "all", "-j", id, "-o", "%T"])
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !matches!(
            state.as_str(),
            "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING" | ""
        ) {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(180),
            "job {id} still {state:?} after 3 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// A pruned grid sweep submitted to a real Slurm as a job array: its tasks
/// interrupted part-way (a test hook every task inherits), `dlp sweep
/// status` says so, `dlp sweep summary` refuses to call it finished, and
/// `dlp sweep resume` resubmits them; each continues from its resume file,
/// and the summary job writes the `sweep.csv` (and trial files) that
/// `--jobs 1` writes here.
#[test]
fn a_sweep_on_slurm_writes_what_jobs_1_writes() {
    if !slurm_cluster() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("").replace("epochs 12", "epochs 8")
        + "sweep grid prune=median warmup=2 startup=1 {\n  train.optimizer.lr = [0.05, 1e-5]\n  train.batch = [16, 90]\n}\n";
    let p = write(tmp.path(), "sl.dlp", &text);
    let here = tmp.path().join("here");
    let o = run_quiet(&p, &here, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let out = tmp.path().join("slurm");
    let o = dlp()
        .args(["run", p.to_str().unwrap(), "--quiet", "--out"])
        .arg(&out)
        .args([
            "--executor",
            "slurm",
            "--max-parallel",
            "2",
            "--cpus-per-trial",
            "1",
        ])
        .env("DLP_INTERRUPT_AFTER_STEPS", "20")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = stdout(&o);
    assert!(
        first.starts_with(&format!(
            "submitted 4 trials of {} as Slurm job array ",
            out.display()
        )),
        "{first}"
    );
    wait_for_job(&summary_job(&first));
    // Trials 1 and 3 (batch 16) stop at step 20, in epoch 2; trials 2 and
    // 4 reach epoch 3, where pruning needs the trials before them, and
    // stop too, to be resumed with them.
    let o = run(&["sweep", "status", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let status = stdout(&o);
    assert!(
        status.starts_with(&format!("{}: 4 trials: 4 failed\n", out.display())),
        "{status}"
    );
    assert!(
        status.ends_with(&format!(
            "continue the failed trials with `dlp sweep resume {}`\n",
            out.display()
        )),
        "{status}"
    );
    let o = run(&["sweep", "summary", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).ends_with(&format!(
            "error: 4 trials have not ended (1, 2, 3, 4): continue with `dlp sweep resume {}`\n",
            out.display()
        )),
        "{}",
        stderr(&o)
    );

    let o = run(&["sweep", "resume", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    wait_for_job(&summary_job(&stdout(&o)));
    assert_eq!(read(out.join("sweep.csv")), read(here.join("sweep.csv")));
    for t in ["trial-001", "trial-002", "trial-003", "trial-004"] {
        for f in ["train.csv", "eval.csv", "confusion.csv"] {
            assert_eq!(
                read(out.join(t).join(f)),
                read(here.join(t).join(f)),
                "{t}/{f}"
            );
        }
    }
    let o = run(&["sweep", "status", out.to_str().unwrap()]);
    assert!(
        stdout(&o).starts_with(&format!("{}: 4 trials: 1 done, 3 pruned\n", out.display())),
        "{}",
        stdout(&o)
    );
    let summary_log = read(out.join("slurm/summary.out"));
    assert!(summary_log.contains("← best"), "{summary_log}");
}

/// The confusion matrix of `predictions.csv`, the true class of an input
/// being its folder (`…/<class>/<file>`), in `confusion.csv`'s layout; and
/// the accuracy.
fn confusion_of_predictions(csv: &str, classes: &[&str]) -> (String, f64) {
    let mut counts = vec![vec![0u64; classes.len()]; classes.len()];
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    for r in reader.records() {
        let r = r.unwrap();
        let truth = std::path::Path::new(&r[0])
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap()
            .to_string();
        let t = classes.iter().position(|c| *c == truth).unwrap();
        let p = classes.iter().position(|c| *c == &r[1]).unwrap();
        counts[t][p] += 1;
    }
    let mut text = format!("true\\predicted,{}\n", classes.join(","));
    for (c, row) in classes.iter().zip(&counts) {
        let cells: Vec<String> = row.iter().map(u64::to_string).collect();
        text.push_str(&format!("{c},{}\n", cells.join(",")));
    }
    let correct: u64 = (0..classes.len()).map(|i| counts[i][i]).sum();
    let total: u64 = counts.iter().flatten().sum();
    (text, correct as f64 / total as f64)
}

/// `eval.csv`'s accuracy row, as written.
fn eval_accuracy(eval: &str) -> String {
    eval.lines()
        .find_map(|l| l.strip_prefix("accuracy,"))
        .and_then(|l| l.split(',').next())
        .unwrap_or_else(|| panic!("no accuracy row in {eval}"))
        .to_string()
}

/// `dlp predict` on the official test folder of an image run, with the
/// run's normalisation statistics, gives back `eval.csv`'s accuracy and
/// `confusion.csv` exactly (300 images: two evaluation batches). The run
/// also wrote its page, the confusion heatmap and the misclassified strip,
/// and `dlp report` rebuilds the page byte for byte.
#[test]
fn predict_on_the_test_images_reproduces_eval_and_confusion() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("imgs");
    colour_folder(&root, 60, 100);
    let p = write(
        tmp.path(),
        "colours.dlp",
        "seed 5\ndata {\n  source images \"imgs/\"\n  split train=0.8 valid=0.2 test=official\n}\n\
         preprocess { normalize mean_std per_channel }\n\
         model {\n  flatten\n  dense 8 activation=relu\n  dense 3 activation=softmax\n}\n\
         train {\n  loss cross_entropy\n  optimizer adam lr=0.003\n  batch 32\n  epochs 3\n}\n",
    );
    let out = tmp.path().join("run");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let preds = tmp.path().join("predictions.csv");
    let test = root.join("test");
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        test.to_str().unwrap(),
        "--out",
        preds.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = read(&preds);
    assert!(
        text.starts_with("input,class,probability,class_2,probability_2,class_3,probability_3\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 301);
    let (confusion, accuracy) = confusion_of_predictions(&text, &["blue", "green", "red"]);
    assert_eq!(confusion, read(out.join("confusion.csv")));
    let eval = read(out.join("eval.csv"));
    assert_eq!(dlp::records::csv_num(accuracy), eval_accuracy(&eval));
    assert!(accuracy < 1.0, "the test wants some mistakes: {confusion}");
    // Printed when there is no --out: the same text.
    let o = run(&["predict", out.to_str().unwrap(), test.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), text);

    // The page and its pictures.
    for f in ["report.html", "confusion.png", "confusion.svg"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let mis = read(out.join("misclassified.csv"));
    let rows: Vec<&str> = mis.lines().skip(1).collect();
    let wrong = 300 - (accuracy * 300.0).round() as usize;
    assert_eq!(rows.len(), wrong.min(12), "{mis}");
    let strip = image::open(out.join("misclassified.png")).unwrap();
    assert_eq!((strip.width(), strip.height()), (8 * rows.len() as u32, 8));
    // Each listed image is misclassified as listed: its prediction row says so.
    for r in &rows {
        let cells: Vec<&str> = r.split(',').collect();
        let index: usize = cells[0].parse().unwrap();
        let (class, file) = (cells[1], index % 100);
        let input = test.join(class).join(format!("{file:03}.png"));
        // `source` names the file, as predictions.csv names the input.
        assert_eq!(cells[4], input.display().to_string());
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{},", input.display())))
            .unwrap();
        assert!(
            line.contains(&format!(",{},{},", cells[2], cells[3])),
            "{line} vs {r}"
        );
    }
    let page = tmp.path().join("again.html");
    let o = run(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read(&page).unwrap() == std::fs::read(out.join("report.html")).unwrap());
}

fn idx(path: &std::path::Path, dims: &[u32], data: &[u8]) {
    let mut bytes = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

/// The same for an IDX source with a load-time `resize` and a `scale`:
/// predicting the test images file reproduces the test results; `--weights
/// last` is `model.safetensors` here (the last epoch was tested), and
/// `--weights best` is refused with what the run kept.
#[test]
fn predict_on_the_test_idx_file_reproduces_eval_and_confusion() {
    let tmp = tempfile::tempdir().unwrap();
    let (n, m) = (240u32, 90u32);
    let make = |count: u32, offset: u64| -> (Vec<u8>, Vec<u8>) {
        let mut px = Vec::new();
        let mut labels = Vec::new();
        for i in 0..count {
            let class = (i % 3) as u8;
            labels.push(class);
            for j in 0..100u64 {
                let bright = (j % 3) as u8 == class;
                let base: u8 = if bright { 120 } else { 60 };
                px.push(base.saturating_add(noise(offset + u64::from(i), j) / 2));
            }
        }
        (px, labels)
    };
    let (train, train_labels) = make(n, 0);
    let (test, test_labels) = make(m, 10_000);
    idx(&tmp.path().join("train-images"), &[n, 10, 10], &train);
    idx(&tmp.path().join("train-labels"), &[n], &train_labels);
    idx(&tmp.path().join("test-images"), &[m, 10, 10], &test);
    idx(&tmp.path().join("test-labels"), &[m], &test_labels);
    let p = write(
        tmp.path(),
        "idx.dlp",
        "seed 2\ndata {\n  source idx images=\"train-images\" labels=\"train-labels\" test_images=\"test-images\" test_labels=\"test-labels\"\n  split train=0.9 valid=0.1 test=official\n}\n\
         preprocess { resize 6 6; scale 1/255 }\n\
         model {\n  flatten\n  dense 3 activation=softmax\n}\n\
         train {\n  loss cross_entropy\n  optimizer adam lr=0.02\n  batch 300\n  epochs 4\n}\n",
    );
    let out = tmp.path().join("run");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let test_file = tmp.path().join("test-images");
    for weights in [&[][..], &["--weights", "last"][..]] {
        let mut args = vec![
            "predict",
            out.to_str().unwrap(),
            test_file.to_str().unwrap(),
        ];
        args.extend_from_slice(weights);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        let mut counts = vec![vec![0u64; 3]; 3];
        for (i, line) in text.lines().skip(1).enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[0], format!("{}[{i}]", test_file.display()));
            let p: usize = cells[1].parse().unwrap();
            counts[test_labels[i] as usize][p] += 1;
        }
        let rows: Vec<String> = (0..3)
            .map(|t| format!("{t},{},{},{}\n", counts[t][0], counts[t][1], counts[t][2]))
            .collect();
        assert_eq!(
            format!("true\\predicted,0,1,2\n{}", rows.concat()),
            read(out.join("confusion.csv"))
        );
        let correct: u64 = (0..3).map(|i| counts[i][i]).sum();
        assert_eq!(
            dlp::records::csv_num(correct as f64 / f64::from(m)),
            eval_accuracy(&read(out.join("eval.csv")))
        );
    }
    let o = run(&[
        "predict",
        out.to_str().unwrap(),
        test_file.to_str().unwrap(),
        "--weights",
        "best",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: the run kept no best weights: there is no best.safetensors, and model.safetensors holds epoch 4\n",
            out.display()
        )
    );
}

/// `dlp predict` on a CIFAR-10 batch file (`test_batch.bin`) of a run with
/// a load-time `grayscale`: the predictions, against the labels in the
/// file, give the run's `confusion.csv` and accuracy exactly.
#[test]
fn predict_on_the_cifar_test_batch_reproduces_eval_and_confusion() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    dlp::data::synth::write_cifar10(&cache.join("cifar10"), 300, 150, 3).unwrap();
    let p = write(
        tmp.path(),
        "c.dlp",
        "seed 4\ndata {\n  source cifar10\n  split train=270 valid=30 test=official\n}\n\
         preprocess { grayscale; normalize mean_std }\n\
         model {\n  flatten\n  dense 10 activation=softmax\n}\n\
         train {\n  loss cross_entropy\n  optimizer adam lr=0.003\n  batch 64\n  epochs 2\n}\n",
    );
    let out = tmp.path().join("run");
    let o = dlp()
        .args(["run", p.to_str().unwrap(), "--quiet", "--out"])
        .arg(&out)
        .env("DLP_DATA", &cache)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let batch = cache.join("cifar10/cifar-10-batches-bin/test_batch.bin");
    let o = run(&["predict", out.to_str().unwrap(), batch.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let labels: Vec<usize> = std::fs::read(&batch)
        .unwrap()
        .chunks(3073)
        .map(|r| usize::from(r[0]))
        .collect();
    let classes = dlp::data::synth::CIFAR10_CLASSES;
    let mut counts = [[0u64; 10]; 10];
    let text = stdout(&o);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 150);
    for (i, line) in rows.iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], format!("{}[{i}]", batch.display()));
        let p = classes.iter().position(|c| *c == cells[1]).unwrap();
        counts[labels[i]][p] += 1;
    }
    let mut confusion = format!("true\\predicted,{}\n", classes.join(","));
    for (c, row) in classes.iter().zip(&counts) {
        let cells: Vec<String> = row.iter().map(u64::to_string).collect();
        confusion.push_str(&format!("{c},{}\n", cells.join(",")));
    }
    assert_eq!(confusion, read(out.join("confusion.csv")));
    let correct: u64 = (0..10).map(|i| counts[i][i]).sum();
    assert_eq!(
        dlp::records::csv_num(correct as f64 / 150.0),
        eval_accuracy(&read(out.join("eval.csv")))
    );
}

/// The diagnosis' validation error is that of the weights the test split
/// saw: with `restore_best` the best epoch's `val_accuracy`, taken from its
/// row instead of a second pass (so the `diagnose` stage passes over the
/// train split only).
#[test]
fn the_diagnosis_reads_the_validation_error_of_the_evaluated_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("early_stop monitor=val_loss patience=4 restore_best=true")
        .replace("std=1.5", "std=3")
        .replace("epochs 12", "epochs 40");
    let (dir, m) = run_text(tmp.path(), "diag", &text);
    let csv = read(dir.join("train.csv"));
    let val_acc = floats(&csv, "val_accuracy");
    let epoch = m.test_epoch.expect("an evaluated epoch");
    assert_ne!(epoch, val_acc.len(), "the case needs a restored epoch");
    assert_ne!(val_acc[epoch - 1], val_acc[val_acc.len() - 1]);
    let expected = format!("{:.2}", (1.0 - val_acc[epoch - 1]) * 100.0);
    let diagnosis = read(dir.join("diagnosis.txt"));
    let line = diagnosis
        .lines()
        .find(|l| l.starts_with("validation error"));
    let words: Vec<&str> = line.unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        words,
        ["validation", "error", &expected, "%"],
        "{diagnosis}"
    );
    let stages = read(dir.join("stages.csv"));
    assert_eq!(stage_items(&stages, "diagnose"), 180, "{stages}");
}

//! The book's blobs exercise end to end: every file of the run folder and
//! its columns, determinism, and `dlp eval` from the saved weights.

use super::stage_items;
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
    // Pinned to dlp's own output: 168 of 200 (0.84) when this was written,
    // 0.84-0.85 over five seeds (README); one test point either way is
    // allowed, not the 0.80 the pipeline's expect asks for. This band
    // catches a change in dlp's numbers; it is not evidence that they are
    // right. That comes from two independent references on the same points:
    let acc = metric("test_accuracy");
    assert!((0.835..=0.845).contains(&acc), "test accuracy {acc}");
    // 1. The Bayes rule (the nearest true center; the clusters share one
    //    std), computed here from the generator's centers: 169 of 200
    //    (0.845), the best any classifier can expect; a trained model may
    //    beat it on 200 points by luck, but not by more than a point or two.
    let (x, y, centers) = dlp::data::blobs::make_blobs_numpy(1000, 3, 2, 2.0, 2).unwrap();
    let nearest = |p: &[f64]| {
        (0..3)
            .min_by(|&a, &b| {
                let d = |k: usize| (0..2).map(|j| (p[j] - centers[k][j]).powi(2)).sum::<f64>();
                d(a).total_cmp(&d(b))
            })
            .unwrap()
    };
    let bayes = (800..1000)
        .filter(|&i| nearest(&x[i * 2..i * 2 + 2]) == y[i] as usize)
        .count();
    assert_eq!(bayes, 169);
    assert!(
        acc <= 171.0 / 200.0,
        "test accuracy {acc} beats the Bayes rule's 0.845"
    );
    // 2. scikit-learn's MLP with the pipeline's hidden layer on the same
    //    points (scikit-learn 1.9.1, numpy 2.4.6):
    //        X, y, c = make_blobs(n_samples=1000, centers=3, n_features=2,
    //                             cluster_std=2, random_state=2, return_centers=True)
    //        for seed in range(10):
    //            m = MLPClassifier(hidden_layer_sizes=(25,), max_iter=2000,
    //                              random_state=seed).fit(X[:800], y[:800])
    //            print(m.score(X[800:], y[800:]))
    //    gives 0.85 0.845 0.84 0.845 0.84 0.835 0.85 0.845 0.84 0.835; dlp
    //    must land in that band, 0.835-0.85.
    assert!(
        (0.835..=0.85).contains(&acc),
        "test accuracy {acc} outside scikit-learn's band"
    );
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

    // The figures and the weights decode, and say what the CSVs say.
    // curves.svg: XML, the PNG's size, both charts with their series.
    let texts = |svg: &roxmltree::Document| -> Vec<String> {
        svg.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or("").trim().to_string())
            .collect()
    };
    let size = |svg: &roxmltree::Document| -> (u32, u32) {
        let root = svg.root_element();
        assert!(root.has_tag_name("svg"));
        let attr = |a: &str| root.attribute(a).unwrap().parse().unwrap();
        (attr("width"), attr("height"))
    };
    let text = read(out.join("curves.svg"));
    let curves = roxmltree::Document::parse(&text).expect("curves.svg is XML");
    assert_eq!(size(&curves), (png.width(), png.height()));
    let words = texts(&curves);
    for w in ["Loss", "Accuracy", "train", "validation", "epoch"] {
        assert!(
            words.iter().any(|t| t == w),
            "curves.svg lacks {w}: {words:?}"
        );
    }
    // confusion.svg: XML, the PNG's size, every count of confusion.csv.
    let text = read(out.join("confusion.svg"));
    let matrix = roxmltree::Document::parse(&text).expect("confusion.svg is XML");
    let png = image::open(out.join("confusion.png")).expect("confusion.png decodes");
    assert_eq!(size(&matrix), (png.width(), png.height()));
    let words = texts(&matrix);
    let counts: Vec<String> = words
        .iter()
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()))
        .cloned()
        .collect();
    for row in &c {
        for v in row {
            assert!(
                counts.contains(&v.to_string()),
                "confusion.svg lacks {v}: {words:?}"
            );
        }
    }
    // model.safetensors: the two dense layers' tensors, of the plan's shapes
    // (2 features → 25 → 3 classes).
    let weights =
        candle_core::safetensors::load(out.join("model.safetensors"), &candle_core::Device::Cpu)
            .expect("model.safetensors parses");
    let mut shapes: Vec<(String, Vec<usize>)> = weights
        .iter()
        .map(|(k, t)| (k.clone(), t.dims().to_vec()))
        .collect();
    shapes.sort();
    assert_eq!(
        shapes,
        [
            ("dense/bias".to_string(), vec![25]),
            ("dense/kernel".to_string(), vec![2, 25]),
            ("dense_1/bias".to_string(), vec![3]),
            ("dense_1/kernel".to_string(), vec![25, 3]),
        ]
    );
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

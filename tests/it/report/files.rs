//! The files of a run folder on their own: atomic writes, `train.csv`,
//! the learning curves, `data.csv`, the trace file; and the report pages
//! in a real browser.

use crate::common::{self, browser, in_child, run_in_child};

use dlp::records::{EpochRow, History, atomic};
use dlp::report::{Marks, curves};
use dlp::terminal::trace;
use std::collections::BTreeMap;
use std::path::Path;

/// A learning-curve shaped history: training loss falling as 1/(1+e/5),
/// validation loss bottoming out at epoch 12 and rising after (overfitting).
fn overfitting_history(epochs: usize) -> History {
    let mut h = History::new();
    for e in 1..=epochs {
        let x = e as f64;
        let loss = 1.0 / (1.0 + x / 5.0);
        let val_loss = 0.35 + 0.004 * (x - 12.0) * (x - 12.0);
        h.push(EpochRow {
            epoch: e,
            lr: 0.001,
            values: BTreeMap::from([
                ("loss".to_string(), loss),
                ("accuracy".to_string(), 1.0 - loss * 0.6),
                ("val_loss".to_string(), val_loss),
                ("val_accuracy".to_string(), 0.95 - val_loss * 0.5),
                ("val_f1".to_string(), 0.9 - val_loss * 0.5),
            ]),
        });
    }
    h
}

#[test]
fn atomic_write_into_a_directory_path_fails_and_names_it() {
    // Replacing a non-empty directory fails at the rename, whoever runs the
    // test (root included): the directory and its file must survive, and no
    // temporary file may be left behind.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("train.csv");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"old").unwrap();
    let err = atomic::write(&target, b"new").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write {}: Is a directory (os error 21)",
            target.display()
        )
    );
    assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"old");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("train.csv")]);
}

#[test]
fn atomic_write_in_a_missing_folder_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no/such/run.yaml");
    let err = atomic::write(&target, b"x").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write {}: No such file or directory (os error 2)",
            target.display()
        )
    );
}

/// The names in a folder, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A write whose folder is a file fails for every user, root included
/// (unlike a read-only folder, which root writes into): the error names
/// the target, the file in the way is untouched, nothing else appears.
#[test]
fn atomic_write_under_a_file_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("run");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let target = blocker.join("run.yaml");
    let err = atomic::write(&target, b"status: running\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "cannot write {}: Not a directory (os error 20)",
            target.display()
        )
    );
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a folder");
    assert_eq!(names_in(dir.path()), ["run"]);
}

/// An earlier file survives a failed rewrite, whoever runs the test: a
/// 250-byte name leaves no room for the temporary file's longer name
/// (`.NAME.PID.N.tmp` > 255 bytes), so the write fails before the rename.
#[test]
fn failed_rewrite_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("r".repeat(250));
    std::fs::write(&target, b"status: running\n").unwrap();
    let err = atomic::write(&target, b"status: completed\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "cannot write {}: File name too long (os error 36)",
            target.display()
        )
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"status: running\n");
    assert_eq!(names_in(dir.path()), ["r".repeat(250)]);
}

/// `dlp run --out` under a path that is a file: exit 1 (an unwritable
/// output folder), the message names the folder, nothing is written.
#[cfg(unix)]
#[test]
fn run_into_a_folder_under_a_file_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("runs");
    std::fs::write(&blocker, b"keep").unwrap();
    let out_dir = blocker.join("blobs");
    let out = common::dlp()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "pipelines/blobs.dlp", "--quiet", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: cannot write {}: Not a directory (os error 20)\n",
            out_dir.display()
        )
    );
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&blocker).unwrap(), b"keep");
    assert_eq!(names_in(dir.path()), ["runs"]);
}

#[test]
fn history_round_trip_through_train_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.csv");
    let mut h = overfitting_history(3);
    h.rows[1].values.insert("loss".into(), f64::NAN);
    h.rows[2].lr = 1e-7;
    h.write_csv(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,lr,loss,accuracy,val_loss,val_accuracy,val_f1"
    );
    assert_eq!(
        lines[1],
        "1,0.001,0.8333333333333334,0.5,0.834,0.5329999999999999,0.48300000000000004"
    );
    assert!(lines[2].starts_with("2,0.001,nan,"), "{text}");
    assert!(lines[3].starts_with("3,1e-7,"), "{text}");
    let back = History::read_csv(&path).unwrap();
    assert_eq!(back.columns, h.columns);
    assert_eq!(back.rows.len(), 3);
    for (a, b) in back.rows.iter().zip(&h.rows) {
        assert_eq!(a.epoch, b.epoch);
        assert_eq!(a.lr.to_bits(), b.lr.to_bits());
        for (k, v) in &b.values {
            // Bit-exact: the shortest round-trip spelling loses nothing.
            assert!(
                a.values[k].to_bits() == v.to_bits() || (a.values[k].is_nan() && v.is_nan()),
                "{k}"
            );
        }
    }
}

#[test]
fn history_read_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.csv");
    let cases: &[(&str, &str)] = &[
        (
            "epoch,loss\n1,0.5\n",
            "line 1: expected a header starting with `epoch,lr`, found `epoch,loss`",
        ),
        (
            "epoch,lr,loss\n1,0.1,0.5\nx,0.1,0.4\n",
            "line 3: epoch `x` is not a whole number",
        ),
        ("epoch,lr,loss\n1,0.1,0.5,9\n", "found record with 4 fields"),
    ];
    for (text, want) in cases {
        std::fs::write(&path, text).unwrap();
        let err = History::read_csv(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

/// The contents of the SVG's `<text>` elements, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

#[test]
fn curves_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let h = overfitting_history(40);
    let marks = Marks {
        best_epoch: Some(12),
        early_stop: Some(32),
    };
    curves::write(dir.path(), &h, &marks).unwrap();
    if let Ok(keep) = std::env::var("DLP_KEEP_CURVES") {
        std::fs::copy(dir.path().join("curves.png"), keep).unwrap();
    }
    let png = image::open(dir.path().join("curves.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(png.dimensions(), (1200, 500));
    // Both panels draw both series: matplotlib blue (train) and orange
    // (validation) pixels on each half of the figure.
    let has = |x0: u32, x1: u32, c: [u8; 3]| {
        (x0..x1).any(|x| (0..500).any(|y| png.get_pixel(x, y).0 == c))
    };
    for (x0, x1) in [(0, 600), (600, 1200)] {
        assert!(has(x0, x1, [31, 119, 180]), "train curve in {x0}..{x1}");
        assert!(
            has(x0, x1, [255, 127, 14]),
            "validation curve in {x0}..{x1}"
        );
        assert!(has(x0, x1, [44, 160, 44]), "best-epoch line in {x0}..{x1}");
        assert!(has(x0, x1, [214, 39, 40]), "early-stop line in {x0}..{x1}");
    }
    let svg = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
    let texts = svg_texts(&svg);
    for text in [
        "Loss",
        "Accuracy",
        "epoch",
        "loss",
        "accuracy",
        "train",
        "validation",
        "best: epoch 12",
        "early stop: epoch 32",
    ] {
        assert!(
            texts.iter().any(|t| t == text),
            "svg lacks {text}: {texts:?}"
        );
    }
}

#[test]
fn curves_survive_nan_single_epoch_and_no_accuracy() {
    let mut h = History::new();
    h.push(EpochRow {
        epoch: 1,
        lr: 0.1,
        values: BTreeMap::from([
            ("loss".to_string(), f64::NAN),
            ("val_loss".to_string(), 2.0),
        ]),
    });
    let png = curves::render_png(&h, &Marks::default()).unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (1200, 500));
    let svg = curves::render_svg(&h, &Marks::default()).unwrap();
    assert!(
        svg_texts(&svg).contains(&"no accuracy recorded".to_string()),
        "{svg}"
    );
    let empty = curves::render_svg(&History::new(), &Marks::default()).unwrap();
    assert!(svg_texts(&empty).contains(&"no loss recorded".to_string()));
}

#[test]
fn data_csv_counts() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("data.csv");
    let classes = ["0", "1", "2"].map(String::from);
    dlp::records::write_data_csv(
        &p,
        &classes,
        &[("train", vec![267, 267, 266]), ("test", vec![67, 66, 67])],
    )
    .unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(text.lines().count(), 7);
    assert_eq!(text.lines().nth(4), Some("test,0,67"));
}

/// Installs the process's global tracing subscriber, so it runs in a child
/// copy of the test binary: this one's other tests keep no subscriber.
#[test]
fn trace_init_twice_and_writes_a_chrome_trace() {
    let test = concat!(
        module_path!(),
        "::trace_init_twice_and_writes_a_chrome_trace"
    );
    if !in_child(test) {
        run_in_child(test, &[]);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Logging only, twice: idempotent.
    drop(trace::init(None).unwrap());
    drop(trace::init(None).unwrap());
    for name in ["a.json", "b.json"] {
        let path = dir.path().join(name);
        let guard = trace::init(Some(&path)).unwrap();
        assert!(
            trace::init(Some(&dir.path().join("other.json"))).is_err(),
            "one trace at a time"
        );
        {
            let _s = tracing::info_span!("stage", name = "train").entered();
            tracing::info!(epoch = 1, "epoch done");
        }
        drop(guard);
        let text = std::fs::read_to_string(&path).unwrap();
        check_chrome_trace(&path, &text);
    }
}

/// A Chrome trace is a JSON array of events; the `stage` span is there as
/// a begin/end pair.
fn check_chrome_trace(path: &Path, text: &str) {
    let t = text.trim();
    assert!(
        t.starts_with('[') && t.ends_with(']'),
        "{}: {t}",
        path.display()
    );
    assert!(t.contains("\"name\":\"stage\""), "{t}");
    assert!(
        t.contains("\"ph\":\"B\"") && t.contains("\"ph\":\"E\""),
        "{t}"
    );
}

#[test]
fn curves_are_deterministic() {
    // Same history, same bytes: run folders compare byte for byte.
    let h = overfitting_history(25);
    let marks = Marks {
        best_epoch: Some(12),
        early_stop: None,
    };
    assert_eq!(
        curves::render_png(&h, &marks).unwrap(),
        curves::render_png(&h, &marks).unwrap()
    );
    assert_eq!(
        curves::render_svg(&h, &marks).unwrap(),
        curves::render_svg(&h, &marks).unwrap()
    );
}

/// train.csv's `lr` is the rate of each epoch's first step, the legacy
/// `decay` included: 80 training samples in batches of 16 are 5 steps an
/// epoch, the step schedule halves the rate at epoch 3, and Keras 2's
/// decay divides by 1 + 0.01·(steps before). By hand: epoch 1 at step 0,
/// 0.1; epoch 2 at step 5, 0.1/1.05; epoch 3 at step 10, 0.05/1.1. (The
/// column used to read 0.1, 0.1, 0.05.)
#[test]
fn lr_column_is_the_decayed_rate_of_the_epochs_first_step() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("decay.dlp");
    std::fs::write(
        &pipeline,
        "seed 3
data {
  source blobs samples=100 centers=3 features=2
  split train=80 test=20
}
model { dense 3 activation=softmax }
train {
  loss cross_entropy
  optimizer sgd lr=0.1 decay=0.01
  schedule step every=2 factor=0.5
  batch 16
  epochs 3
}
",
    )
    .unwrap();
    let out_dir = dir.path().join("run");
    let out = common::dlp()
        .arg("run")
        .arg(&pipeline)
        .arg("--quiet")
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h = History::read_csv(&out_dir.join("train.csv")).unwrap();
    let lr: Vec<f64> = h.rows.iter().map(|r| r.lr).collect();
    let want = [0.1, 0.1 / 1.05, 0.05 / 1.1];
    assert_eq!(lr.len(), 3, "{lr:?}");
    for (got, want) in lr.iter().zip(want) {
        assert!((got - want).abs() <= 1e-15, "{lr:?}");
    }
}

/// The report pages in a real browser (headless Chromium): a run's page
/// and a sweep's comparison page load without a console message, an
/// exception or a blocked resource; after the scripts ran the charts hold
/// one series per curve with one point per epoch (and the hover layer
/// its markers); a real mouse move over epoch 3 shows that epoch's values
/// from train.csv; the heatmap holds confusion.csv's counts; on a phone
/// screen nothing makes the page wider than the screen. Screenshots go to
/// `target/tmp/report-browser/`. Without a browser the test fails, unless
/// `DLP_ALLOW_SKIP` names `browser` (see `common::skip`).
#[test]
fn report_pages_render_in_a_headless_browser() {
    let Some(exe) = browser::find() else {
        common::skip::skip_unless_allowed(
            "browser",
            "no headless Chromium on the PATH \
             (apt-get install chromium-headless-shell, or set DLP_BROWSER)",
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    common::colour_folder(&tmp.path().join("imgs"), 40, 20);
    let pipeline = "seed 5\ndata {\n  source images \"imgs/\"\n  split train=0.75 valid=0.25 test=official\n}\n\
         preprocess { normalize mean_std per_channel }\n\
         model {\n  flatten\n  dense 8 activation=relu\n  dense 3 activation=softmax\n}\n\
         train {\n  loss cross_entropy\n  optimizer adam lr=0.003\n  batch 16\n  epochs 40\n  \
         early_stop monitor=val_loss patience=2\n}\n\
         evaluate { metrics f1 }\n";
    let p = common::write(tmp.path(), "colours.dlp", pipeline);
    let run = tmp.path().join("run");
    let o = common::run_quiet(&p, &run, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let sweep_text = pipeline.replace("epochs 40", "epochs 6")
        + "sweep grid { train.optimizer.lr = [0.001, 0.01] }\n";
    let sp = common::write(tmp.path(), "sweep.dlp", &sweep_text);
    let sweep = tmp.path().join("sweep");
    let o = common::run_quiet(&sp, &sweep, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let o = common::run(&["report", sweep.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    std::fs::create_dir_all(&shots).unwrap();
    let mut b = browser::Browser::launch(&exe, &tmp.path().join("profile"));

    // The run's page on a desktop screen.
    b.open(&run.join("report.html"), 1200, 900, false);
    let history = History::read_csv(&run.join("train.csv")).unwrap();
    let epochs = history.rows.len();
    assert!(epochs >= 3, "{epochs} epochs");
    let drawn = b.eval(COUNT_SERIES);
    let e = epochs;
    assert_eq!(
        drawn,
        serde_json::json!([
            ["chart-loss", 2, [["train", e], ["validation", e]]],
            ["chart-accuracy", 2, [["train", e], ["validation", e]]],
            ["chart-lr", 1, [["lr", e]]],
            ["chart-metrics", 1, [["val_f1", e]]],
        ])
    );
    // Hover over epoch 3 of the loss chart with the mouse.
    let at = b.eval(&format!("({})('chart-loss', 3, null)", POINT_OF));
    b.mouse_move(at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    let tip = b.eval(&format!("({})('chart-loss')", TIP_OF));
    assert_eq!(tip["hidden"], false, "{tip}");
    assert_eq!(tip["head"], "epoch 3", "{tip}");
    assert_eq!(tip["dots"], 2, "{tip}");
    let row = history.row(3).unwrap();
    let rows = tip["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{tip}");
    for (text, metric) in rows.iter().zip(["loss", "val_loss"]) {
        let (name, value) = text.as_str().unwrap().split_once(": ").unwrap();
        assert_eq!(
            name,
            if metric == "loss" {
                "train"
            } else {
                "validation"
            }
        );
        let want = row.get(metric).unwrap();
        let got: f64 = value.parse().unwrap();
        assert!(
            (got - want).abs() <= 5e-4 * want.abs(),
            "{metric}: {got} vs {want}"
        );
    }
    b.mouse_move(2.0, 2.0);
    assert_eq!(
        b.eval(&format!("({})('chart-loss')", TIP_OF))["hidden"],
        true
    );
    // The heatmap holds confusion.csv's counts, row by row.
    let cells = b.eval(
        "Array.from(document.querySelectorAll('table.confusion tbody tr')).map(r => \
         [r.querySelector('th').textContent].concat(Array.from(r.querySelectorAll('td[title]')).map(td => td.firstChild.textContent)).join(','))",
    );
    let csv = std::fs::read_to_string(run.join("confusion.csv")).unwrap();
    let want: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(cells, serde_json::json!(want));
    let mistakes = std::fs::read_to_string(run.join("misclassified.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert!(mistakes > 0);
    assert_eq!(
        b.eval("document.querySelectorAll('.mis figure').length"),
        mistakes
    );
    assert_eq!(b.problems(), Vec::<String>::new());
    b.screenshot(&shots.join("run-desktop.png"));

    // On a phone: one column, nothing wider than the screen.
    b.open(&run.join("report.html"), 390, 844, true);
    let widths = b.eval(
        "[document.documentElement.scrollWidth].concat(Array.from(document.querySelectorAll('svg.chart')).map(s => Math.round(s.getBoundingClientRect().width)))",
    );
    let widths: Vec<u64> = widths
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(widths[0] <= 390, "the page is {} pixels wide", widths[0]);
    assert!(
        widths[1..].iter().all(|&w| (300..=390).contains(&w)),
        "chart widths {widths:?}"
    );
    assert_eq!(b.problems(), Vec::<String>::new());
    b.screenshot(&shots.join("run-phone.png"));

    // The sweep's comparison page.
    b.open(&sweep.join("report.html"), 1200, 900, false);
    let drawn = b.eval(COUNT_SERIES);
    let trials: Vec<usize> = (1..=2)
        .map(|i| {
            History::read_csv(&sweep.join(format!("trial-00{i}/train.csv")))
                .unwrap()
                .rows
                .len()
        })
        .collect();
    let (t1, t2) = (trials[0], trials[1]);
    let curves = |id: &str| serde_json::json!([id, 2, [["trial-001", t1], ["trial-002", t2]]]);
    assert_eq!(
        drawn,
        serde_json::json!([
            curves("cmp-val-loss"),
            curves("cmp-val-accuracy"),
            curves("cmp-loss"),
            curves("cmp-accuracy"),
            ["cmp-sweep-0", 2, [["trial-001", 1], ["trial-002", 1]]],
        ])
    );
    // The scatter's first point, under the mouse, names its trial.
    let at = b.eval(&format!("({})('cmp-sweep-0', 0.001, 0)", POINT_OF));
    b.mouse_move(at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    let tip = b.eval(&format!("({})('cmp-sweep-0')", TIP_OF));
    assert_eq!(tip["head"], "trial-001", "{tip}");
    assert_eq!(tip["rows"][0], "train.optimizer.lr 0.001", "{tip}");
    let best = tip["rows"][1].as_str().unwrap();
    let history = History::read_csv(&sweep.join("trial-001/train.csv")).unwrap();
    let want = history
        .rows
        .iter()
        .filter_map(|r| r.get("val_loss"))
        .fold(f64::INFINITY, f64::min);
    let got: f64 = best
        .strip_prefix("best val_loss: ")
        .unwrap()
        .parse()
        .unwrap();
    assert!((got - want).abs() <= 5e-4 * want, "{best} vs {want}");
    assert_eq!(
        b.eval("document.querySelectorAll('a[href=\"trial-002/report.html\"]').length"),
        2
    );
    assert!(
        b.eval("document.querySelectorAll('td.best').length")
            .as_u64()
            > Some(0)
    );
    assert_eq!(b.problems(), Vec::<String>::new());
    b.screenshot(&shots.join("compare-desktop.png"));
    b.open(&sweep.join("report.html"), 390, 844, true);
    assert!(b.eval("document.documentElement.scrollWidth").as_u64() <= Some(390));
    assert_eq!(b.problems(), Vec::<String>::new());
    b.screenshot(&shots.join("compare-phone.png"));
    eprintln!("screenshots: {}", shots.display());
}

/// Every chart, after the scripts ran: its id, its hover markers, and each
/// series with its points (polyline vertices or dots).
const COUNT_SERIES: &str = "Array.from(document.querySelectorAll('svg.chart')).map(s => [s.id, \
    s.querySelectorAll('g.hover circle').length, \
    Array.from(s.querySelectorAll('g.series')).map(g => [g.dataset.series, \
      Array.from(g.querySelectorAll('polyline')).reduce((n, p) => n + p.points.numberOfItems, 0) \
      + g.querySelectorAll('circle').length])])";

/// The viewport point of x (and of series `k`'s value there, else the
/// middle of the frame) in a chart, scrolled into view.
const POINT_OF: &str = "function (id, x, k) { \
    const svg = document.getElementById(id); svg.scrollIntoView({block: 'center'}); \
    const c = JSON.parse(document.getElementById('chart-data').textContent)[id]; const m = c.map; \
    const ax = (v, log, f, t) => { if (log) v = Math.log10(v); return t[0] + (v - f[0]) / (f[1] - f[0]) * (t[1] - t[0]); }; \
    const p = svg.createSVGPoint(); p.x = ax(x, m.logx, m.x, m.px); \
    p.y = k === null ? (m.py[0] + m.py[1]) / 2 : ax(c.series[k].y[c.series[k].x.indexOf(x)], m.logy, m.y, m.py); \
    const q = p.matrixTransform(svg.getScreenCTM()); return [q.x, q.y]; }";

/// A chart's read-out: hidden or not, its heading, its rows, the markers shown.
const TIP_OF: &str = "function (id) { \
    const svg = document.getElementById(id); const tip = svg.closest('figure').querySelector('.tip'); \
    return {hidden: tip.hidden, head: tip.querySelector('b') ? tip.querySelector('b').textContent : null, \
      rows: Array.from(tip.querySelectorAll('.tip-row')).map(r => r.textContent), \
      dots: Array.from(svg.querySelectorAll('g.hover circle')).filter(c => c.style.display !== 'none').length}; }";

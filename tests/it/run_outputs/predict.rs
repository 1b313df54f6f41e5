//! `dlp predict` on the test images, IDX files and CIFAR-10 batches
//! reproduces `dlp eval` and the confusion matrix; the sigmoid threshold.

use crate::common::*;

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
    // 8×8 images are drawn as 32×32 tiles, big enough to see.
    assert_eq!(
        (strip.width(), strip.height()),
        (32 * rows.len() as u32, 32)
    );
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

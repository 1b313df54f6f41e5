//! The trained runs every export check uses, built once per test process:
//! one per layer kind and preprocessing combination, each exported, with
//! the raw inputs a consumer would feed the ONNX file and the
//! probabilities `dlp predict` prints for the same inputs.
//!
//! | case | data | preprocessing | layers |
//! |---|---|---|---|
//! | `csv` | a CSV file, 4 feature columns around the label | `scale`, `normalize` (per feature) | dense, batchnorm (flat), dropout, tanh, `leaky_relu` layer, softmax fused into cross-entropy |
//! | `colour` | 8×8 colour PNGs | `scale 1/255`, `normalize per_channel` | conv2d `same` stride 2 (asymmetric padding), leaky_relu, batchnorm (maps), conv2d `same` kernel 2, maxpool, flatten, dropout, dense |
//! | `grayscale` | 8×8 colour PNGs | `grayscale`, `normalize` (global) | conv2d `valid` stride 2, tanh, avgpool, global_avgpool, one sigmoid unit (binary cross-entropy) |
//! | `rgb` | 8×8 grey PNGs | `rgb`, `normalize per_channel` | conv2d `valid`, the activation layers relu, sigmoid, linear, avgpool stride 1, flatten, dense, tanh, softmax (MSE: no fusion) |
//! | `residual` | 8×8 colour PNGs | `scale 1/255` | a residual block (`add`) with a projection shortcut, bias-free convolutions and batch norm before the merge, a `concat` with an identity branch, global_avgpool |
//! | `cifar10` | synthetic CIFAR-10 batches | the book's `normalize mean_std` | `pipelines/cifar10.dlp` itself, one epoch on 250 images |
//! | `colour-bare` | `colour`, exported `--no-preprocessing` | none in the graph (NCHW, preprocessed values in) | |

use crate::common;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One exported run and its reference outputs.
pub struct Case {
    pub name: &'static str,
    pub run: PathBuf,
    pub model: PathBuf,
    pub input_shape: Vec<usize>,
    /// Raw (or, for a bare export, preprocessed) values, row-major.
    pub input: Vec<f32>,
    /// `dlp predict`'s probabilities, one row per input, in class order.
    pub expected: Vec<Vec<f32>>,
    pub classes: Vec<String>,
    pub layout: &'static str,
}

/// The folder the cases live in, rebuilt by each test process.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("export-cases")
}

pub fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(build)
}

/// `root/{train,test}/CLASS/NNN.png`: 8×8 images, colour or grey, whose
/// brightness pattern depends on the class (with noise, so a model is
/// neither perfect nor useless).
fn image_folder(root: &Path, classes: &[&str], per_class: (usize, usize), colour: bool) {
    for (part, n) in [("train", per_class.0), ("test", per_class.1)] {
        for (k, class) in classes.iter().enumerate() {
            let dir = root.join(part).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                let seed = (k * 10_000 + i + if part == "test" { 5_000 } else { 0 }) as u64;
                let px = |x: u32, y: u32, c: u32| -> u8 {
                    let stripe = (x as usize + k * 2 + c as usize) % 4 < 2;
                    let base: u8 = if stripe { 150 } else { 60 };
                    let n = common::noise(seed, u64::from((y * 8 + x) * 3 + c));
                    base.saturating_add(n / 2) - (y as u8) * 3
                };
                let path = dir.join(format!("{i:03}.png"));
                if colour {
                    image::RgbImage::from_fn(8, 8, |x, y| {
                        image::Rgb([0, 1, 2].map(|c| px(x, y, c)))
                    })
                    .save(path)
                    .unwrap();
                } else {
                    image::GrayImage::from_fn(8, 8, |x, y| image::Luma([px(x, y, 0)]))
                        .save(path)
                        .unwrap();
                }
            }
        }
    }
}

/// The test images, in the order they are given to `dlp predict`.
fn test_images(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut classes: Vec<PathBuf> = std::fs::read_dir(root.join("test"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    classes.sort();
    for c in classes {
        let mut f: Vec<PathBuf> = std::fs::read_dir(c)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        f.sort();
        files.extend(f);
    }
    files
}

/// Raw NHWC pixels of image files as a consumer decodes them.
fn pixels(files: &[PathBuf]) -> (Vec<usize>, Vec<f32>) {
    let mut out = Vec::new();
    let mut shape = vec![files.len()];
    for f in files {
        let img = image::open(f).unwrap();
        let (c, bytes) = if img.color().has_color() {
            (3, img.to_rgb8().into_raw())
        } else {
            (1, img.to_luma8().into_raw())
        };
        if shape.len() == 1 {
            shape.extend([img.height() as usize, img.width() as usize, c]);
        }
        out.extend(bytes.into_iter().map(f32::from));
    }
    (shape, out)
}

/// `dlp predict` on `inputs` with every class listed: the probabilities
/// by class index, one row per input, and the run's classes.
fn predicted(run: &Path, inputs: &[PathBuf], out: &Path) -> (Vec<Vec<f32>>, Vec<String>) {
    let classes: Vec<String> = {
        let mut r = csv::Reader::from_path(run.join("data.csv")).unwrap();
        let h = r.headers().unwrap().clone();
        let (split, class) = (
            h.iter().position(|c| c == "split").unwrap(),
            h.iter().position(|c| c == "class").unwrap(),
        );
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        let first = rows[0][split].to_string();
        rows.iter()
            .filter(|x| x[split] == first)
            .map(|x| x[class].to_string())
            .collect()
    };
    let k = classes.len().to_string();
    let mut args = vec![
        "predict".to_string(),
        run.display().to_string(),
        "--top-k".into(),
        k,
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let o = common::dlp().args(&args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let mut r = csv::Reader::from_path(out).unwrap();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            let mut p = vec![f32::NAN; classes.len()];
            for j in 0..classes.len() {
                let (ci, pi) = if j == 0 {
                    (1, 2)
                } else {
                    (1 + 2 * j, 2 + 2 * j)
                };
                let c = classes.iter().position(|x| x == &rec[ci]).unwrap();
                p[c] = rec[pi].parse().unwrap();
            }
            p
        })
        .collect();
    (rows, classes)
}

fn train(dir: &Path, name: &str, pipeline: &str, env: &[(&str, &Path)], sets: &[&str]) -> PathBuf {
    let p = common::write(dir, &format!("{name}.dlp"), pipeline);
    let run = dir.join(format!("{name}-run"));
    let mut args = vec![
        "run".to_string(),
        p.display().to_string(),
        "--quiet".into(),
        "--out".into(),
        run.display().to_string(),
    ];
    for s in sets {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    let mut c = common::dlp();
    c.args(&args).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{name}: {}", common::stderr(&o));
    run
}

/// `dlp export RUN EXTRA…`, which must succeed; the file written.
pub fn export(run: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec!["export", run.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = common::run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let out = common::stdout(&o);
    PathBuf::from(out.lines().next().unwrap())
}

const TRAIN: &str =
    "train {\n  loss cross_entropy\n  optimizer adam lr=0.01\n  batch 16\n  epochs 4\n}\n";

fn build() -> Vec<Case> {
    let dir = root();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cases = Vec::new();
    let image_case = |cases: &mut Vec<Case>,
                      name: &'static str,
                      data: &Path,
                      pipeline: String,
                      extra: &[&str]| {
        let run = train(&dir, name, &pipeline, &[], &[]);
        let model = export(&run, extra);
        let files = test_images(data);
        let (expected, classes) = predicted(&run, &files, &dir.join(format!("{name}.csv")));
        let (input_shape, input) = pixels(&files);
        cases.push(Case {
            name,
            run,
            model,
            input_shape,
            input,
            expected,
            classes,
            layout: "NHWC",
        });
    };

    // CSV: feature columns of different scales around the label column.
    let mut text = String::from("petal,width,species,depth,mass\n");
    for i in 0..150u64 {
        let k = (i % 3) as f64;
        let n = |j: u64| f64::from(common::noise(i, j)) / 255.0 - 0.5;
        text += &format!(
            "{},{},{},{},{}\n",
            1.0 + k + n(0),
            20.0 * k + 15.0 * n(1),
            ["setosa", "versicolor", "virginica"][(i % 3) as usize],
            -3.0 + 0.5 * k + n(2),
            400.0 + 100.0 * n(3) + 30.0 * k
        );
    }
    common::write(&dir, "flowers.csv", &text);
    let held: String = text.lines().take(41).map(|l| format!("{l}\n")).collect();
    let held = common::write(&dir, "held.csv", &held);
    let run = train(
        &dir,
        "csv",
        &format!(
            "seed 3\ndata {{\n  source csv \"flowers.csv\" label=species\n  split train=0.6 valid=0.2 test=0.2\n}}\n\
             preprocess {{\n  scale 0.5\n  normalize mean_std\n}}\n\
             model {{\n  dense 12 activation=relu\n  batchnorm\n  dropout 0.2\n  dense 8 activation=tanh\n  leaky_relu alpha=0.2\n  dense 3 activation=softmax\n}}\n{TRAIN}"
        ),
        &[],
        &[],
    );
    let model = export(&run, &[]);
    let (expected, classes) = predicted(&run, std::slice::from_ref(&held), &dir.join("csv.csv"));
    let mut input = Vec::new();
    for line in text.lines().skip(1).take(40) {
        let f: Vec<&str> = line.split(',').collect();
        input.extend([f[0], f[1], f[3], f[4]].map(|v| v.parse::<f32>().unwrap()));
    }
    cases.push(Case {
        name: "csv",
        run,
        model,
        input_shape: vec![40, 4],
        input,
        expected,
        classes,
        layout: "NF",
    });

    let colour = dir.join("colour-images");
    image_folder(&colour, &["blue", "green", "red"], (30, 6), true);
    image_case(
        &mut cases,
        "colour",
        &colour,
        format!(
            "seed 5\ndata {{\n  source images \"colour-images/\"\n  split train=0.8 valid=0.2 test=official\n}}\n\
             preprocess {{\n  scale 1/255\n  normalize mean_std per_channel\n}}\n\
             model {{\n  conv2d 6 kernel=3 stride=2 padding=same activation=leaky_relu\n  batchnorm\n  conv2d 5 kernel=2 padding=same activation=relu\n  maxpool 2\n  flatten\n  dropout 0.3\n  dense 3 activation=softmax\n}}\n{TRAIN}"
        ),
        &[],
    );

    image_case(
        &mut cases,
        "residual",
        &colour,
        format!(
            "seed 9\ndata {{\n  source images \"colour-images/\"\n  split train=0.8 valid=0.2 test=official\n}}\n\
             preprocess {{ scale 1/255 }}\n\
             model {{\n  conv2d 4 padding=same\n  add {{\n    branch {{\n      conv2d 6 stride=2 padding=same use_bias=false\n      batchnorm\n      relu\n      conv2d 6 padding=same\n      batchnorm\n    }}\n    branch {{\n      conv2d 6 kernel=1 stride=2 use_bias=false\n      batchnorm\n    }}\n  }}\n  relu\n  concat {{\n    branch {{ conv2d 3 padding=same activation=tanh }}\n    branch {{}}\n  }}\n  global_avgpool\n  dense 3 activation=softmax\n}}\n{TRAIN}"
        ),
        &[],
    );

    let two = dir.join("two-images");
    image_folder(&two, &["dark", "light"], (30, 6), true);
    image_case(
        &mut cases,
        "grayscale",
        &two,
        format!(
            "seed 6\ndata {{\n  source images \"two-images/\"\n  split train=0.8 valid=0.2 test=official\n}}\n\
             preprocess {{\n  grayscale\n  normalize mean_std\n}}\n\
             model {{\n  conv2d 4 kernel=3 stride=2 padding=valid activation=tanh\n  conv2d 4 kernel=1 padding=same activation=sigmoid\n  avgpool 2 stride=1\n  global_avgpool\n  dense 1 activation=sigmoid\n}}\n{}",
            TRAIN.replace("cross_entropy", "binary_cross_entropy")
        ),
        &[],
    );

    let grey = dir.join("grey-images");
    image_folder(&grey, &["a", "b", "c", "d"], (20, 4), false);
    image_case(
        &mut cases,
        "rgb",
        &grey,
        format!(
            "seed 8\ndata {{\n  source images \"grey-images/\"\n  split train=0.8 valid=0.2 test=official\n}}\n\
             preprocess {{\n  rgb\n  normalize mean_std per_channel\n}}\n\
             model {{\n  conv2d 4 kernel=3 padding=valid\n  relu\n  conv2d 3 kernel=2 stride=2 padding=same\n  sigmoid\n  linear\n  avgpool 2 stride=1\n  flatten\n  dense 6\n  tanh\n  dense 4\n  softmax\n}}\n{}",
            TRAIN.replace("cross_entropy", "mse")
        ),
        &[],
    );

    // The book's CIFAR-10 model on a small synthetic CIFAR-10.
    let data = dir.join("cifar-data");
    dlp::data::synth::write_cifar10(&data.join("cifar10"), 300, 40, 11).unwrap();
    let book = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/cifar10.dlp"),
    )
    .unwrap();
    let run = train(
        &dir,
        "cifar10",
        &book,
        &[("DLP_DATA", &data)],
        &[
            "train.epochs=1",
            "data.split.train=250",
            "data.split.valid=50",
        ],
    );
    let model = export(&run, &[]);
    let batch = data.join("cifar10/cifar-10-batches-bin/test_batch.bin");
    let (expected, classes) = predicted(&run, std::slice::from_ref(&batch), &dir.join("cifar.csv"));
    let bytes = std::fs::read(&batch).unwrap();
    let mut input = Vec::new();
    for rec in bytes.chunks_exact(3073) {
        let chw = &rec[1..];
        for i in 0..1024 {
            for c in 0..3 {
                input.push(f32::from(chw[c * 1024 + i]));
            }
        }
    }
    cases.push(Case {
        name: "cifar10",
        run,
        model,
        input_shape: vec![bytes.len() / 3073, 32, 32, 3],
        input,
        expected,
        classes,
        layout: "NHWC",
    });

    // The colour run's bare network: preprocessed NCHW values in.
    let colour_run = dir.join("colour-run");
    let bare = dir.join("colour-bare.onnx");
    export(
        &colour_run,
        &["--no-preprocessing", "--out", bare.to_str().unwrap()],
    );
    let predictor = dlp::run::predict::Predictor::open(
        &colour_run,
        dlp::run::predict::Weights::Tested,
        Some(dlp::plan::DeviceSpec::Cpu),
    )
    .unwrap();
    let files = test_images(&colour);
    let (samples, bad) = predictor.read(&files);
    assert!(bad.is_empty());
    let reference = cases.iter().find(|c| c.name == "colour").unwrap();
    cases.push(Case {
        name: "colour-bare",
        run: colour_run.clone(),
        model: bare,
        input_shape: vec![samples.len(), 3, 8, 8],
        input: samples.iter().flat_map(|s| s.values.clone()).collect(),
        expected: reference.expected.clone(),
        classes: reference.classes.clone(),
        layout: "NCHW",
    });
    cases
}

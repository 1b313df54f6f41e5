//! Bad input never panics: each case feeds `dlp` one bad pipeline, data
//! file, checkpoint or flag and asserts the exit code and the message
//! (naming the file and what is wrong). Run with `--nocapture` to see them.

use crate::common::*;
use std::path::Path;

/// One bad input: a setup that writes files into a temp dir and returns
/// the arguments, the exit code and fragments the error must contain.
struct Case {
    name: &'static str,
    setup: fn(&Path) -> Vec<String>,
    code: i32,
    contains: &'static [&'static str],
}

fn s(p: impl AsRef<Path>) -> String {
    p.as_ref().to_string_lossy().into_owned()
}

/// `dlp run PIPELINE --quiet --out DIR/run`.
fn run_args(dir: &Path, pipeline: impl AsRef<Path>) -> Vec<String> {
    vec![
        "run".into(),
        s(pipeline),
        "--quiet".into(),
        "--out".into(),
        s(dir.join("run")),
    ]
}

/// A CSV pipeline over `data.csv` in `dir`.
fn csv_pipeline(dir: &Path, csv: &str) -> Vec<String> {
    write(dir, "data.csv", csv);
    let p = write(
        dir,
        "p.dlp",
        "data {\n  source csv \"data.csv\" label=y\n  split train=0.5 test=0.5\n}\nmodel { dense 2 activation=softmax }\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n",
    );
    run_args(dir, p)
}

/// An IDX pipeline over the given image and label files.
fn idx_pipeline(dir: &Path, images: &[u8], labels: &[u8]) -> Vec<String> {
    std::fs::write(dir.join("img.idx"), images).unwrap();
    std::fs::write(dir.join("lab.idx"), labels).unwrap();
    let p = write(
        dir,
        "p.dlp",
        "data {\n  source idx images=\"img.idx\" labels=\"lab.idx\"\n  split train=0.5 test=0.5\n}\nmodel {\n  flatten\n  dense 2 activation=softmax\n}\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n",
    );
    run_args(dir, p)
}

fn idx_images(n: u32, h: u32, w: u32, pixels: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [n, h, w] {
        v.extend(d.to_be_bytes());
    }
    v.extend(std::iter::repeat_n(7u8, pixels));
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend((labels.len() as u32).to_be_bytes());
    v.extend(labels);
    v
}

/// A small trained run in `dir/run`, for checkpoint cases.
fn trained(dir: &Path) -> std::path::PathBuf {
    let p = write(
        dir,
        "small.dlp",
        &small_blobs("").replace("epochs 12", "epochs 1"),
    );
    let out = dir.join("run");
    let o = run(&["run", &s(&p), "--quiet", "--out", &s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    p
}

/// stderr's lines, less the note a CUDA build prints where it finds no GPU.
fn error_lines(o: &std::process::Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| !l.starts_with("note: device auto: no usable CUDA GPU ("))
        .map(str::to_string)
        .collect()
}

fn pipeline(dir: &Path, text: &str) -> Vec<String> {
    let p = write(dir, "p.dlp", text);
    vec!["check".into(), s(p)]
}

const CASES: &[Case] = &[
    // --- pipelines (exit 2, file:line:col) ---
    Case {
        name: "unclosed block",
        setup: |d| pipeline(d, "model {\n  dense 3\n"),
        code: 2,
        contains: &["p.dlp:3:1"],
    },
    Case {
        name: "unknown layer with a suggestion",
        setup: |d| {
            pipeline(
                d,
                &small_blobs("").replace("dense 16 activation=relu", "dense2 16"),
            )
        },
        code: 2,
        contains: &[
            "p.dlp:7:3",
            "unknown layer \"dense2\" — did you mean \"dense\"?",
        ],
    },
    Case {
        name: "dropout rate out of range",
        setup: |d| pipeline(d, &small_blobs("").replace("dropout 0.1", "dropout 1.5")),
        code: 2,
        contains: &["p.dlp:8:11", "dropout rate must be in [0, 1), got 1.5"],
    },
    Case {
        name: "negative learning rate",
        setup: |d| pipeline(d, &small_blobs("").replace("lr=0.01", "lr=-0.01")),
        code: 2,
        contains: &["p.dlp:13:21", "error: optimizer lr must be > 0, got -0.01"],
    },
    Case {
        name: "val_ monitor without a validation split",
        setup: |d| {
            pipeline(
                d,
                &small_blobs("early_stop monitor=val_loss")
                    .replace("train=0.6 valid=0.2 test=0.2", "train=0.8 test=0.2"),
            )
        },
        code: 2,
        contains: &[
            "p.dlp:16:22",
            "error: early_stop monitors val_loss, but the split has no valid part",
            "help: add valid=… to split, or validate_on=test",
        ],
    },
    Case {
        name: "test=official on a source without one",
        setup: |d| pipeline(d, &small_blobs("").replace("test=0.2", "test=official")),
        code: 2,
        contains: &[
            "p.dlp:4:34",
            "error: test=official needs a source with an official test part; blobs has none",
        ],
    },
    Case {
        name: "dense on a feature map",
        setup: |d| {
            pipeline(
                d,
                "data {\n  source cifar10\n  split train=100 test=official\n}\nmodel {\n  conv2d 8\n  dense 10 activation=softmax\n}\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n",
            )
        },
        code: 2,
        contains: &[
            "p.dlp:7:3",
            "error: dense after a 30×30×8 feature map: add flatten",
            "help: or global_avgpool",
        ],
    },
    Case {
        name: "two errors reported at once",
        setup: |d| {
            pipeline(
                d,
                &small_blobs("")
                    .replace("dropout 0.1", "dropout 1.5")
                    .replace("lr=0.01", "lr=-0.01"),
            )
        },
        code: 2,
        contains: &["p.dlp:8:11", "p.dlp:13:", "2 errors"],
    },
    Case {
        name: "missing pipeline file",
        setup: |d| vec!["check".into(), s(d.join("nope.dlp"))],
        code: 2,
        contains: &["nope.dlp: No such file or directory"],
    },
    Case {
        name: "unknown --set name names the nearest valid one",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            vec![
                "check".into(),
                s(p),
                "--set".into(),
                "train.optimiser.lr=0.1".into(),
            ]
        },
        code: 2,
        contains: &[
            "error: --set train.optimiser.lr: train has no statement \"optimiser\" — did you mean \"optimizer\"?",
            "\nhint: did you mean train.optimizer.lr?\n",
        ],
    },
    Case {
        name: "--set without a value",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            vec!["check".into(), s(p), "--set".into(), "train.epochs".into()]
        },
        code: 2,
        contains: &["error: --set train.epochs: expected NAME=VALUE"],
    },
    Case {
        name: "--set with an empty value",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            vec!["check".into(), s(p), "--set".into(), "train.epochs=".into()]
        },
        code: 2,
        contains: &["error: --set train.epochs=: expected a value\n"],
    },
    Case {
        name: "--set with an integer beyond 64 bits",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            vec![
                "check".into(),
                s(p),
                "--set".into(),
                "seed=18446744073709551616".into(),
            ]
        },
        code: 2,
        contains: &[
            "error: --set seed=18446744073709551616: integer 18446744073709551616 is too large\n",
        ],
    },
    Case {
        name: "--set seed to a word names the seed once",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            vec!["check".into(), s(p), "--set".into(), "seed=abc".into()]
        },
        code: 2,
        contains: &["error: seed must be an integer, got \"abc\"\n"],
    },
    // --- statements that would change nothing: a warning at their line
    // (exit 0), or an error where they cannot mean anything ---
    Case {
        name: "metrics accuracy and confusion are warnings at the words",
        setup: |d| pipeline(d, &small_blobs("")),
        code: 0,
        contains: &[
            "warning: metrics accuracy changes nothing: loss and accuracy are always reported (train.csv, eval.csv, test_accuracy), as the diagnosis reads the error rate\n  --> ",
            "p.dlp:18:20",
            "warning: metrics confusion changes nothing: confusion.csv is written with eval.csv whenever there is a test split\n  --> ",
            "p.dlp:18:49",
        ],
    },
    Case {
        name: "one_hot with cross_entropy is a warning",
        setup: |d| {
            pipeline(
                d,
                &small_blobs("").replace("model {", "preprocess { one_hot }\nmodel {"),
            )
        },
        code: 0,
        contains: &[
            "warning: one_hot changes nothing: cross_entropy compares the model's outputs (one per class) with one-hot targets whether or not it is written",
            "p.dlp:6:14",
            "help: remove it",
        ],
    },
    Case {
        name: "one_hot with binary_cross_entropy is an error",
        setup: |d| {
            pipeline(
                d,
                "data {\n  source blobs centers=2\n  split train=0.8 test=0.2\n}\npreprocess { one_hot }\nmodel { dense 1 activation=sigmoid }\ntrain {\n  loss binary_cross_entropy\n  epochs 1\n}\n",
            )
        },
        code: 2,
        contains: &[
            "p.dlp:5:14",
            "error: one_hot does not fit binary_cross_entropy: its one sigmoid unit is compared with the 0/1 label itself",
            "help: for one output per class, end with dense 2 activation=softmax and use loss cross_entropy",
        ],
    },
    Case {
        name: "dlp plan shows the warnings",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            vec!["plan".into(), s(p)]
        },
        code: 0,
        contains: &["warning: metrics accuracy changes nothing", "p.dlp:18:20"],
    },
    Case {
        name: "dlp run shows the warnings unless --quiet",
        setup: |d| {
            let text = small_blobs("").replace("epochs 12", "epochs 1");
            let p = write(d, "p.dlp", &text);
            vec!["run".into(), s(p), "--out".into(), s(d.join("run"))]
        },
        code: 0,
        contains: &["warning: metrics confusion changes nothing", "p.dlp:18:49"],
    },
    Case {
        name: "a monitor of a metric evaluate does not compute",
        setup: |d| {
            pipeline(
                d,
                &small_blobs("early_stop monitor=val_f1").replace(
                    "metrics accuracy precision recall f1 confusion",
                    "metrics recall",
                ),
            )
        },
        code: 2,
        contains: &[
            "p.dlp:16:22",
            "error: early_stop monitors val_f1, but evaluate does not compute f1",
            "help: add f1 to evaluate { metrics … }",
        ],
    },
    Case {
        name: "an expectation on a metric evaluate does not compute",
        setup: |d| {
            let text = small_blobs("").replace(
                "metrics accuracy precision recall f1 confusion",
                "metrics f1",
            ) + "expect { test_precision_1 > 0.5 }\n";
            pipeline(d, &text)
        },
        code: 2,
        contains: &[
            "p.dlp:19:10",
            "error: test_precision_1 needs precision in evaluate { metrics … }",
        ],
    },
    Case {
        name: "mse with one output unit for two classes",
        setup: |d| {
            pipeline(
                d,
                "data {\n  source blobs centers=2\n  split train=0.8 test=0.2\n}\nmodel { dense 1 activation=sigmoid }\ntrain {\n  loss mse\n  epochs 1\n}\n",
            )
        },
        code: 2,
        contains: &[
            "p.dlp:5:9",
            "error: the model outputs 1 value but the data has 2 classes",
        ],
    },
    // --- data files (exit 1, or 2 at the split line) ---
    Case {
        name: "missing CSV file",
        setup: |d| {
            let mut a = csv_pipeline(d, "x,y\n1,a\n");
            std::fs::remove_file(d.join("data.csv")).unwrap();
            a.truncate(2);
            a[0] = "check".into();
            a
        },
        code: 2,
        contains: &["data.csv"],
    },
    Case {
        name: "non-numeric CSV feature names its line",
        setup: |d| csv_pipeline(d, "x,y\n1,a\n2,b\nhello,a\n3,b\n"),
        code: 1,
        contains: &["data.csv:4", "hello"],
    },
    Case {
        name: "CSV row with too few fields",
        setup: |d| csv_pipeline(d, "x,z,y\n1,2,a\n2,3,b\n4,b\n3,1,b\n"),
        code: 1,
        contains: &["data.csv:4: 2 fields, the header has 3"],
    },
    Case {
        name: "CSV without the label column",
        setup: |d| csv_pipeline(d, "x,label\n1,a\n2,b\n"),
        code: 2,
        contains: &["data.csv", "y"],
    },
    Case {
        name: "a model whose outputs do not match the classes of a CSV",
        setup: |d| {
            let a = csv_pipeline(d, "x,y\n1,a\n2,b\n3,a\n4,b\n");
            let text = std::fs::read_to_string(d.join("p.dlp"))
                .unwrap()
                .replace("dense 2", "dense 5");
            std::fs::write(d.join("p.dlp"), text).unwrap();
            a
        },
        code: 2,
        contains: &[
            "p.dlp:5:9",
            "the model ends in 5 units but the data has 2 classes (a, b): cross_entropy needs 2 units, one per class",
        ],
    },
    Case {
        name: "truncated IDX images",
        setup: |d| idx_pipeline(d, &idx_images(4, 2, 2, 10), &idx_labels(&[0, 1, 0, 1])),
        code: 1,
        contains: &["img.idx"],
    },
    Case {
        name: "IDX with a bad magic number",
        setup: |d| idx_pipeline(d, b"PK\x03\x04garbage-not-idx", &idx_labels(&[0, 1])),
        code: 2,
        contains: &["img.idx"],
    },
    Case {
        name: "IDX images and labels disagree in count",
        setup: |d| idx_pipeline(d, &idx_images(4, 2, 2, 16), &idx_labels(&[0, 1, 0])),
        code: 1,
        contains: &["lab.idx: 3 labels but ", "img.idx has 4 samples"],
    },
    Case {
        name: "corrupt PNG in an image folder",
        setup: |d| {
            for class in ["cat", "dog"] {
                std::fs::create_dir_all(d.join("imgs").join(class)).unwrap();
                let img = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
                img.save(d.join("imgs").join(class).join("a.png")).unwrap();
            }
            std::fs::write(d.join("imgs/dog/b.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
            let p = write(
                d,
                "p.dlp",
                "data {\n  source images \"imgs\"\n  split train=0.5 test=0.5\n}\nmodel {\n  flatten\n  dense 2 activation=softmax\n}\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n",
            );
            run_args(d, p)
        },
        code: 1,
        contains: &["b.png"],
    },
    Case {
        name: "split larger than the data",
        setup: |d| {
            let p = write(
                d,
                "p.dlp",
                &small_blobs("")
                    .replace("train=0.6 valid=0.2 test=0.2", "train=250 valid=40 test=20"),
            );
            run_args(d, p)
        },
        code: 2,
        contains: &[
            "p.dlp:4:3",
            "error: split counts sum to 310, more than the 300 samples",
        ],
    },
    Case {
        name: "truncated CIFAR-10 batch in the cache",
        setup: |d| {
            dlp::data::synth::write_cifar10(&d.join("cache/cifar10"), 20, 10, 1).unwrap();
            let f = d.join("cache/cifar10/cifar-10-batches-bin/test_batch.bin");
            let len = std::fs::metadata(&f).unwrap().len();
            let file = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
            file.set_len(len - 1).unwrap();
            let p = write(
                d,
                "p.dlp",
                "data {\n  source cifar10\n  split train=10 test=official\n}\nmodel {\n  flatten\n  dense 10 activation=softmax\n}\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n",
            );
            run_args(d, p)
        },
        code: 1,
        contains: &["test_batch.bin", "3073"],
    },
    // --- checkpoints ---
    Case {
        name: "eval with missing weights",
        setup: |d| {
            let p = trained(d);
            vec![
                "eval".into(),
                s(p),
                "--weights".into(),
                s(d.join("none.safetensors")),
            ]
        },
        code: 1,
        contains: &["none.safetensors"],
    },
    Case {
        name: "eval with a text file as weights",
        setup: |d| {
            let p = trained(d);
            let w = write(d, "w.safetensors", "not a checkpoint");
            vec!["eval".into(), s(p), "--weights".into(), s(w)]
        },
        code: 1,
        contains: &["w.safetensors"],
    },
    Case {
        name: "eval with another model's weights",
        setup: |d| {
            let p = trained(d);
            let other = write(
                d,
                "other.dlp",
                &small_blobs("").replace("dense 16", "dense 8"),
            );
            let _ = p;
            vec![
                "eval".into(),
                s(other),
                "--weights".into(),
                s(d.join("run/model.safetensors")),
            ]
        },
        code: 1,
        contains: &["model.safetensors", "shape"],
    },
    Case {
        name: "resume a finished run",
        setup: |d| {
            trained(d);
            vec!["run".into(), "--resume".into(), s(d.join("run"))]
        },
        code: 2,
        contains: &["nothing to resume"],
    },
    Case {
        name: "status of a folder that holds no run",
        setup: |d| vec!["status".into(), s(d)],
        code: 2,
        contains: &[
            ": not a run folder (no run.yaml), a sweep (no sweep.yaml) nor a multi-seed run (no seeds.yaml)",
        ],
    },
    Case {
        name: "resume a folder that does not exist",
        setup: |d| vec!["run".into(), "--resume".into(), s(d.join("ghost"))],
        code: 2,
        contains: &["ghost: not a run folder (no run.yaml)"],
    },
    Case {
        name: "corrupt resume state",
        setup: |d| {
            let p = write(d, "small.dlp", &small_blobs(""));
            let out = d.join("run");
            let o = dlp()
                .args(["run", &s(&p), "--quiet", "--out", &s(&out)])
                .env("DLP_INTERRUPT_AFTER_STEPS", "3")
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(130));
            std::fs::write(out.join("resume.safetensors"), b"garbage").unwrap();
            vec!["run".into(), "--resume".into(), s(out)]
        },
        code: 1,
        contains: &["resume.safetensors: not a dlp resume file ("],
    },
    // --- flags and folders ---
    Case {
        name: "unknown device",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            vec!["run".into(), s(p), "--device".into(), "gpu".into()]
        },
        code: 2,
        contains: &["--device gpu"],
    },
    // A CUDA build runs this where a GPU is usable (src/run/device.rs
    // tests both builds).
    #[cfg(not(feature = "cuda"))]
    Case {
        name: "cuda on a CPU-only build",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            vec![
                "run".into(),
                s(p),
                "--device".into(),
                "cuda:0".into(),
                "--out".into(),
                s(d.join("run")),
            ]
        },
        code: 2,
        contains: &["cuda:0", "without CUDA"],
    },
    Case {
        name: "an --out folder that already holds a run",
        setup: |d| {
            let p = trained(d);
            vec!["run".into(), s(p), "--out".into(), s(d.join("run"))]
        },
        code: 2,
        contains: &["already holds a run"],
    },
    Case {
        name: "an --out folder that cannot be created",
        setup: |d| {
            write(d, "file", "x");
            let p = write(d, "p.dlp", &small_blobs(""));
            vec![
                "run".into(),
                s(p),
                "--quiet".into(),
                "--out".into(),
                s(d.join("file/run")),
            ]
        },
        code: 1,
        contains: &["file/run"],
    },
    Case {
        name: "diff of a missing run",
        setup: |d| vec!["diff".into(), s(d.join("a")), s(d.join("b"))],
        code: 2,
        contains: &["/a: no such run folder or CSV file"],
    },
    Case {
        name: "diff with a malformed tolerance",
        setup: |d| {
            trained(d);
            vec![
                "diff".into(),
                s(d.join("run")),
                s(d.join("run")),
                "--tol".into(),
                "test_accuracy".into(),
            ]
        },
        code: 2,
        contains: &["error: --tol `test_accuracy`: no `=` (expected METRIC=ABS or METRIC=REL%"],
    },
    Case {
        name: "report of a missing folder",
        setup: |d| vec!["report".into(), s(d.join("nothing"))],
        code: 2,
        contains: &["/nothing: no such run folder"],
    },
    Case {
        name: "report of a folder without runs",
        setup: |d| {
            std::fs::create_dir(d.join("empty")).unwrap();
            vec!["report".into(), s(d.join("empty"))]
        },
        code: 2,
        contains: &["/empty: not a run folder, and none of its sub-folders is one (no run.yaml)"],
    },
    Case {
        name: "report of a run with a corrupt train.csv",
        setup: |d| {
            trained(d);
            let csv = d.join("run/train.csv");
            let text = std::fs::read_to_string(&csv).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let cells: Vec<&str> = lines[1].split(',').collect();
            let bad = format!("{},{},x,{}", cells[0], cells[1], cells[3..].join(","));
            std::fs::write(&csv, format!("{}\n{bad}\n", lines[0])).unwrap();
            vec![
                "report".into(),
                s(d.join("run")),
                "--out".into(),
                s(d.join("r.html")),
            ]
        },
        code: 1,
        contains: &["/run/train.csv: line 2: column `loss`: `x` is not a number"],
    },
    Case {
        name: "report into a missing folder",
        setup: |d| {
            trained(d);
            std::fs::create_dir(d.join("more")).unwrap();
            std::fs::rename(d.join("run"), d.join("more/run")).unwrap();
            trained(d);
            vec![
                "report".into(),
                s(d.join("run")),
                s(d.join("more/run")),
                "--out".into(),
                s(d.join("nowhere/r.html")),
            ]
        },
        code: 1,
        contains: &[
            "error: cannot write ",
            "/nowhere/r.html: No such file or directory",
        ],
    },
    Case {
        name: "predict with a folder that is not a run",
        setup: |d| {
            write(d, "x.csv", "a,b\n1,2\n");
            vec!["predict".into(), s(d), s(d.join("x.csv"))]
        },
        code: 2,
        contains: &[": not a run folder (no run.yaml)"],
    },
    Case {
        name: "predict with weights the run did not keep",
        setup: |d| {
            trained(d);
            write(d, "x.csv", "a,b\n1,2\n");
            vec![
                "predict".into(),
                s(d.join("run")),
                s(d.join("x.csv")),
                "--weights".into(),
                "best".into(),
            ]
        },
        code: 2,
        contains: &[
            "/run: the run kept no best weights: there is no best.safetensors, and model.safetensors holds epoch 1",
        ],
    },
    Case {
        name: "offline with no cache says where to put the files",
        setup: |d| {
            let p = write(
                d,
                "p.dlp",
                "data {\n  source mnist\n  split train=10 test=official\n}\nmodel {\n  flatten\n  dense 10 activation=softmax\n}\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n",
            );
            run_args(d, p)
        },
        code: 1,
        contains: &["train-images-idx3-ubyte.gz"],
    },
    // --- sweeps and the Slurm executor ---
    Case {
        name: "sweep warmup= without prune=median is a warning",
        setup: |d| {
            pipeline(
                d,
                &(small_blobs("") + "sweep grid warmup=3 { train.epochs = [1, 2] }\n"),
            )
        },
        code: 0,
        contains: &[
            "warning: sweep warmup= changes nothing without prune=median",
            "p.dlp:19:19",
            "help: add prune=median, or remove it",
        ],
    },
    Case {
        name: "a Slurm option without --executor slurm",
        setup: |d| {
            let p = write(
                d,
                "p.dlp",
                &(small_blobs("") + "sweep grid { train.epochs = [1, 2] }\n"),
            );
            let mut args = run_args(d, p);
            args.extend(["--partition".into(), "gpu".into()]);
            args
        },
        code: 2,
        contains: &["error: --partition is an option of --executor slurm"],
    },
    Case {
        name: "--executor slurm on a pipeline without a sweep",
        setup: |d| {
            let p = write(d, "p.dlp", &small_blobs(""));
            let mut args = run_args(d, p);
            args.extend(["--executor".into(), "slurm".into()]);
            args
        },
        code: 2,
        contains: &[
            "error: --executor slurm runs the trials of a sweep, and ",
            "p.dlp has none",
        ],
    },
    Case {
        name: "--sbatch-arg that is not an option",
        setup: |d| {
            let p = write(
                d,
                "p.dlp",
                &(small_blobs("") + "sweep grid { train.epochs = [1, 2] }\n"),
            );
            let mut args = run_args(d, p);
            args.extend(
                [
                    "--executor",
                    "slurm",
                    "--dry-run",
                    "--sbatch-arg",
                    "account=ml",
                ]
                .map(String::from),
            );
            args
        },
        code: 2,
        contains: &[
            "error: --sbatch-arg \"account=ml\": pass an sbatch option, such as --sbatch-arg=--account=ml",
        ],
    },
    Case {
        name: "--jobs with --executor slurm",
        setup: |d| {
            let p = write(
                d,
                "p.dlp",
                &(small_blobs("") + "sweep grid { train.epochs = [1, 2] }\n"),
            );
            let mut args = run_args(d, p);
            args.extend(["--executor", "slurm", "--jobs", "2"].map(String::from));
            args
        },
        code: 2,
        contains: &[
            "error: --jobs runs trials in this process; on Slurm, --max-parallel K limits how many run at once",
        ],
    },
    Case {
        name: "--trial beyond the sweep's trials",
        setup: |d| {
            let text = small_blobs("").replace("epochs 12", "epochs 1")
                + "sweep grid { train.batch = [16, 32] }\n";
            let p = write(d, "p.dlp", &text);
            let o = run(&["run", &s(&p), "--quiet", "--out", &s(d.join("sw"))]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            ["run", "--resume", &s(d.join("sw")), "--trial", "3"]
                .map(String::from)
                .to_vec()
        },
        code: 2,
        contains: &["error: --trial 3: the sweep in ", "sw has trials 1 to 2"],
    },
    Case {
        name: "--trial of a run folder that is not a sweep",
        setup: |d| {
            trained(d);
            ["run", "--resume", &s(d.join("run")), "--trial", "1"]
                .map(String::from)
                .to_vec()
        },
        code: 2,
        contains: &[
            "error: --trial: ",
            "run is not a sweep folder (no sweep.yaml)",
        ],
    },
    Case {
        name: "dlp sweep status of a folder that is not a sweep",
        setup: |d| ["sweep", "status", &s(d)].map(String::from).to_vec(),
        code: 2,
        contains: &[": not a sweep folder (no sweep.yaml)"],
    },
    Case {
        name: "a corrupt sweep.yaml",
        setup: |d| {
            std::fs::create_dir_all(d.join("sw")).unwrap();
            write(&d.join("sw"), "sweep.yaml", "pipeline: [\n");
            ["sweep", "status", &s(d.join("sw"))]
                .map(String::from)
                .to_vec()
        },
        code: 1,
        contains: &["sw/sweep.yaml: "],
    },
];

#[test]
fn every_bad_input_gets_a_clear_error_and_exit_code() {
    assert!(CASES.len() >= 30, "{} cases", CASES.len());
    let mut failures = Vec::new();
    for case in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let args = (case.setup)(tmp.path());
        let o = dlp()
            .args(&args)
            .current_dir(tmp.path())
            .env("DLP_DATA", tmp.path().join("cache"))
            .env("DLP_MIRROR", "http://127.0.0.1:9")
            .output()
            .unwrap();
        let err = stderr(&o);
        println!("--- {} (exit {:?})\n{err}", case.name, o.status.code());
        if err.contains("panicked") {
            failures.push(format!("{}: panicked: {err}", case.name));
        } else if o.status.code() != Some(case.code) {
            failures.push(format!(
                "{}: exit {:?}, expected {}: {err}",
                case.name,
                o.status.code(),
                case.code
            ));
        } else if let Some(missing) = case.contains.iter().find(|c| !err.contains(*c)) {
            failures.push(format!("{}: message lacks {missing:?}: {err}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `dlp predict` with good and bad inputs together: every bad one is
/// named with what is wrong, the good ones are still predicted (in order),
/// and the command exits 1. Images for an image run (a wrong size, a
/// grayscale file, a corrupt file, a missing path, an empty folder, a text
/// file, a CSV), then rows and columns for a CSV run (a missing column, a
/// cell that is not a number, a short row; the columns found by name).
#[test]
fn predict_names_each_bad_input_and_predicts_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    colour_folder(&d.join("imgs"), 6, 2);
    let p = write(
        d,
        "img.dlp",
        "data {\n  source images \"imgs/\"\n  split train=1.0 test=official\n}\n\
         preprocess { scale 1/255 }\n\
         model {\n  flatten\n  dense 3 activation=softmax\n}\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n",
    );
    let o = run(&["run", &s(&p), "--quiet", "--out", &s(d.join("run"))]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let good = d.join("imgs/test/red/000.png");
    image::RgbImage::new(10, 8)
        .save(d.join("wide.png"))
        .unwrap();
    image::GrayImage::new(8, 8)
        .save(d.join("grey.png"))
        .unwrap();
    write(d, "broken.png", "not a png");
    write(d, "notes.txt", "hello");
    write(d, "table.csv", "a,b\n1,2\n");
    std::fs::create_dir(d.join("empty")).unwrap();
    let inputs = [
        "wide.png",
        "grey.png",
        "broken.png",
        "missing.png",
        "empty",
        "notes.txt",
        "table.csv",
    ];
    let mut args = vec!["predict".to_string(), s(d.join("run")), s(&good)];
    args.extend(inputs.iter().map(|i| s(d.join(i))));
    args.push(s(d.join("imgs/test/blue")));
    let o = dlp().args(&args).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let blue = |i: usize| s(d.join(format!("imgs/test/blue/{i:03}.png")));
    assert_eq!(names, [s(&good), blue(0), blue(1)]);
    let at = |name: &str| s(d.join(name));
    let want = [
        format!(
            "error: {}: image is 8×10 (height×width) but the run's model reads 8×8, and the run's preprocess has no `resize`",
            at("wide.png")
        ),
        format!(
            "error: {}: image is grayscale (1 channel) but the run's model reads colour (3 channels) images, and the run's preprocess has no `rgb`",
            at("grey.png")
        ),
        format!(
            "error: {}: cannot decode image: Format error decoding Png: Invalid PNG signature.",
            at("broken.png")
        ),
        format!("error: {}: no such file or folder", at("missing.png")),
        format!(
            "error: {}: no PNG or JPEG files in this folder",
            at("empty")
        ),
        format!(
            "error: {}: not an image (PNG, JPEG), a CSV file (.csv), an IDX file or a CIFAR-10 batch (.bin)",
            at("notes.txt")
        ),
        format!(
            "error: {}: a CSV file, but the run's model reads colour images of 8×8",
            at("table.csv")
        ),
        "error: 7 inputs could not be predicted (3 were)".to_string(),
    ];
    assert_eq!(error_lines(&o), want);

    // A CSV run: columns by name, in any order, extra columns ignored.
    write(
        d,
        "data.csv",
        "x1,x2,y\n0,0,a\n0,1,a\n5,5,b\n5,6,b\n0,0.5,a\n5,5.5,b\n",
    );
    let p = write(
        d,
        "csv.dlp",
        "data {\n  source csv \"data.csv\" label=y\n  split train=4 test=2 shuffle=false\n}\n\
         preprocess { normalize mean_std }\n\
         model { dense 2 activation=softmax }\ntrain {\n  loss cross_entropy\n  optimizer adam lr=0.1\n  epochs 60\n}\n",
    );
    let o = run(&["run", &s(&p), "--quiet", "--out", &s(d.join("csvrun"))]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    write(d, "new.csv", "y,x2,x1\nb,5,5\n?,abc,1\n?,1\n?,0,0\n");
    write(d, "short.csv", "x1,x3\n1,2\n");
    let o = run(&[
        "predict",
        &s(d.join("csvrun")),
        &s(d.join("new.csv")),
        &s(d.join("short.csv")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let new = at("new.csv");
    assert_eq!(
        rows.iter().map(|r| (r[0], r[1])).collect::<Vec<_>>(),
        [
            (format!("{new}:2").as_str(), "b"),
            (format!("{new}:5").as_str(), "a")
        ]
    );
    assert_eq!(
        out.lines().next(),
        Some("input,class,probability,class_2,probability_2")
    );
    let want = [
        format!("error: {new}:3: column \"x2\": \"abc\" is not a number"),
        format!("error: {new}:4: 2 fields, the header has 3"),
        format!(
            "error: {}: no column \"x2\" (the run's model reads x1, x2; the file has x1, x3)",
            at("short.csv")
        ),
        "error: 3 inputs could not be predicted (2 were)".to_string(),
    ];
    assert_eq!(error_lines(&o), want);
    // The same rows in the training file's column order: the same answer.
    write(d, "same.csv", "x1,x2\n5,5\n0,0\n");
    let o = run(&["predict", &s(d.join("csvrun")), &s(d.join("same.csv"))]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let again: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let probs = |r: &[Vec<&str>]| r.iter().map(|c| c[1..].join(",")).collect::<Vec<_>>();
    assert_eq!(probs(&again), probs(&rows));
}

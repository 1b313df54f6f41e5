//! Malformed pipelines and the exact diagnostic each must give: line,
//! column (1-based, in characters) and message. Most cases are one edit of
//! a valid base pipeline, so each row tests exactly one mistake.

use dlp::analyze::{Diagnostic, Kind, Severity, analyze_source, diagnose_source};
use dlp::error::Error;
use std::path::Path;

/// A valid pipeline on synthetic data (no files needed): 3 classes.
const BLOBS: &str = "\
seed 1
let width = 8
data {
  source blobs samples=100 centers=3 features=2
  split train=60 valid=20 test=20
}
model {
  dense $width activation=relu
  dense 3 activation=softmax
}
train {
  loss cross_entropy
  optimizer adam lr=0.01
  batch 16
  epochs 5
  early_stop monitor=val_loss patience=2
}
evaluate { metrics accuracy f1 }
expect { test_accuracy >= 0.5 }
";

/// A valid image pipeline (built-in CIFAR-10 shape, nothing downloaded).
const IMAGES: &str = "\
data {
  source cifar10
  split train=0.9 valid=0.1 test=official
}
augment { flip horizontal }
model {
  conv2d 8 kernel=3 padding=same activation=relu
  maxpool 2
  flatten
  dense 10 activation=softmax
}
train {
  loss cross_entropy
  epochs 1
}
";

fn diagnostics(src: &str) -> Vec<Diagnostic> {
    match diagnose_source(src, Path::new("t.dlp"), &[]) {
        Ok(Ok(_)) => Vec::new(),
        Ok(Err(d)) => d,
        Err(e) => panic!("usage error {e}"),
    }
}

/// One mistake: `replace` in `base` becomes `with`, and the diagnostics
/// must include `message` at `line`:`column`.
struct Case {
    base: &'static str,
    replace: &'static str,
    with: &'static str,
    line: usize,
    column: usize,
    message: &'static str,
}

const CASES: &[Case] = &[
    // --- syntax (pest's messages, rules renamed) ---
    Case {
        base: BLOBS,
        replace: "activation=relu",
        with: "activation = relu",
        line: 8,
        column: 27,
        message: "expected end of statement, a block `{ … }`, a number or expression, a list `[ … ]`, true or false, a dotted path, a word, a name, or a string",
    },
    Case {
        base: BLOBS,
        replace: "lr=0.01",
        with: "lr=.01",
        line: 13,
        column: 21,
        message: "expected a number or expression, a list `[ … ]`, true or false, a dotted path, a word, a name, or a string",
    },
    Case {
        base: BLOBS,
        replace: "batch 16",
        with: "batch 16x",
        line: 14,
        column: 9,
        message: "expected end of statement, a block `{ … }`, a number or expression, a list `[ … ]`, a comparison (>= > <= < ==), true or false, a dotted path, a word, a name, or a string",
    },
    Case {
        base: BLOBS,
        replace: "evaluate { metrics accuracy f1 }",
        with: "evaluate { metrics accuracy f1",
        line: 20,
        column: 1,
        message: "expected end of statement, `let`, `PATH = VALUES`, or a name",
    },
    Case {
        base: BLOBS,
        replace: "let width = 8",
        with: "let = 8",
        line: 2,
        column: 1,
        message: "let needs a variable name: let NAME = VALUE",
    },
    Case {
        base: BLOBS,
        replace: "source blobs",
        with: "source \"blobs",
        line: 4,
        column: 10,
        message: "expected end of statement, a block `{ … }`, a number or expression, a list `[ … ]`, a comparison (>= > <= < ==), true or false, a dotted path, a word, a name, or a string",
    },
    // --- names ---
    Case {
        base: BLOBS,
        replace: "dense 3 activation",
        with: "dens 3 activation",
        line: 9,
        column: 3,
        message: "unknown layer \"dens\" — did you mean \"dense\"?",
    },
    Case {
        base: BLOBS,
        replace: "model {",
        with: "modle {",
        line: 7,
        column: 1,
        message: "unknown section \"modle\" — did you mean \"model\"?",
    },
    Case {
        base: BLOBS,
        replace: "dense 3 activation=softmax",
        with: "dense 3 activaton=softmax",
        line: 9,
        column: 11,
        message: "unknown parameter \"activaton\" for dense — did you mean \"activation\"?",
    },
    Case {
        base: BLOBS,
        replace: "optimizer adam lr=0.01",
        with: "optimizer adamm lr=0.01",
        line: 13,
        column: 13,
        message: "unknown optimizer kind \"adamm\" — did you mean \"adam\"?",
    },
    Case {
        base: BLOBS,
        replace: "optimizer adam lr=0.01",
        with: "optimizer adam lr=0.01 momentum=0.9",
        line: 13,
        column: 26,
        message: "unknown parameter \"momentum\" for optimizer; it takes lr, beta1, beta2, epsilon, clip_norm, decay",
    },
    Case {
        base: BLOBS,
        replace: "activation=relu",
        with: "activation=rleu",
        line: 8,
        column: 27,
        message: "unknown dense activation \"rleu\" — did you mean \"relu\"?",
    },
    Case {
        base: BLOBS,
        replace: "dense $width",
        with: "dense $widht",
        line: 8,
        column: 9,
        message: "unknown variable $widht — did you mean $width?",
    },
    Case {
        base: BLOBS,
        replace: "metrics accuracy f1",
        with: "metrics accuracy f2",
        line: 18,
        column: 29,
        message: "unknown metric \"f2\"; one of accuracy, precision, recall, f1, confusion",
    },
    Case {
        base: BLOBS,
        replace: "test_accuracy >= 0.5",
        with: "test_acc >= 0.5",
        line: 19,
        column: 10,
        message: "unknown metric \"test_acc\" — did you mean \"test_accuracy\"?",
    },
    Case {
        base: BLOBS,
        replace: "monitor=val_loss",
        with: "monitor=val_acc",
        line: 16,
        column: 22,
        message: "unknown metric \"val_acc\" — did you mean \"val_accuracy\"?",
    },
    Case {
        base: BLOBS,
        replace: "test_accuracy >= 0.5",
        with: "test_recall_5 >= 0.5",
        line: 19,
        column: 10,
        message: "test_recall_5: class 5 does not exist, the model has 3 classes (0 to 2)",
    },
    Case {
        base: BLOBS,
        replace: "  loss cross_entropy\n",
        with: "  loss cross_entropy\n  device gpu\n",
        line: 13,
        column: 10,
        message: "unknown device \"gpu\"; one of auto, cpu, cuda, cuda:N",
    },
    Case {
        base: BLOBS,
        replace: "monitor=val_loss",
        with: "monitor=test_accuracy",
        line: 16,
        column: 22,
        message: "early_stop cannot monitor test_accuracy: test metrics exist only after training",
    },
    Case {
        base: BLOBS,
        replace: "  epochs 5",
        with: "  epochs 5\n  schedule plateau monitor=val_f2",
        line: 16,
        column: 28,
        message: "unknown metric \"val_f2\" — did you mean \"val_f1\"?",
    },
    // --- placement and structure ---
    Case {
        base: BLOBS,
        replace: "seed 1",
        with: "seed 1\ndense 4",
        line: 2,
        column: 1,
        message: "dense must be inside model { … }",
    },
    Case {
        base: BLOBS,
        replace: "  epochs 5",
        with: "  epochs 5\n  dense 4",
        line: 16,
        column: 3,
        message: "dense belongs in model { … }, not in train",
    },
    Case {
        base: BLOBS,
        replace: "  batch 16",
        with: "  let b = 16",
        line: 14,
        column: 3,
        message: "let is only allowed at the top level",
    },
    Case {
        base: BLOBS,
        replace: "  epochs 5",
        with: "  epochs 5\n  val_loss < 1",
        line: 16,
        column: 3,
        message: "comparisons are only allowed inside expect",
    },
    Case {
        base: BLOBS,
        replace: "  loss cross_entropy\n",
        with: "  loss cross_entropy\n  loss mse\n",
        line: 13,
        column: 3,
        message: "loss is given twice (first on line 12)",
    },
    Case {
        base: BLOBS,
        replace: "  loss cross_entropy\n",
        with: "",
        line: 11,
        column: 1,
        message: "train has no loss",
    },
    Case {
        base: BLOBS,
        replace: "seed 1",
        with: "seed 1\nseed 2",
        line: 2,
        column: 1,
        message: "seed is given twice",
    },
    Case {
        base: BLOBS,
        replace: "let width = 8",
        with: "let width = 8\nlet width = 9",
        line: 3,
        column: 5,
        message: "variable width is defined twice",
    },
    Case {
        base: BLOBS,
        replace: "model {\n  dense $width activation=relu\n  dense 3 activation=softmax\n}\n",
        with: "",
        line: 1,
        column: 1,
        message: "the pipeline has no model block",
    },
    Case {
        base: BLOBS,
        replace: "dense $width",
        with: "dense 8 9",
        line: 8,
        column: 11,
        message: "dense takes 1 positional value (units), this is one too many",
    },
    Case {
        base: BLOBS,
        replace: "dense $width",
        with: "dense 8 units=9",
        line: 8,
        column: 11,
        message: "dense units is given twice",
    },
    Case {
        base: BLOBS,
        replace: "  dense 3 activation=softmax",
        with: "  repeat { dense 3 }\n  dense 3",
        line: 9,
        column: 3,
        message: "repeat needs a count or at least one NAME=[…] list",
    },
    // --- types and ranges ---
    Case {
        base: BLOBS,
        replace: "lr=0.01",
        with: "lr=-1",
        line: 13,
        column: 21,
        message: "optimizer lr must be > 0, got -1",
    },
    Case {
        base: BLOBS,
        replace: "lr=0.01",
        with: "lr=0",
        line: 13,
        column: 21,
        message: "optimizer lr must be > 0, got 0",
    },
    Case {
        base: BLOBS,
        replace: "activation=relu\n",
        with: "activation=relu\n  dropout 1.5\n",
        line: 9,
        column: 11,
        message: "dropout rate must be in [0, 1), got 1.5",
    },
    Case {
        base: BLOBS,
        replace: "activation=relu\n",
        with: "activation=relu\n  dropout -0.1\n",
        line: 9,
        column: 11,
        message: "dropout rate must be in [0, 1), got -0.1",
    },
    Case {
        base: BLOBS,
        replace: "batch 16",
        with: "batch 0",
        line: 14,
        column: 9,
        message: "batch size must be ≥ 1, got 0",
    },
    Case {
        base: BLOBS,
        replace: "batch 16",
        with: "batch some",
        line: 14,
        column: 9,
        message: "batch size must be a count or all, got \"some\"",
    },
    Case {
        base: BLOBS,
        replace: "epochs 5",
        with: "epochs 2.5",
        line: 15,
        column: 10,
        message: "epochs count must be an integer, got the number 2.5",
    },
    Case {
        base: BLOBS,
        replace: "patience=2",
        with: "patience=yes",
        line: 16,
        column: 40,
        message: "early_stop patience must be an integer, got \"yes\"",
    },
    Case {
        base: BLOBS,
        replace: "dense $width",
        with: "dense $width*0",
        line: 8,
        column: 9,
        message: "dense units must be ≥ 1, got 0",
    },
    Case {
        base: BLOBS,
        replace: "dense $width",
        with: "dense $width/0",
        line: 8,
        column: 16,
        message: "division by zero",
    },
    Case {
        base: BLOBS,
        replace: "let width = 8",
        with: "let width = relu",
        line: 8,
        column: 9,
        message: "dense units must be an integer, got \"relu\"",
    },
    Case {
        base: BLOBS,
        replace: "let width = 8",
        with: "let width = 8\nlet bad = relu\nlet w2 = $bad * 2",
        line: 4,
        column: 10,
        message: "arithmetic needs numbers, got \"relu\"",
    },
    Case {
        base: BLOBS,
        replace: "evaluate { metrics accuracy f1 }",
        with: "diagnose { human_error 1.5 }",
        line: 18,
        column: 24,
        message: "human_error value must be in [0, 1], got 1.5",
    },
    // --- data and splits ---
    Case {
        base: BLOBS,
        replace: "test=20",
        with: "test=official",
        line: 5,
        column: 32,
        message: "test=official needs a source with an official test part; blobs has none",
    },
    Case {
        base: BLOBS,
        replace: "train=60",
        with: "train=0",
        line: 5,
        column: 15,
        message: "split train must be positive, got 0",
    },
    Case {
        base: BLOBS,
        replace: "train=60",
        with: "train=1.5",
        line: 5,
        column: 15,
        message: "split train must be a count ≥ 1 or a fraction in (0, 1], got 1.5",
    },
    Case {
        base: BLOBS,
        replace: "train=60 valid=20 test=20",
        with: "train=0.7 valid=0.2 test=0.2",
        line: 5,
        column: 3,
        message: "split fractions sum to 1.0999999999999999, more than 1",
    },
    Case {
        base: BLOBS,
        replace: "train=60",
        with: "train=90",
        line: 5,
        column: 3,
        message: "split counts sum to 130, more than the 100 samples",
    },
    Case {
        base: BLOBS,
        replace: "valid=20 test=20",
        with: "valid=20 validate_on=test",
        line: 5,
        column: 39,
        message: "validate_on=test needs a test split",
    },
    Case {
        base: BLOBS,
        replace: "valid=20 ",
        with: "",
        line: 16,
        column: 22,
        message: "early_stop monitors val_loss, but the split has no valid part",
    },
    Case {
        base: BLOBS,
        replace: "  split train=60 valid=20 test=20\n",
        with: "",
        line: 3,
        column: 1,
        message: "data has no split",
    },
    Case {
        base: BLOBS,
        replace: "data {",
        with: "augment { rotate 10 }\ndata {",
        line: 3,
        column: 11,
        message: "rotate needs images, but the input is 2 features",
    },
    // --- shapes and losses ---
    Case {
        base: IMAGES,
        replace: "flip horizontal",
        with: "crop 24 padding=4",
        line: 5,
        column: 16,
        message: "crop 24 would train on 24×24 images but evaluate on 32×32",
    },
    Case {
        base: IMAGES,
        replace: "  flatten\n",
        with: "",
        line: 9,
        column: 3,
        message: "dense after a 16×16×8 feature map: add flatten",
    },
    Case {
        base: BLOBS,
        replace: "dense $width",
        with: "conv2d $width",
        line: 8,
        column: 3,
        message: "conv2d needs a feature map, but its input is 2 features",
    },
    Case {
        base: IMAGES,
        replace: "maxpool 2",
        with: "maxpool 64",
        line: 8,
        column: 3,
        message: "maxpool 64 is larger than its 32×32 input",
    },
    Case {
        base: IMAGES,
        replace: "padding=same",
        with: "kernel=5 padding=valid",
        line: 7,
        column: 21,
        message: "conv2d kernel is given twice",
    },
    Case {
        base: IMAGES,
        replace: "conv2d 8 kernel=3 padding=same",
        with: "conv2d 8 kernel=33 padding=valid",
        line: 7,
        column: 3,
        message: "conv2d kernel 33 is larger than its 32×32 input",
    },
    Case {
        base: BLOBS,
        replace: "dense 3 activation=softmax",
        with: "dense 4 activation=softmax",
        line: 9,
        column: 3,
        message: "the model outputs 4 values but the data has 3 classes",
    },
    Case {
        base: BLOBS,
        replace: "loss cross_entropy",
        with: "loss binary_cross_entropy",
        line: 9,
        column: 3,
        message: "binary_cross_entropy needs one output unit, the model has 3",
    },
    Case {
        base: BLOBS,
        replace: "metrics accuracy f1",
        with: "metrics accuracy f1 top_k=3",
        line: 18,
        column: 38,
        message: "top_k must be below the number of classes (3), got 3",
    },
    Case {
        base: BLOBS,
        replace: "  epochs 5",
        with: "  epochs 5\n  class_weight [1, 2]",
        line: 16,
        column: 16,
        message: "class_weight has 2 weights for 3 classes",
    },
    Case {
        base: BLOBS,
        replace: "metrics accuracy f1",
        with: "metrics accuracy f1 weights=best",
        line: 18,
        column: 40,
        message: "weights=best, but nothing keeps the best weights",
    },
    // --- repeat ---
    Case {
        base: BLOBS,
        replace: "  dense 3 activation=softmax",
        with: "  repeat u=[4, 5] r=[0.1] { dense $u }\n  dense 3 activation=softmax",
        line: 9,
        column: 19,
        message: "repeat lists differ in length: u has 2 values, r has 1",
    },
    Case {
        base: BLOBS,
        replace: "  dense 3 activation=softmax",
        with: "  repeat u=4 { dense $u }\n  dense 3 activation=softmax",
        line: 9,
        column: 12,
        message: "repeat u must be a list […], got the integer 4",
    },
    Case {
        base: BLOBS,
        replace: "  epochs 5",
        with: "  epochs 5\n  repeat u=[1] { epochs $u }",
        line: 16,
        column: 3,
        message: "repeat belongs in model { … }, not in train",
    },
    // --- graphs: merges, blocks, the layer bound ---
    Case {
        base: IMAGES,
        replace: "  maxpool 2",
        with: "  add {\n    branch { conv2d 16 stride=2 padding=same }\n    branch {}\n  }\n  maxpool 2",
        line: 8,
        column: 3,
        message: "add needs branches of one shape, but branch 1 (line 9) gives (None, 16, 16, 16) and branch 2 (line 10, the identity) gives (None, 32, 32, 8)",
    },
    Case {
        base: IMAGES,
        replace: "  maxpool 2",
        with: "  concat {\n    branch { maxpool 2 }\n    branch {}\n  }",
        line: 8,
        column: 3,
        message: "concat needs branches of one height and width (feature maps) or vectors, but branch 1 (line 9) gives (None, 16, 16, 8) and branch 2 (line 10, the identity) gives (None, 32, 32, 8)",
    },
    Case {
        base: IMAGES,
        replace: "  maxpool 2",
        with: "  add { branch { relu } }",
        line: 8,
        column: 3,
        message: "add needs at least two branches, it has 1: add { branch { … } branch { … } }",
    },
    Case {
        base: BLOBS,
        replace: "  dense 3 activation=softmax",
        with: "  repeat 101 { repeat 100 { relu } }\n  dense 3 activation=softmax",
        line: 9,
        column: 3,
        message: "this repeat makes too many layers: the model expands to more than 10,000 layers",
    },
    Case {
        base: BLOBS,
        replace: "  dense 3 activation=softmax",
        with: "  block many { repeat 5000 { relu } }\n  many\n  many\n  dense 3 activation=softmax",
        line: 11,
        column: 3,
        message: "this use of block many makes too many layers: the model expands to more than 10,000 layers",
    },
    Case {
        base: BLOBS,
        replace: "  dense 3 activation=softmax",
        with: "  block pair u { dense $u; dense $u }\n  pair 4 units=2\n  dense 3 activation=softmax",
        line: 10,
        column: 10,
        message: "block pair has no parameter units",
    },
    Case {
        base: BLOBS,
        replace: "  dense 3 activation=softmax",
        with: "  block pair u { dense $u; pair 3 }\n  pair 4\n  dense 3 activation=softmax",
        line: 9,
        column: 28,
        message: "block pair uses itself",
    },
    // --- sweep ---
    Case {
        base: BLOBS,
        replace: "expect {",
        with: "sweep grid { train.optimizr.lr = [0.1] }\nexpect {",
        line: 19,
        column: 14,
        message: "sweep train has no statement \"optimizr\" — did you mean \"optimizer\"?",
    },
    Case {
        base: BLOBS,
        replace: "expect {",
        with: "sweep grid { train.optimizer.lr = uniform(0.1, 1) }\nexpect {",
        line: 19,
        column: 35,
        message: "uniform(…) needs sweep random",
    },
    Case {
        base: BLOBS,
        replace: "expect {",
        with: "sweep random trials=2 { widht = [1, 2] }\nexpect {",
        line: 19,
        column: 25,
        message: "sweep no variable \"widht\" — did you mean \"width\"?",
    },
    Case {
        base: BLOBS,
        replace: "expect {",
        with: "sweep grid monitor=test_accuracy { train.epochs = [1, 2] }\nexpect {",
        line: 19,
        column: 20,
        message: "sweep cannot monitor test_accuracy: test metrics exist only after training",
    },
    Case {
        base: BLOBS,
        replace: "expect {",
        with: "sweep grid monitor=val_precision { train.epochs = [1, 2] }\nexpect {",
        line: 19,
        column: 20,
        message: "sweep monitors val_precision, but evaluate does not compute precision",
    },
    Case {
        base: BLOBS,
        replace: "expect {",
        with: "sweep grid goal=up { train.epochs = [1, 2] }\nexpect {",
        line: 19,
        column: 17,
        message: "unknown sweep goal \"up\"; one of min, max",
    },
    Case {
        base: BLOBS,
        replace: "expect {",
        with: "sweep grid prune=mean { train.epochs = [1, 2] }\nexpect {",
        line: 19,
        column: 18,
        message: "unknown sweep prune \"mean\" — did you mean \"median\"?",
    },
    Case {
        base: BLOBS,
        replace: "expect {",
        with: "sweep grid prune=median warmup=-1 { train.epochs = [1, 2] }\nexpect {",
        line: 19,
        column: 32,
        message: "sweep warmup must be ≥ 0, got -1",
    },
    // --- sizes that cannot fit: checked arithmetic, not a wrapped count ---
    Case {
        base: BLOBS,
        replace: "dense $width activation=relu",
        with: "dense 4611686018427387904 activation=relu",
        line: 8,
        column: 3,
        message: "dense has too many parameters to fit in memory (more than 2,305,843,009,213,693,951 float32 values)",
    },
    // 28·F parameters fit, but the 32×32×F output does not.
    Case {
        base: IMAGES,
        replace: "conv2d 8 kernel=3",
        with: "conv2d 4000000000000000 kernel=3",
        line: 7,
        column: 3,
        message: "conv2d has too many output values per sample to fit in memory (more than 2,305,843,009,213,693,951 float32 values)",
    },
    // 72 + 1.8e18 + 6e17 parameters: each layer fits, the sum does not.
    Case {
        base: BLOBS,
        replace: "dense 3 activation=softmax",
        with: "dense 200000000000000000\n  dense 3 activation=softmax",
        line: 10,
        column: 3,
        message: "with dense_2 the model has too many parameters to fit in memory (more than 2,305,843,009,213,693,951 float32 values)",
    },
];

#[test]
fn table_of_malformed_pipelines() {
    assert!(CASES.len() >= 40, "{} cases", CASES.len());
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let Case {
            base,
            replace: from,
            with: to,
            line,
            column: col,
            message: msg,
        } = case;
        assert!(
            base.contains(from),
            "case {i}: base does not contain {from:?}"
        );
        let src = base.replacen(from, to, 1);
        let diags = diagnostics(&src);
        let found = diags
            .iter()
            .any(|d| d.line == *line && d.column == *col && d.message == *msg);
        if !found {
            let got: Vec<String> = diags
                .iter()
                .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
                .collect();
            failures.push(format!(
                "case {i} ({to:?}): want {line}:{col} {msg}\n  got {got:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The whole rendered text of a few diagnostics, byte for byte.
#[test]
fn rendered_text_is_exact() {
    let src = BLOBS.replacen("dense 3 activation", "conv2 3 activation", 1);
    let Err(Error::Invalid(report)) = analyze_source(&src, Path::new("pipelines/t.dlp"), &[])
    else {
        panic!("accepted");
    };
    assert_eq!(
        report.to_string(),
        "error: unknown layer \"conv2\" — did you mean \"conv2d\"?
 --> pipelines/t.dlp:9:3
  |
9 |   conv2 3 activation=softmax
  |   ^---^

1 error
"
    );

    let src = IMAGES.replacen("  flatten\n", "", 1);
    let Err(Error::Invalid(report)) = analyze_source(&src, Path::new("c.dlp"), &[]) else {
        panic!("accepted");
    };
    assert_eq!(
        report.to_string(),
        "error: dense after a 16×16×8 feature map: add flatten
 --> c.dlp:9:3
  |
9 |   dense 10 activation=softmax
  |   ^-------------------------^
  |
  = help: or global_avgpool

1 error
"
    );

    // A syntax error: pest's renderer, rule names in words, plus a hint.
    let src = BLOBS.replacen("activation=relu", "activation = relu", 1);
    let Err(Error::Invalid(report)) = analyze_source(&src, Path::new("t.dlp"), &[]) else {
        panic!("accepted");
    };
    assert_eq!(
        report.to_string(),
        "error: invalid syntax
 --> t.dlp:8:27
  |
8 |   dense $width activation = relu
  |                           ^---
  |
  = expected end of statement, a block `{ … }`, a number or expression, a list `[ … ]`, true or false, a dotted path, a word, a name, or a string
  = help: write key=value without spaces around `=`

1 error
"
    );
}

/// Errors are collected: three independent mistakes, three diagnostics,
/// in source order.
#[test]
fn all_errors_are_reported() {
    let src = BLOBS
        .replacen("lr=0.01", "lr=0", 1)
        .replacen("dense 3 activation", "dens 3 activation", 1)
        .replacen("train=60", "train=90", 1)
        .replacen("valid=20 ", "", 1);
    let lines: Vec<usize> = diagnostics(&src).iter().map(|d| d.line).collect();
    // The broken split and model still let the monitor be checked (16).
    assert_eq!(lines, vec![5, 9, 13, 16]);
}

/// A `--set` with an unknown name is a usage error naming the nearest
/// valid path (it listed every valid name before: a wall of 60 names).
#[test]
fn unknown_override_is_usage_error() {
    let err =
        analyze_source(BLOBS, Path::new("t.dlp"), &["train.optimizr.lr=0.1".into()]).unwrap_err();
    let Error::Usage(text) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        text,
        "--set train.optimizr.lr: train has no statement \"optimizr\" — did you mean \"optimizer\"?\nhint: did you mean train.optimizer.lr?"
    );
    assert_eq!(err.exit_code(), 2);
    // An override is checked like written text, at the place it replaces.
    let d = match diagnose_source(BLOBS, Path::new("t.dlp"), &["train.optimizer.lr=-3".into()]) {
        Ok(Err(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (d[0].line, d[0].column, d[0].message.as_str()),
        (13, 21, "optimizer lr must be > 0, got -3")
    );
}

/// Each listed sweep value is tried now: one that breaks the pipeline is
/// reported at the value.
#[test]
fn sweep_values_are_checked() {
    let src = BLOBS.replacen(
        "expect {",
        "sweep grid { width = [4, 0]\n  train.optimizer.lr = [0.1, -1] }\nexpect {",
        1,
    );
    let got: Vec<(usize, usize, String)> = diagnostics(&src)
        .into_iter()
        .map(|d| (d.line, d.column, d.message))
        .collect();
    assert_eq!(
        got,
        vec![
            (19, 26, "sweep width=0 makes the pipeline invalid: dense units must be ≥ 1, got 0".to_string()),
            (20, 30, "sweep train.optimizer.lr=-1 makes the pipeline invalid: optimizer lr must be > 0, got -1".to_string()),
        ]
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// No input panics the front end: cutting any slice out of a valid
    /// pipeline or pasting text in gives a plan or diagnostics.
    #[test]
    fn mangled_pipelines_never_panic(
        a in 0usize..BLOBS.len(),
        len in 0usize..40,
        insert in "[ -~\n\u{e9}×]{0,12}",
    ) {
        let mut src: String = BLOBS.to_string();
        let start = (0..=a).rev().find(|i| src.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + len).min(src.len());
        let end = (end..=src.len()).find(|i| src.is_char_boundary(*i)).unwrap_or(src.len());
        src.replace_range(start..end, &insert);
        match diagnose_source(&src, Path::new("m.dlp"), &[]) {
            Ok(Ok(_)) => {}
            Ok(Err(d)) => proptest::prop_assert!(!d.is_empty()),
            Err(e) => proptest::prop_assert!(false, "usage error without overrides: {e}"),
        }
    }
}

/// Each kind of mistake, matched by its kind and the exact text its
/// primary span (and any related span) covers: no message text.
#[test]
fn kinds_and_spans() {
    // (base, replace this, with this, kind, primary text, related texts)
    type KindCase = (
        &'static str,
        &'static str,
        &'static str,
        Kind,
        &'static str,
        &'static [&'static str],
    );
    let cases: &[KindCase] = &[
        (BLOBS, "lr=0.01", "lr=.01", Kind::Syntax, "", &[]),
        (
            BLOBS,
            "dense 3 activation",
            "dens 3 activation",
            Kind::UnknownStatement,
            "dens",
            &[],
        ),
        (
            BLOBS,
            "lr=0.01",
            "lr=0.01 foo=1",
            Kind::UnknownParameter,
            "foo",
            &[],
        ),
        (
            BLOBS,
            "dense $width",
            "dense $widht",
            Kind::UnknownVariable,
            "$widht",
            &[],
        ),
        (
            BLOBS,
            "activation=relu",
            "activation=rel",
            Kind::UnknownValue,
            "rel",
            &[],
        ),
        (
            BLOBS,
            "metrics accuracy f1",
            "metrics accuracy f2",
            Kind::UnknownMetric,
            "f2",
            &[],
        ),
        (
            BLOBS,
            "  batch 16\n",
            "  batch 16\n  dense 3\n",
            Kind::Misplaced,
            "dense",
            &[],
        ),
        (
            BLOBS,
            "  batch 16\n",
            "  batch 16\n  batch 8\n",
            Kind::Duplicate,
            "batch",
            &["batch"],
        ),
        (
            BLOBS,
            "seed 1\n",
            "seed 1\nseed 2\n",
            Kind::Duplicate,
            "seed",
            &["seed"],
        ),
        (
            BLOBS,
            "lr=0.01",
            "lr=0.01 lr=0.1",
            Kind::Duplicate,
            "lr=0.1",
            &["0.01"],
        ),
        (
            BLOBS,
            "let width = 8\n",
            "let width = 8\nlet width = 9\n",
            Kind::Duplicate,
            "width",
            &["width"],
        ),
        (BLOBS, "  epochs 5\n", "", Kind::Missing, "train", &[]),
        (
            BLOBS,
            "batch 16",
            "batch sixteen",
            Kind::Type,
            "sixteen",
            &[],
        ),
        (BLOBS, "lr=0.01", "lr=-1", Kind::Range, "-1", &[]),
        (
            BLOBS,
            "split train=60 valid=20 test=20",
            "split train=60 valid=20 test=20 validate_on=test",
            Kind::Conflict,
            "test",
            &[],
        ),
        (
            IMAGES,
            "  flatten\n",
            "",
            Kind::Shape,
            "dense 10 activation=softmax",
            &[],
        ),
        (
            BLOBS,
            "dense 3 activation=softmax",
            "dense 4 activation=softmax",
            Kind::Mismatch,
            "dense 4 activation=softmax",
            &[],
        ),
        (BLOBS, "samples=100", "samples=2", Kind::Conflict, "2", &[]),
        (
            BLOBS,
            "expect {",
            "sweep grid { width = [4, 0] }\nexpect {",
            Kind::Sweep,
            "0",
            &["$width"],
        ),
    ];
    let mut failures = Vec::new();
    for (i, (base, from, to, kind, text, related)) in cases.iter().enumerate() {
        assert!(base.contains(from), "case {i}: {from:?} not in the base");
        let src = base.replacen(from, to, 1);
        let diags = diagnostics(&src);
        let Some(d) = diags.first() else {
            failures.push(format!("case {i}: accepted"));
            continue;
        };
        let got = (
            d.kind,
            &src[d.span.start..d.span.end],
            d.related
                .iter()
                .map(|r| &src[r.span.start..r.span.end])
                .collect::<Vec<_>>(),
        );
        if got != (*kind, *text, related.to_vec()) || d.severity != Severity::Error {
            failures.push(format!(
                "case {i} ({to:?}): want {kind:?} {text:?} {related:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Warnings go through the same path: a kind, a span, the same renderer.
#[test]
fn warnings_are_structured_and_rendered_once() {
    let (_, warnings) =
        dlp::analyze::analyze_source_with_warnings(BLOBS, Path::new("t.dlp"), &[]).unwrap();
    let [w] = warnings.diagnostics.as_slice() else {
        panic!("{warnings:?}")
    };
    assert_eq!(
        (
            w.kind,
            w.severity,
            &BLOBS[w.span.start..w.span.end],
            w.line,
            w.column
        ),
        (Kind::NoEffect, Severity::Warning, "accuracy", 18, 20)
    );
    assert!(
        warnings.to_string().starts_with(
            "warning: metrics accuracy changes nothing: loss and accuracy are always reported \
             (train.csv, eval.csv, test_accuracy), as the diagnosis reads the error rate\n  --> t.dlp:18:20\n"
        ),
        "{warnings}"
    );
    // No closing error count when there are only warnings.
    assert!(
        warnings.to_string().ends_with("and top_k=K\n\n"),
        "{warnings}"
    );
}

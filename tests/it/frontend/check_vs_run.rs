//! `dlp check` refuses what `dlp run` refuses before its first step: each
//! case is one broken CSV pipeline run through both commands, which must
//! print the same error (run's whole stderr, with `--quiet`, is part of
//! check's) with the message given here.

use crate::common::{dlp, stderr, stdout, write};
use std::path::Path;

/// 30 rows of three classes a, b, c, two features.
fn good_csv() -> String {
    let mut s = String::from("x1,x2,label\n");
    for i in 0..30 {
        let class = ["a", "b", "c"][i % 3];
        s.push_str(&format!("{}.5,{},{class}\n", i % 7, (i * 3) % 5));
    }
    s
}

const PIPELINE: &str = "seed 1
data {
  source csv \"d.csv\" label=label
  split train=0.6 valid=0.2 test=0.2
}
model {
  dense 8 activation=relu
  dense 3
}
train {
  loss cross_entropy
  optimizer adam lr=0.01
  batch 8
  epochs 1
}
";

struct Case {
    name: &'static str,
    csv: fn() -> String,
    /// (text in PIPELINE, its replacement)
    edit: (&'static str, &'static str),
    /// The error both commands print (after `error: ` or a location).
    message: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "more output units than classes",
        csv: good_csv,
        edit: ("  dense 3\n", "  dense 10\n"),
        message: "the model ends in 10 units but the data has 3 classes (a, b, c): cross_entropy needs 3 units, one per class",
    },
    Case {
        name: "a text column counted as a feature",
        csv: || {
            good_csv()
                .replacen("x1,x2,label\n", "id,x2,label\n", 1)
                .replacen("\n0.5,", "\nw1,", 1)
        },
        edit: ("", ""),
        message: "d.csv:2: column \"id\": \"w1\" is not a number",
    },
    Case {
        name: "a text cell on a CRLF line",
        csv: || {
            good_csv()
                .replacen("\n3.5,", "\nabc,", 1)
                .replace('\n', "\r\n")
        },
        edit: ("", ""),
        message: "d.csv:5: column \"x1\": \"abc\" is not a number",
    },
    Case {
        name: "an infinite cell",
        csv: || good_csv().replacen("\n1.5,", "\ninf,", 1),
        edit: ("", ""),
        message: "d.csv:3: column \"x1\": \"inf\" is not finite",
    },
    Case {
        name: "an empty label",
        csv: || good_csv().replacen(",c\n", ",\n", 1),
        edit: ("", ""),
        message: "d.csv:4: column \"label\": the label is empty (every row needs one)",
    },
    Case {
        name: "a short row",
        csv: || good_csv().replacen("\n1.5,3,b\n", "\n1.5,b\n", 1),
        edit: ("", ""),
        message: "d.csv:3: 2 fields, the header has 3",
    },
    Case {
        name: "no rows",
        csv: || "x1,x2,label\n".to_string(),
        edit: ("", ""),
        message: "d.csv: no data rows after the header",
    },
    Case {
        name: "split counts beyond the rows",
        csv: good_csv,
        edit: (
            "split train=0.6 valid=0.2 test=0.2",
            "split train=100 test=50",
        ),
        message: "split asks for 100 train + 50 test = 150 samples but d.csv has 30",
    },
    Case {
        name: "binary cross-entropy on three classes",
        csv: good_csv,
        edit: (
            "  dense 3\n}\ntrain {\n  loss cross_entropy",
            "  dense 1 activation=sigmoid\n}\ntrain {\n  loss binary_cross_entropy",
        ),
        message: "the model ends in 1 units but the data has 3 classes (a, b, c): binary_cross_entropy needs one sigmoid unit and two classes",
    },
    Case {
        name: "class weights for two classes of three",
        csv: good_csv,
        edit: ("  epochs 1\n", "  epochs 1\n  class_weight [1, 2]\n"),
        message: "class_weight has 2 weights for 3 classes",
    },
];

fn both(dir: &Path) -> ((i32, String, String), (i32, String)) {
    let p = dir.join("p.dlp");
    let c = dlp().arg("check").arg(&p).output().unwrap();
    let r = dlp()
        .arg("run")
        .arg(&p)
        .arg("--quiet")
        .arg("--out")
        .arg(dir.join("run"))
        .output()
        .unwrap();
    (
        (c.status.code().unwrap_or(-1), stdout(&c), stderr(&c)),
        (r.status.code().unwrap_or(-1), stderr(&r)),
    )
}

#[test]
fn check_refuses_what_run_refuses_before_the_first_step() {
    for case in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("d.csv"), (case.csv)()).unwrap();
        let (from, to) = case.edit;
        assert!(PIPELINE.contains(from), "{}: edit", case.name);
        write(d, "p.dlp", &PIPELINE.replacen(from, to, 1));
        let ((check_code, check_out, check_err), (run_code, run_err)) = both(d);
        assert_eq!(
            check_code, 2,
            "{}: check\n{check_out}{check_err}",
            case.name
        );
        assert!(!check_out.contains(": ok"), "{}: {check_out}", case.name);
        assert_ne!(run_code, 0, "{}: run\n{run_err}", case.name);
        assert!(
            run_err.contains(case.message),
            "{}: run says\n{run_err}",
            case.name
        );
        assert!(
            check_err.contains(run_err.trim_end()),
            "{}: check says\n{check_err}\nrun says\n{run_err}",
            case.name
        );
    }
}

/// The same pipeline, mended, passes both (the table's failures are the
/// cases', not the fixture's).
#[test]
fn the_fixture_passes_check_and_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("d.csv"), good_csv()).unwrap();
    write(d, "p.dlp", PIPELINE);
    let ((check_code, check_out, check_err), (run_code, run_err)) = both(d);
    assert_eq!(check_code, 0, "{check_out}{check_err}");
    assert!(
        check_out.contains("p.dlp: ok (2 layers, 51 parameters)"),
        "{check_out}"
    );
    assert_eq!(run_code, 0, "{run_err}");
}

//! CSV files with CRLF line ends (Windows, Excel, scikit-learn's datasets
//! saved there) are numbered as their lines are: in the loader's errors
//! and in `dlp predict`'s row names, exactly as with LF ends.

use crate::common::{dlp, stderr, stdout, write};
use std::path::Path;

const TRAIN: &str = "x1,x2,label\n0,0,a\n0,1,a\n1,0,b\n1,1,b\n0,0.1,a\n1,0.9,b\n0.1,0,a\n0.9,1,b\n";

const PIPELINE: &str = "seed 1
data {
  source csv \"train.csv\" label=label
  split train=6 test=2 shuffle=false
}
model { dense 2 }
train {
  loss cross_entropy
  optimizer adam lr=0.01
  epochs 1
}
";

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

/// A finished run over TRAIN written with `ends`.
fn trained(dir: &Path, ends: fn(&str) -> String) -> std::path::PathBuf {
    std::fs::write(dir.join("train.csv"), ends(TRAIN)).unwrap();
    let p = write(dir, "p.dlp", PIPELINE);
    let out = dir.join("run");
    let o = dlp()
        .arg("run")
        .arg(&p)
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn predict_names_rows_by_their_line_with_either_line_end() {
    for (ends, name) in [(str::to_string as fn(&str) -> String, "lf"), (crlf, "crlf")] {
        let tmp = tempfile::tempdir().unwrap();
        let run = trained(tmp.path(), ends);
        // A blank-free file: header on line 1, rows on lines 2, 3, 4; the
        // third row's cell is not a number.
        let new = tmp.path().join("new.csv");
        std::fs::write(&new, ends("x2,x1\n1,0\n0,1\nz,1\n")).unwrap();
        let o = dlp().arg("predict").arg(&run).arg(&new).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        let rows: Vec<String> = stdout(&o)
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        let at = |line: usize| format!("{}:{line}", new.display());
        assert_eq!(rows, [at(2), at(3)], "{name}");
        assert!(
            stderr(&o).contains(&format!("{}: column \"x2\": \"z\" is not a number", at(4))),
            "{name}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn loader_errors_name_the_file_line_with_either_line_end() {
    for (ends, name) in [(str::to_string as fn(&str) -> String, "lf"), (crlf, "crlf")] {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        // Line 6 holds the bad cell.
        std::fs::write(
            d.join("train.csv"),
            ends(&TRAIN.replacen("0,0.1,a", "0,x,a", 1)),
        )
        .unwrap();
        let p = write(d, "p.dlp", PIPELINE);
        for command in ["check", "run"] {
            let mut c = dlp();
            c.arg(command).arg(&p);
            if command == "run" {
                c.arg("--quiet").arg("--out").arg(d.join("run"));
            }
            let o = c.output().unwrap();
            assert!(!o.status.success(), "{name} {command}");
            let want = format!(
                "{}:6: column \"x2\": \"x\" is not a number",
                d.join("train.csv").display()
            );
            assert!(
                stderr(&o).contains(&want),
                "{name} {command}: {}",
                stderr(&o)
            );
        }
    }
}

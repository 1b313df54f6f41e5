//! Text from the user's data (class-folder names, CSV labels) stays text
//! wherever it lands: escaped in the report pages (checked in a real
//! browser: no element, attribute or script comes from it, and it reads
//! back as the same characters), quoted in the CSV files, quoted in YAML,
//! and never a path.

use crate::common::{self, browser, skip};
use std::path::Path;

/// A class-folder name that is markup, one with CSV and HTML
/// metacharacters, and a plain one (sorted: the class ids follow).
const HOSTILE: [&str; 3] = ["<img src=x onerror=alert(1)>", "a,\"b\" & 'c'", "red"];

/// `colour_folder`'s images under the hostile class names.
fn hostile_folder(root: &Path) {
    common::colour_folder(root, 12, 4);
    for part in ["train", "test"] {
        for (from, to) in [("blue", HOSTILE[0]), ("green", HOSTILE[1])] {
            std::fs::rename(root.join(part).join(from), root.join(part).join(to)).unwrap();
        }
    }
}

/// The header of a CSV file, read by a CSV parser.
fn read_header(path: &Path) -> Vec<String> {
    csv::Reader::from_path(path)
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .map(String::from)
        .collect()
}

/// The column `i` of a CSV file, read by a CSV parser.
fn csv_column(path: &Path, i: usize) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(|rec| rec.unwrap()[i].to_string()).collect()
}

#[test]
fn class_names_stay_text_in_files_and_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // The data folder's name is YAML's metacharacters.
    let folder = "imgs: {a}, #b 'c' - [d]";
    hostile_folder(&d.join(folder));
    let p = common::write(
        d,
        "h.dlp",
        "seed 3\ndata {\n  source images \"imgs: {a}, #b 'c' - [d]/\"\n  split train=0.75 valid=0.25 test=official\n}\n\
         preprocess { scale 1/255 }\n\
         model {\n  flatten\n  dense 3 activation=softmax\n}\n\
         train {\n  loss cross_entropy\n  epochs 3\n}\n",
    );
    let run = d.join("run");
    let o = common::run_quiet(&p, &run, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let mut sorted = HOSTILE.map(String::from).to_vec();
    sorted.sort();

    // CSV: quoted, so a parser reads each name back whole.
    let confusion = run.join("confusion.csv");
    let header = read_header(&confusion);
    assert_eq!(header[1..], sorted[..], "confusion.csv's header");
    assert_eq!(csv_column(&confusion, 0), sorted, "confusion.csv's rows");
    let data_classes = csv_column(&run.join("data.csv"), 1);
    assert!(
        sorted.iter().all(|c| data_classes.contains(c)),
        "{data_classes:?}"
    );

    // YAML: run.yaml, parsed, holds the folder's name whole.
    fn strings(v: &serde_yaml_ng::Value, out: &mut Vec<String>) {
        match v {
            serde_yaml_ng::Value::String(s) => out.push(s.clone()),
            serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|i| strings(i, out)),
            serde_yaml_ng::Value::Mapping(m) => m.iter().for_each(|(k, v)| {
                strings(k, out);
                strings(v, out);
            }),
            serde_yaml_ng::Value::Tagged(t) => strings(&t.value, out),
            _ => {}
        }
    }
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&common::read(run.join("run.yaml"))).unwrap();
    let mut found = Vec::new();
    strings(&doc, &mut found);
    assert!(
        found.iter().any(|s| s.contains(folder)),
        "run.yaml lost {folder:?}: {found:?}"
    );

    // HTML: escaped in the source...
    let html = common::read(run.join("report.html"));
    assert!(!html.contains(HOSTILE[0]), "raw markup in report.html");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("a,&quot;b&quot; &amp; &#39;c&#39;"));

    // ...and in a real browser: the names read back as text, and nothing
    // they spell became an element, an attribute or a request.
    let Some(exe) = browser::find() else {
        skip::skip_unless_allowed(
            "browser",
            "no headless Chromium on the PATH \
             (apt-get install chromium-headless-shell, or set DLP_BROWSER)",
        );
        return;
    };
    let mut b = browser::Browser::launch(&exe, &d.join("profile"));
    b.open(&run.join("report.html"), 1200, 900, false);
    assert_eq!(
        b.eval("document.querySelectorAll('[onerror], img[src=\"x\"]').length"),
        0
    );
    let shown = b.eval(
        "Array.from(document.querySelectorAll('table.confusion tbody th')).map(t => t.textContent)",
    );
    assert_eq!(shown, serde_json::json!(sorted));
    assert_eq!(b.problems(), Vec::<String>::new());
}

/// Slurm batch scripts: a path that a shell would read as code (the
/// dataset cache here: quotes, `$(…)`, a backtick, a newline) is quoted so
/// that bash reads it back as the same path and runs nothing; a sweep
/// folder whose path cannot go on an `#SBATCH` line is refused by name.
#[test]
fn paths_in_slurm_scripts_are_quoted_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let text = common::small_blobs("") + "sweep grid { train.optimizer.lr = [0.1, 0.01] }\n";
    let p = common::write(d, "lr.dlp", &text);
    let cache = d.join("it's $(touch pwned) `touch pwned2`\nnext");
    let dry_run = |out: &Path| {
        common::dlp()
            .env("DLP_DATA", &cache)
            .current_dir(d)
            .args(["run", p.to_str().unwrap(), "--quiet", "--out"])
            .arg(out)
            .args(["--executor", "slurm", "--dry-run"])
            .output()
            .unwrap()
    };
    let o = dry_run(&d.join("sweep"));
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let script = common::stdout(&o);
    // The export line, and what bash makes of it.
    let start = script
        .find("export DLP_DATA=")
        .expect("an export of DLP_DATA");
    let end = script[start..].find("\nexec ").unwrap() + start;
    let export = &script[start..end];
    let read_back = std::process::Command::new("bash")
        .current_dir(d)
        .args(["-c", &format!("{export}\nprintf %s \"$DLP_DATA\"")])
        .output()
        .unwrap();
    assert!(read_back.status.success());
    assert_eq!(read_back.stdout, cache.to_str().unwrap().as_bytes());
    assert!(!d.join("pwned").exists() && !d.join("pwned2").exists());

    let o = dry_run(&d.join("it's here"));
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert_eq!(
        common::stderr(&o),
        format!(
            "error: {}: the sweep folder's path goes on #SBATCH lines, which cannot hold \
             spaces or quotes; choose another --out\n",
            d.join("it's here").display()
        )
    );
}

/// Every file under `root`, as paths relative to it.
fn tree(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(root).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

/// The terminal: a control character in a path or a label is shown as an
/// escape (`\u{1b}`), never sent raw, so text from the user's files cannot
/// recolour, clear or retitle the terminal a message is read in.
#[test]
fn control_characters_reach_the_terminal_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A run folder whose name clears the screen and retitles the window.
    let p = common::write(
        d,
        "b.dlp",
        &common::small_blobs("").replace("epochs 12", "epochs 1"),
    );
    let run = d.join("run\u{1b}[2J\u{1b}]0;owned\u{7}");
    let o = common::run(&["run", p.to_str().unwrap(), "--out", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let (out, err) = (common::stdout(&o), common::stderr(&o));
    for text in [&out, &err] {
        assert!(!text.contains(['\u{1b}', '\u{7}']), "{text:?}");
    }
    assert!(out.contains("run\\u{1b}[2J\\u{1b}]0;owned\\u{7}"), "{out}");
    // An error naming a path.
    let gone = d.join("gone\u{1b}[31m\u{202e}.dlp");
    let o = common::run(&["check", gone.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    let err = common::stderr(&o);
    assert!(!err.contains(['\u{1b}', '\u{202e}']), "{err:?}");
    assert!(err.contains("gone\\u{1b}[31m\\u{202e}.dlp"), "{err}");
}

/// Labels never become paths: a CSV whose labels are paths out of the run
/// folder (relative, absolute, with a NUL) trains, and every file the run
/// writes is inside its folder.
#[test]
fn labels_that_look_like_paths_stay_inside_the_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let labels = ["../../escaped", "/tmp/dlp-escaped", "..\\\\win"];
    let mut csv = String::from("x,y,label\n");
    for i in 0..60u64 {
        let l = labels[(i % 3) as usize];
        let x = (i % 3) as f64 + f64::from(common::noise(1, i)) / 512.0;
        csv += &format!("{x},{},\"{l}\"\n", f64::from(common::noise(2, i)) / 255.0);
    }
    common::write(d, "paths.csv", &csv);
    let p = common::write(
        d,
        "p.dlp",
        "seed 1\ndata {\n  source csv \"paths.csv\" label=label\n  split train=0.6 valid=0.2 test=0.2\n}\n\
         model {\n  dense 3 activation=softmax\n}\n\
         train {\n  loss cross_entropy\n  epochs 2\n}\n\
         evaluate { metrics accuracy precision confusion }\n",
    );
    let before = tree(d);
    let run = d.join("nested/run");
    let o = common::run_quiet(&p, &run, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let o = common::run(&["report", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let new: Vec<_> = tree(d)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert!(!new.is_empty());
    for f in &new {
        assert!(
            f.starts_with("nested"),
            "{} was written outside the run folder",
            f.display()
        );
    }
    assert!(!Path::new("/tmp/dlp-escaped").exists());
    let confusion = read_header(&run.join("confusion.csv"));
    let mut sorted = labels.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(confusion[1..], sorted[..]);
}

//! `dlp report A B` of two multi-seed folders compares A with B as
//! groups: each metric's mean ± standard deviation over the seeds of each
//! folder, the difference of the means and Welch's p, and the plan lines
//! that differ between the folders, without the seeds the runs of one
//! folder differ by.

use crate::common::*;
use std::path::Path;

/// `--seeds 3` of `small_blobs` into `out`, with `extra` arguments.
fn seeds(p: &Path, out: &Path, extra: &[&str]) {
    let args: Vec<&str> = ["--seeds", "3"].iter().chain(extra).copied().collect();
    let o = run_quiet(p, out, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// The text of the page's section `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[test]
fn two_seed_folders_are_compared_as_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(
        tmp.path(),
        "p.dlp",
        &small_blobs("").replace("epochs 12", "epochs 2"),
    );
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    seeds(&p, &a, &[]);
    seeds(&p, &b, &["--set", "train.optimizer.lr=0.05"]);
    let page = tmp.path().join("cmp.html");
    let o = run(&[
        "report",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = read(&page);
    assert!(html.contains("6 runs in 2 groups"), "{html}");
    let groups = section(&html, "groups");
    let (la, lb) = (a.display().to_string(), b.display().to_string());
    assert!(
        groups.contains(&format!("{la} (3 runs)")) && groups.contains(&format!("{lb} (3 runs)")),
        "{groups}"
    );
    assert!(groups.contains(&format!("{lb} − {la}")), "{groups}");
    assert!(
        groups.contains("p (Welch)") && groups.contains("(n=3)"),
        "{groups}"
    );
    let plans = section(&html, "plans");
    assert!(plans.contains("train.optimizer.lr"), "{plans}");
    assert!(
        plans.contains(">0.01<") && plans.contains(">0.05<"),
        "{plans}"
    );
    // Seeds are what the runs of a folder differ by: no seed line.
    assert!(
        !plans.contains(">seed<") && !plans.contains(".seed<"),
        "{plans}"
    );
}

//! Sweeps on one machine: grid and random trials into their folders, their
//! seeds, the summary, and `dlp plan`'s list of trials.

use super::{column, floats};
use crate::common::*;

#[test]
fn a_grid_sweep_runs_every_trial_into_its_folder_and_summarises() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_blobs("").replace("epochs 12", "epochs 2")
        + "sweep grid {\n  train.optimizer.lr = [0.01, 0.05]\n  train.batch = [16, 32]\n}\n";
    let p = write(tmp.path(), "sweep.dlp", &text);
    let out = tmp.path().join("sweep");
    let o = run_quiet(&p, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = read(out.join("sweep.csv"));
    let lines: Vec<&str> = summary.lines().collect();
    assert!(
        lines[0].starts_with("trial,train.optimizer.lr,train.batch,"),
        "{summary}"
    );
    assert_eq!(lines.len(), 5, "{summary}");
    assert!(
        lines[1].starts_with("1,0.01,16,") && lines[4].starts_with("4,0.05,32,"),
        "{summary}"
    );
    for i in 1..=4 {
        let dir = out.join(format!("trial-{i:03}"));
        assert!(dir.join("eval.csv").exists(), "trial {i}");
    }
    // `dlp status` of a sweep folder says what `dlp sweep status` says.
    let status = run(&["status", out.to_str().unwrap()]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(
        text.starts_with(&format!("{}: 4 trials: 4 done\n", out.display())),
        "{text}"
    );
    assert_eq!(
        text,
        stdout(&run(&["sweep", "status", out.to_str().unwrap()]))
    );
    // The trial's manifest holds the overridden values.
    let yaml = read(out.join("trial-004/run.yaml"));
    assert!(yaml.contains("lr: 0.05"), "{yaml}");

    // Each trial's score is its lowest val_loss (the monitor by default)
    // over the epochs of its train.csv; the best trial has the lowest.
    assert!(
        lines[0].starts_with(
            "trial,train.optimizer.lr,train.batch,status,epochs,best_epoch,best_val_loss,rank,best,loss,accuracy,val_loss,val_accuracy,"
        ),
        "{summary}"
    );
    let scores: Vec<(usize, f64)> = (1..=4)
        .map(|i| {
            let csv = read(out.join(format!("trial-{i:03}/train.csv")));
            let v = floats(&csv, "val_loss");
            let best = (0..v.len()).fold(0, |b, e| if v[e] < v[b] { e } else { b });
            (best + 1, v[best])
        })
        .collect();
    let mut ranked: Vec<usize> = (0..4).collect();
    ranked.sort_by(|&a, &b| scores[a].1.total_cmp(&scores[b].1));
    for (i, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let rank = ranked.iter().position(|&r| r == i).unwrap() + 1;
        assert_eq!(
            cells[3..9],
            [
                "completed".to_string(),
                "2".to_string(),
                scores[i].0.to_string(),
                scores[i].1.to_string(),
                rank.to_string(),
                (rank == 1).to_string()
            ],
            "{line}"
        );
    }
    // The console ends with the ranked table.
    // After each trial's own summary line.
    let table = stdout(&o);
    let rows: Vec<&str> = table.lines().skip(4).collect();
    assert!(
        table
            .lines()
            .take(4)
            .all(|l| l.starts_with("sweep: val_accuracy ")),
        "{table}"
    );
    assert_eq!(
        rows[0],
        "rank  trial  train.optimizer.lr  train.batch  status     epochs  best val_loss (epoch)"
    );
    let first = ranked[0];
    assert!(
        rows[1].starts_with(&format!("1     {}  ", first + 1)),
        "{table}"
    );
    assert!(
        rows[1].ends_with(&format!("({})  ← best", scores[first].0)),
        "{table}"
    );
    assert!(
        rows[5].starts_with(
            "sweep: 4 of 4 trials ended, ranked by their best val_loss (lowest first) → "
        ),
        "{table}"
    );
    for f in ["sweep.png", "sweep.svg", "sweep.yaml"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let png = image::open(out.join("sweep.png")).unwrap();
    assert_eq!((png.width(), png.height()), (1500, 650));
    let svg = read(out.join("sweep.svg"));
    for text in [
        "val_loss per epoch, one line per trial",
        "best val_loss by train.optimizer.lr",
        "1: lr=0.01, batch=16",
        "best: trial",
    ] {
        assert!(svg.contains(text), "{text} is not in the picture");
    }
    // The comparison page: written into the sweep folder, a curve per
    // trial in each chart, the swept values from sweep.csv against the
    // best val_loss, and what each trial changed.
    let o = run(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("{}\n", out.join("report.html").display())
    );
    let page = read(out.join("report.html"));
    for i in 1..=4 {
        let series = format!("<g class=\"series\" data-series=\"trial-00{i}\"");
        // Four curve charts and two scatter charts (lr, batch).
        assert_eq!(page.matches(&series).count(), 6, "trial {i}");
        assert!(page.contains(&format!(
            "<a href=\"trial-00{i}/report.html\">trial-00{i}</a>"
        )));
    }
    for text in [
        "the trials of a sweep over train.optimizer.lr, train.batch",
        "best val_loss by train.optimizer.lr",
        "<li><b>trial-002</b>: train.batch 16 → 32</li>",
        "<li><b>trial-004</b>: train.optimizer.lr 0.01 → 0.05, train.batch 16 → 32</li>",
    ] {
        assert!(page.contains(text), "{text}");
    }
    // Written again, the same bytes.
    let again = tmp.path().join("again.html");
    let o = run(&[
        "report",
        out.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read(&again).replace("href=\"sweep/", "href=\""), page);
}

/// `dlp plan` lists the trials a sweep will run, with their values (and,
/// for random sweeps, their seeds), before any compute.
#[test]
fn plan_lists_the_trials_of_a_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&["plan", "pipelines/lr_sweep.dlp"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).ends_with(
            "\nsweep grid\n  ranked by monitor=val_loss (default) goal=min (default) prune=none (default)\n  \
             train.optimizer.lr = [1, 0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6]\n  \
             7 trials, each a run into its folder:\n    \
             trial-001  train.optimizer.lr=1\n    trial-002  train.optimizer.lr=0.1\n    \
             trial-003  train.optimizer.lr=0.01\n    trial-004  train.optimizer.lr=0.001\n    \
             trial-005  train.optimizer.lr=1e-4\n    trial-006  train.optimizer.lr=1e-5\n    \
             trial-007  train.optimizer.lr=1e-6\n"
        ),
        "{}",
        stdout(&o)
    );
    let text = small_blobs("early_stop monitor=val_accuracy")
        + "sweep random trials=2 seed=3 prune=median warmup=2 {\n  train.batch = [16, 32]\n}\n";
    let p = write(tmp.path(), "r.dlp", &text);
    let o = run(&["plan", p.to_str().unwrap()]);
    let seeds: Vec<u64> = (0..2)
        .map(|i| dlp::plan::trials::trial_seed(3, i))
        .collect();
    let plan = dlp::analyze::load(&p, &[]).unwrap();
    let trials = dlp::plan::trials::trials(plan.sweep.as_ref().unwrap()).unwrap();
    let batch = |i: usize| dlp::plan::trials::value_text(&trials[i][0].1);
    assert!(
        stdout(&o).ends_with(&format!(
            "\nsweep random trials=2 seed=3\n  ranked by monitor=val_accuracy (default) goal=max (default) prune=median warmup=2 startup=5 (default)\n  \
             train.batch = [16, 32]\n  2 trials, each a run into its folder:\n    \
             trial-001  train.batch={} seed={}\n    trial-002  train.batch={} seed={}\n",
            batch(0),
            seeds[0],
            batch(1),
            seeds[1]
        )),
        "{}",
        stdout(&o)
    );
}

/// The pipeline seeds of a sweep's trials, from each trial's `run.yaml`.
fn trial_seeds(sweep: &std::path::Path, trials: usize) -> Vec<u64> {
    (1..=trials)
        .map(|i| {
            let dir = sweep.join(format!("trial-{i:03}"));
            dlp::records::Manifest::read(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .plan
                .seed
        })
        .collect()
}

/// `sweep random` end to end. Each trial gets its own pipeline seed through
/// `--set seed=…`; those seeds once reached 2⁶³ and the analyzer rejected
/// them, stopping most sweeps part-way. Trial seeds and values follow
/// `sweep … seed=`, not the pipeline seed, and the same seed reproduces the
/// sweep.
#[test]
fn a_random_sweep_runs_for_any_seed_and_follows_its_own_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let base = small_blobs("").replace("epochs 12", "epochs 1");
    let axes = "  train.optimizer.lr = loguniform(1e-3, 1e-1)\n  train.batch = [16, 32]\n}\n";
    let seeded = write(
        tmp.path(),
        "s11.dlp",
        &format!("{base}sweep random trials=3 seed=11 {{\n{axes}"),
    );
    let sweep = |p: &std::path::Path, name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let o = run_quiet(p, &out, extra);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        out
    };
    let a = sweep(&seeded, "a", &[]);
    let summary = read(a.join("sweep.csv"));
    assert_eq!(summary.lines().count(), 4, "{summary}");
    let seeds = trial_seeds(&a, 3);
    assert!(
        seeds[0] != seeds[1] && seeds[1] != seeds[2] && seeds[0] != seeds[2],
        "{seeds:?}"
    );
    let lrs = column(&summary, "train.optimizer.lr");
    for lr in &lrs {
        let lr: f64 = lr.parse().unwrap();
        assert!((1e-3..=1e-1).contains(&lr), "{summary}");
    }
    // The trial ran with the drawn values: its manifest holds them.
    let m = dlp::records::Manifest::read(&a.join("trial-002")).unwrap();
    assert_eq!(format!("{:?}", m.plan.train.optimizer.lr()), lrs[1]);

    // Same sweep seed, another pipeline seed: same trial seeds and values,
    // and the same sweep.csv byte for byte as a rerun.
    let b = sweep(&seeded, "b", &["--set", "seed=8"]);
    assert_eq!(trial_seeds(&b, 3), seeds);
    assert_eq!(
        column(&read(b.join("sweep.csv")), "train.optimizer.lr"),
        lrs
    );
    let again = sweep(&seeded, "again", &[]);
    assert_eq!(read(again.join("sweep.csv")), summary);

    // Another sweep seed: other trial seeds and other values.
    let other = write(
        tmp.path(),
        "s12.dlp",
        &format!("{base}sweep random trials=3 seed=12 {{\n{axes}"),
    );
    let c = sweep(&other, "c", &[]);
    let other_seeds = trial_seeds(&c, 3);
    assert!(
        other_seeds.iter().all(|s| !seeds.contains(s)),
        "{other_seeds:?}"
    );
    assert_ne!(
        column(&read(c.join("sweep.csv")), "train.optimizer.lr"),
        lrs
    );

    // Without sweep seed= the trial seeds derive from the pipeline seed: every
    // pipeline seed completes (with 2 trials, 4 pipeline seeds once passed
    // together one time in 256).
    let unseeded = write(
        tmp.path(),
        "u.dlp",
        &format!("{base}sweep random trials=2 {{\n{axes}"),
    );
    let mut all = Vec::new();
    for s in 0..4 {
        let seed = format!("seed={s}");
        let d = sweep(&unseeded, &format!("u{s}"), &["--set", &seed]);
        all.extend(trial_seeds(&d, 2));
    }
    let unique: std::collections::BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "{all:?}");
}

//! The comparison page of `dlp report`: several runs (a sweep's trials,
//! the runs of one pipeline under several seeds, or any run folders) on
//! one page — their curves overlaid, a table of final metrics with the
//! best of each column marked (and mean and standard deviation when
//! there are several), the swept values against the monitored metric, and
//! what differs between their resolved plans.

use super::chart::{self, Chart, Kind, Series};
use super::files::RunFiles;
use super::html::{self, Table, escape, fmt};
use super::run::{badge, chart_grid, monitor, per_class};
use crate::error::{Error, Result};
use crate::metrics::stats::{Summary, welch};
use crate::plan::Mode;
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// One run on the page.
#[derive(Debug, Clone)]
pub(crate) struct Compared {
    /// How the page names it (`trial-003`, `20261201-101010`).
    pub label: String,
    /// A link to its own page, relative to the comparison page.
    pub href: Option<String>,
    pub files: RunFiles,
}

/// Runs that belong together: the seeds of one multi-seed folder given to
/// `dlp report A B`, compared as a whole against the other folders.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// How the page names it (the folder given).
    pub label: String,
    /// Its runs, as indices into the page's runs.
    pub runs: Vec<usize>,
}

/// A sweep's axes and each trial's values (from `sweep.csv`), by label.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SweepValues {
    pub axes: Vec<String>,
    pub values: HashMap<String, Vec<String>>,
}

/// A run's resolved plan (and seed) as `path → value` lines, in the
/// plan's order, named as the language and `--set` name them: a
/// statement's variant as its value and the variant's fields below it
/// (`train.optimizer = adam`, `train.optimizer.lr`), a count as its value
/// (`train.batch = 32`), layers by name (`model.dense_1.units`);
/// source positions and the list of defaults are left out.
pub(crate) fn flatten_plan(files: &RunFiles) -> Result<Vec<(String, String)>> {
    let value = serde_yaml_ng::to_value(&files.manifest).map_err(|e| {
        Error::Runtime(format!(
            "{}: cannot read the plan: {e}",
            files.dir.display()
        ))
    })?;
    let mut out = Vec::new();
    if let Some(Value::Mapping(plan)) = value.get("plan") {
        fields(plan, "", &mut out);
    }
    Ok(out)
}

/// Lines left out: source positions, the list of defaults, and what the
/// analyzer derives from a layer's parameters (its shapes and counts) or
/// names it by (its name, already in the path).
const SKIPPED: [&str; 3] = ["loc", "source_loc", "defaults"];
const DERIVED: [&str; 5] = ["input", "output", "params", "trainable", "name"];
/// Fields that hold nothing but a statement's variant (`optimizer.kind`,
/// a layer's `layer`): their lines are the statement's own.
const WRAPPERS: [&str; 2] = ["kind", "layer"];
/// Variants around a single value (`batch 32` is `size: 32`, `test=200`
/// is `size: {count: 200}`, `source cifar10` is `builtin: cifar10`):
/// their line is that value.
const NEWTYPES: [&str; 4] = ["size", "count", "fraction", "builtin"];

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("none".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// An enum's variant as serialised: a word (a unit variant) or a one-key
/// mapping around the variant's value.
fn is_variant(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Mapping(m) => m.len() == 1,
        _ => false,
    }
}

/// The lines of a value at `path`.
fn flatten(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Mapping(m) => {
            // An enum is a one-key mapping around its variant's value.
            if let [(k, inner)] = m.iter().collect::<Vec<_>>().as_slice()
                && let Some(variant) = scalar(k)
            {
                if NEWTYPES.contains(&variant.as_str()) {
                    return flatten(inner, path, out);
                }
                if let Value::Mapping(body) = inner {
                    out.push((path.to_string(), variant));
                    return fields(body, path, out);
                }
            }
            fields(m, path, out);
        }
        Value::Sequence(items) => {
            let names: Option<Vec<&str>> = items
                .iter()
                .map(|i| i.get("name").and_then(Value::as_str))
                .collect();
            let scalars: Option<Vec<String>> = items.iter().map(scalar).collect();
            match (names, scalars) {
                (_, Some(s)) => out.push((path.to_string(), format!("[{}]", s.join(", ")))),
                (Some(names), _) if !items.is_empty() => {
                    for (item, name) in items.iter().zip(names) {
                        // Layers by the name `dlp plan` shows and `--set`
                        // takes: `model.dense_1.units`.
                        let child = match path {
                            "model.layers" => format!("model.{name}"),
                            _ => format!("{path}[{name}]"),
                        };
                        flatten(item, &child, out);
                    }
                }
                _ => {
                    for (i, item) in items.iter().enumerate() {
                        flatten(item, &format!("{path}[{i}]"), out);
                    }
                }
            }
        }
        Value::Tagged(t) => flatten(&t.value, path, out),
        other => out.push((path.to_string(), scalar(other).unwrap_or_default())),
    }
}

/// The lines of a struct's fields (or a variant's) below `path`.
fn fields(m: &serde_yaml_ng::Mapping, path: &str, out: &mut Vec<(String, String)>) {
    let in_layer = m.contains_key("name") && m.contains_key("layer");
    for (k, v) in m {
        let key = scalar(k).unwrap_or_else(|| format!("{k:?}"));
        if SKIPPED.contains(&key.as_str()) || (in_layer && DERIVED.contains(&key.as_str())) {
            continue;
        }
        let child = if WRAPPERS.contains(&key.as_str()) && is_variant(v) {
            path.to_string()
        } else if path.is_empty() {
            key
        } else {
            format!("{path}.{key}")
        };
        flatten(v, &child, out);
    }
}

/// The plan lines that are not the same in every run: each path with every
/// run's value (`–` where a run has no such line), in first-seen order.
pub(crate) fn plan_differences(plans: &[Vec<(String, String)>]) -> Vec<(String, Vec<String>)> {
    let mut order: Vec<&str> = Vec::new();
    let maps: Vec<HashMap<&str, &str>> = plans
        .iter()
        .map(|p| p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .collect();
    for p in plans {
        for (k, _) in p {
            if !order.contains(&k.as_str()) {
                order.push(k);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| {
            let values: Vec<String> = maps
                .iter()
                .map(|m| m.get(k).map_or("–".to_string(), |v| v.to_string()))
                .collect();
            values
                .iter()
                .any(|v| *v != values[0])
                .then(|| (k.to_string(), values))
        })
        .collect()
}

/// The metric columns of the table: every final metric of any run but the
/// per-class ones, test first, then validation, then training.
fn metric_columns(runs: &[Compared]) -> Vec<String> {
    let mut names: Vec<String> = runs
        .iter()
        .flat_map(|r| r.files.manifest.final_metrics.keys().cloned())
        .filter(|k| !per_class(k))
        .collect();
    names.sort_by_key(|n| {
        let group = if n.starts_with("test_") {
            0
        } else if n.starts_with("val_") {
            1
        } else {
            2
        };
        let lead = [
            "test_accuracy",
            "test_loss",
            "val_accuracy",
            "val_loss",
            "accuracy",
            "loss",
        ]
        .iter()
        .position(|l| l == n)
        .unwrap_or(9);
        (group, lead, n.clone())
    });
    names.dedup();
    names
}

/// Which cells of a column are the best (by the metric's direction); none
/// when fewer than two runs have a finite value.
fn best_cells(values: &[Option<f64>], mode: Mode) -> Vec<bool> {
    let finite: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    // Nothing to single out when fewer than two runs have the metric or
    // they all have the same value.
    if finite.len() < 2 || finite.iter().all(|v| *v == finite[0]) {
        return vec![false; values.len()];
    }
    let best = match mode {
        Mode::Min => finite.iter().copied().fold(f64::INFINITY, f64::min),
        Mode::Max => finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    };
    values.iter().map(|v| *v == Some(best)).collect()
}

/// Mean and sample standard deviation (n − 1) of the finite values.
pub(crate) fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return None;
    }
    if v.iter().all(|x| *x == v[0]) {
        return Some((v[0], 0.0));
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    Some((mean, var.sqrt()))
}

fn label_cell(r: &Compared) -> String {
    match &r.href {
        Some(h) => format!("<a href=\"{}\">{}</a>", escape(h), escape(&r.label)),
        None => escape(&r.label),
    }
}

fn metrics_table(runs: &[Compared], sweep: Option<&SweepValues>) -> String {
    let columns = metric_columns(runs);
    let axes: &[String] = sweep.map_or(&[], |s| &s.axes);
    let mut head: Vec<&str> = vec!["run", "status", "epochs", "best epoch"];
    head.extend(axes.iter().map(String::as_str));
    head.extend(columns.iter().map(String::as_str));
    let mut t = Table::new("compare", &head);
    let values: Vec<Vec<Option<f64>>> = columns
        .iter()
        .map(|c| {
            runs.iter()
                .map(|r| r.files.manifest.final_metrics.get(c).copied())
                .collect()
        })
        .collect();
    let best: Vec<Vec<bool>> = columns
        .iter()
        .zip(&values)
        .map(|(c, v)| best_cells(v, Mode::for_metric(c)))
        .collect();
    for (i, r) in runs.iter().enumerate() {
        let m = &r.files.manifest;
        let mut row = vec![
            label_cell(r),
            badge(m.status),
            r.files
                .history
                .last()
                .map_or("–".into(), |l| l.epoch.to_string()),
            m.best_epoch.map_or("–".into(), |e| e.to_string()),
        ];
        for (a, _) in axes.iter().enumerate() {
            let v = sweep
                .and_then(|s| s.values.get(&r.label))
                .and_then(|v| v.get(a))
                .map_or("–".to_string(), |v| v.clone());
            row.push(escape(&v));
        }
        for (c, _) in columns.iter().enumerate() {
            if best[c][i] {
                t.mark(i, row.len(), "best");
            }
            row.push(values[c][i].map_or("–".into(), fmt));
        }
        t.rows.push(row);
    }
    if runs.len() >= 2 {
        let lead = 4 + axes.len();
        for (name, pick) in [("mean", 0), ("std", 1)] {
            let mut row = vec![name.to_string()];
            row.extend(std::iter::repeat_n(String::new(), lead - 1));
            for v in &values {
                let finite: Vec<f64> = v.iter().flatten().copied().collect();
                row.push(
                    mean_std(&finite)
                        .map_or("–".into(), |ms| fmt(if pick == 0 { ms.0 } else { ms.1 })),
                );
            }
            t.push_marked(row, "sum");
        }
    }
    t.html()
}

/// The overlaid curves: one series per run in each chart.
fn curve_charts(runs: &[Compared]) -> Vec<Chart> {
    let specs = [
        ("cmp-val-loss", "Validation loss", "val_loss", false),
        (
            "cmp-val-accuracy",
            "Validation accuracy",
            "val_accuracy",
            true,
        ),
        ("cmp-loss", "Training loss", "loss", false),
        ("cmp-accuracy", "Training accuracy", "accuracy", true),
    ];
    specs
        .iter()
        .map(|&(id, title, metric, unit)| {
            let mut c = Chart::new(id, title, "epoch", metric, Kind::Line);
            c.unit_y = unit;
            for (i, r) in runs.iter().enumerate() {
                let pts: Vec<(f64, f64)> = r
                    .files
                    .history
                    .series(metric)
                    .into_iter()
                    .map(|(e, v)| (e as f64, v))
                    .collect();
                if !pts.is_empty() {
                    c.series.push(Series::new(&r.label, chart::colour(i), pts));
                }
            }
            c
        })
        .filter(Chart::has_data)
        .collect()
}

/// The metric the scatter charts read: the first run's monitor, else the
/// validation loss, else the training loss; with its direction.
fn scatter_metric(runs: &[Compared]) -> (String, Mode) {
    if let Some(m) = runs.first().and_then(|r| monitor(&r.files.manifest.plan)) {
        return m;
    }
    let has = |name: &str| {
        runs.iter()
            .any(|r| !r.files.history.series(name).is_empty())
    };
    let name = if has("val_loss") { "val_loss" } else { "loss" };
    (name.to_string(), Mode::Min)
}

/// The best value of `metric` over a run's epochs.
fn best_value(files: &RunFiles, metric: &str, mode: Mode) -> Option<f64> {
    let epoch = files.history.best_epoch(metric, mode)?;
    files.history.row(epoch)?.get(metric)
}

/// The scatter charts: each swept value (or each numeric plan line that
/// differs, seeds derived from the pipeline seed aside) against the best
/// value of the monitored metric; a point per run.
fn scatter_charts(
    runs: &[Compared],
    sweep: Option<&SweepValues>,
    diffs: &[(String, Vec<String>)],
) -> (String, Vec<Chart>) {
    let (metric, mode) = scatter_metric(runs);
    let axes: Vec<(String, Vec<Option<f64>>)> = match sweep {
        Some(s) => s
            .axes
            .iter()
            .enumerate()
            .map(|(a, name)| {
                let xs = runs
                    .iter()
                    .map(|r| {
                        s.values
                            .get(&r.label)
                            .and_then(|v| v.get(a))
                            .and_then(|v| v.parse::<f64>().ok())
                    })
                    .collect();
                (name.clone(), xs)
            })
            .collect(),
        None => diffs
            .iter()
            .filter(|(path, _)| path == "seed" || !path.ends_with("seed"))
            .map(|(path, values)| {
                (
                    path.clone(),
                    values.iter().map(|v| v.parse::<f64>().ok()).collect(),
                )
            })
            .collect(),
    };
    let mut charts = Vec::new();
    for (a, (name, xs)) in axes.iter().enumerate() {
        if xs.iter().flatten().count() < 2 || charts.len() == 6 {
            continue;
        }
        let mut c = Chart::new(
            &format!("cmp-sweep-{a}"),
            &format!("best {metric} by {name}"),
            name,
            &format!("best {metric}"),
            Kind::Scatter,
        );
        c.log_x = chart::wants_log(xs.iter().flatten().copied());
        for (i, (r, x)) in runs.iter().zip(xs).enumerate() {
            if let (Some(x), Some(y)) = (x, best_value(&r.files, &metric, mode)) {
                let mut s = Series::new(&r.label, chart::colour(i), vec![(*x, y)]);
                s.labels = vec![r.label.clone()];
                c.series.push(s);
            }
        }
        if c.has_data() {
            charts.push(c);
        }
    }
    (metric, charts)
}

fn differences_section(runs: &[Compared], diffs: &[(String, Vec<String>)]) -> String {
    if diffs.is_empty() {
        return html::section(
            "plans",
            "Plan differences",
            "<p>The resolved plans are identical: the runs differ only by what the plan does not fix (the device, the thread count, nondeterminism).</p>\n",
        );
    }
    let mut head = vec!["plan line"];
    head.extend(runs.iter().map(|r| r.label.as_str()));
    let mut t = Table::new("plans", &head);
    for (r, (path, values)) in diffs.iter().enumerate() {
        let mut row = vec![escape(path)];
        for (i, v) in values.iter().enumerate() {
            if i > 0 && *v != values[0] {
                t.mark(r, i + 1, "changed");
            }
            row.push(escape(v));
        }
        t.rows.push(row);
    }
    let mut s = String::from("<p class=\"muted\">Each run against the first:</p>\n<ul>");
    for (i, r) in runs.iter().enumerate().skip(1) {
        let changed: Vec<&(String, Vec<String>)> =
            diffs.iter().filter(|(_, v)| v[i] != v[0]).collect();
        // A changed variant implies its fields: `train.optimizer adam →
        // rmsprop` without every `train.optimizer.beta1 0.9 → –` under it.
        let changes: Vec<String> = changed
            .iter()
            .filter(|(path, _)| {
                !changed
                    .iter()
                    .any(|(p, _)| path.len() > p.len() && path.starts_with(&format!("{p}.")))
            })
            .map(|(path, v)| format!("{path} {} → {}", v[0], v[i]))
            .collect();
        let text = if changes.is_empty() {
            "the same plan".to_string()
        } else if changes.len() > 8 {
            format!(
                "{}, and {} more",
                changes[..8].join(", "),
                changes.len() - 8
            )
        } else {
            changes.join(", ")
        };
        let _ = write!(s, "<li><b>{}</b>: {}</li>", escape(&r.label), escape(&text));
    }
    s.push_str("</ul>\n");
    s.push_str(&t.html());
    html::section("plans", "Plan differences", &s)
}

/// Whether a plan line is a seed (the pipeline's, or one derived from it
/// or written for a statement): what the runs of a multi-seed folder differ
/// by on purpose.
fn is_seed(path: &str) -> bool {
    path == "seed" || path.ends_with(".seed") || path.ends_with("_seed")
}

/// `mean ± sd (n)` of the finite values.
fn mean_sd_cell(values: &[f64]) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    match Summary::of(&finite) {
        Summary { n: 0, .. } => "–".into(),
        Summary { n: 1, mean, .. } => format!("{} (n=1)", fmt(mean)),
        Summary { n, mean, sd, .. } => format!("{} ± {} (n={n})", fmt(mean), fmt(sd)),
    }
}

/// The groups' final metrics side by side: mean ± standard deviation over
/// each group's runs, and each later group against the first: the
/// difference of the means and Welch's t-test (p; two runs or more a side).
fn groups_section(runs: &[Compared], groups: &[Group]) -> String {
    let columns = metric_columns(runs);
    let mut head: Vec<String> = vec!["metric".into()];
    head.extend(groups.iter().map(|g| g.label.clone()));
    for g in &groups[1..] {
        head.push(format!("{} − {}", g.label, groups[0].label));
        head.push("p (Welch)".into());
    }
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut t = Table::new("groups", &head_refs);
    let values = |g: &Group, c: &str| -> Vec<f64> {
        g.runs
            .iter()
            .filter_map(|&i| runs[i].files.manifest.final_metrics.get(c).copied())
            .collect()
    };
    for c in &columns {
        let mut row = vec![escape(c)];
        row.extend(groups.iter().map(|g| escape(&mean_sd_cell(&values(g, c)))));
        let first = values(&groups[0], c);
        for g in &groups[1..] {
            let other = values(g, c);
            let diff = if first.is_empty() || other.is_empty() {
                "–".to_string()
            } else {
                let d = Summary::of(&other).mean - Summary::of(&first).mean;
                format!("{}{}", if d >= 0.0 { "+" } else { "" }, fmt(d))
            };
            row.push(escape(&diff));
            row.push(welch(&other, &first).map_or("–".into(), |w| fmt(w.p)));
        }
        t.rows.push(row);
    }
    let intro = format!(
        "<p class=\"muted\">Each column is one folder given to dlp report, over its runs (seeds): {}. A small p says the difference is unlikely to be seed noise alone.</p>\n",
        groups
            .iter()
            .map(|g| format!("{} ({} runs)", escape(&g.label), g.runs.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    html::section("groups", "Groups compared", &format!("{intro}{}", t.html()))
}

/// What differs between the groups' plans: a line per plan line of
/// `diffs` (the runs' differences, seeds already left out: the runs of a
/// group differ by them on purpose) whose value is one within each group
/// and differs between groups; any other line that varies inside a group
/// says so.
fn group_differences_section(diffs: &[(String, Vec<String>)], groups: &[Group]) -> String {
    let mut head = vec!["plan line"];
    head.extend(groups.iter().map(|g| g.label.as_str()));
    let mut t = Table::new("plans", &head);
    for (path, values) in diffs {
        let cells: Vec<String> = groups
            .iter()
            .map(|g| {
                let mut seen: Vec<&str> = g.runs.iter().map(|&i| values[i].as_str()).collect();
                seen.dedup();
                match seen.as_slice() {
                    [one] => (*one).to_string(),
                    _ => format!("varies: {}", seen.join(", ")),
                }
            })
            .collect();
        if cells.iter().all(|c| *c == cells[0]) {
            continue;
        }
        let mut row = vec![escape(path)];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 && *c != cells[0] {
                t.mark(t.rows.len(), i + 1, "changed");
            }
            row.push(escape(c));
        }
        t.rows.push(row);
    }
    let seeds =
        "<p class=\"muted\">The seeds, which the runs of a folder differ by, are left out.</p>\n";
    let body = if t.rows.is_empty() {
        format!("{seeds}<p>The groups' plans are identical: they differ only by their seeds.</p>\n")
    } else {
        format!("{seeds}{}", t.html())
    };
    html::section("plans", "Plan differences", &body)
}

/// The comparison page; `title` heads it (the folders compared). With two
/// groups or more, the groups are compared as wholes and their plans
/// without the seeds.
pub(crate) fn render(
    runs: &[Compared],
    sweep: Option<&SweepValues>,
    groups: &[Group],
    title: &str,
) -> Result<String> {
    let grouped = groups.len() >= 2;
    let mut data = BTreeMap::new();
    let plans = runs
        .iter()
        .map(|r| flatten_plan(&r.files))
        .collect::<Result<Vec<_>>>()?;
    let mut diffs = plan_differences(&plans);
    if grouped {
        diffs.retain(|(p, _)| !is_seed(p));
    }
    let what = match sweep {
        Some(s) => format!("the trials of a sweep over {}", s.axes.join(", ")),
        None if grouped => format!("{} runs in {} groups", runs.len(), groups.len()),
        None => format!("{} runs", runs.len()),
    };
    let mut body = format!(
        "<header>\n<h1>{}</h1>\n<p>{}: {}.</p>\n<nav>{}<a href=\"#metrics\">Final metrics</a><a href=\"#curves\">Curves</a><a href=\"#sweep\">Swept values</a><a href=\"#plans\">Plan differences</a></nav>\n</header>\n",
        escape(title),
        escape(&what),
        runs.iter().map(label_cell).collect::<Vec<_>>().join(", "),
        if grouped {
            "<a href=\"#groups\">Groups</a>"
        } else {
            ""
        }
    );
    if grouped {
        body.push_str(&groups_section(runs, groups));
    }
    body.push_str(&html::section(
        "metrics",
        "Final metrics",
        &format!(
            "<p class=\"muted\">From each run's run.yaml; ★ marks the best of a column (lowest for losses and errors, highest otherwise).</p>\n{}",
            metrics_table(runs, sweep)
        ),
    ));
    let mut legend = String::from("<div class=\"legend\">");
    for (i, r) in runs.iter().enumerate() {
        let _ = write!(
            legend,
            "<span><i class=\"solid\" style=\"border-color:{}\"></i>{}</span>",
            chart::colour(i),
            escape(&r.label)
        );
    }
    legend.push_str("</div>\n");
    let charts = curve_charts(runs);
    let curves = if charts.is_empty() {
        "<p class=\"muted\">No run has a finished epoch.</p>\n".to_string()
    } else {
        format!("{legend}{}", chart_grid(&charts, false, &mut data)?)
    };
    body.push_str(&html::section("curves", "Curves", &curves));
    let (metric, scatters) = scatter_charts(runs, sweep, &diffs);
    let sweep_body = if scatters.is_empty() {
        "<p class=\"muted\">No numeric value differs between the runs.</p>\n".to_string()
    } else {
        format!(
            "<p class=\"muted\">Each point is a run: its {} against the best {metric} over its epochs.</p>\n{legend}{}",
            if sweep.is_some() {
                "swept value"
            } else {
                "value of a plan line that differs"
            },
            chart_grid(&scatters, false, &mut data)?
        )
    };
    body.push_str(&html::section("sweep", "Swept values", &sweep_body));
    if grouped {
        body.push_str(&group_differences_section(&diffs, groups));
    } else {
        body.push_str(&differences_section(runs, &diffs));
    }
    body.push_str("<footer class=\"muted\"><p>Written by dlp report from the files of the run folders.</p></footer>\n");
    Ok(html::page(
        &format!("{title} · dlp report"),
        &body,
        &html::json(&data)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_keep_only_what_changes() {
        let a = vec![
            ("seed".to_string(), "1".to_string()),
            ("train.optimizer.lr".to_string(), "0.001".to_string()),
            ("train.epochs".to_string(), "5".to_string()),
        ];
        let mut b = a.clone();
        b[1].1 = "0.01".into();
        b.push(("train.checkpoint.monitor".into(), "val_loss".into()));
        let d = plan_differences(&[a, b]);
        assert_eq!(
            d,
            vec![
                (
                    "train.optimizer.lr".to_string(),
                    vec!["0.001".to_string(), "0.01".to_string()]
                ),
                (
                    "train.checkpoint.monitor".to_string(),
                    vec!["–".to_string(), "val_loss".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn best_cells_follow_the_direction_and_keep_ties() {
        let v = [Some(0.5), Some(0.2), None, Some(0.2)];
        assert_eq!(best_cells(&v, Mode::Min), [false, true, false, true]);
        assert_eq!(best_cells(&v, Mode::Max), [true, false, false, false]);
        assert_eq!(best_cells(&[Some(1.0), None], Mode::Max), [false, false]);
        assert_eq!(
            best_cells(&[Some(0.99), Some(0.99)], Mode::Max),
            [false, false]
        );
    }

    #[test]
    fn mean_and_sample_std() {
        // numpy: np.mean([0.9, 0.8, 0.7]) = 0.8, np.std(..., ddof=1) = 0.1
        let (m, s) = mean_std(&[0.9, 0.8, 0.7, f64::NAN]).unwrap();
        assert!(
            (m - 0.8).abs() < 1e-12 && (s - 0.1).abs() < 1e-12,
            "{m} {s}"
        );
        assert_eq!(mean_std(&[1.0]), None);
        // Equal values: no rounding noise (three 0.99 sum to 2.9699999999999998).
        assert_eq!(mean_std(&[0.99, 0.99, 0.99]), Some((0.99, 0.0)));
    }

    #[test]
    fn plans_flatten_as_the_language_names_them() {
        // As serde writes a plan: `kind` and a layer's `layer` hold a
        // variant; `batch` a count in a `size` variant; `test` a count in
        // `size: {count: …}`; a layer's name and derived shapes are left out.
        let yaml = "\
train:
  optimizer:
    kind:
      adam:
        lr: 0.001
    clip_norm: null
    loc: {line: 1, column: 2}
  batch:
    size: 32
data:
  source:
    blobs:
      samples: 100
  other_source:
    builtin: cifar10
  split:
    test:
      size:
        count: 200
    stratify: false
model:
  layers:
  - name: dense
    layer:
      dense:
        units: 3
    params: 9
  - name: flatten
    layer: flatten
metrics: [precision, f1]
diagnose:
  human_error: 0.05
";
        let Value::Mapping(m) = serde_yaml_ng::from_str(yaml).unwrap() else {
            panic!()
        };
        let mut out = Vec::new();
        fields(&m, "", &mut out);
        let text: Vec<String> = out.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            text,
            [
                "train.optimizer=adam",
                "train.optimizer.lr=0.001",
                "train.optimizer.clip_norm=none",
                "train.batch=32",
                "data.source=blobs",
                "data.source.samples=100",
                "data.other_source=cifar10",
                "data.split.test=200",
                "data.split.stratify=false",
                "model.dense=dense",
                "model.dense.units=3",
                "model.flatten=flatten",
                "metrics=[precision, f1]",
                "diagnose.human_error=0.05",
            ]
        );
    }
}

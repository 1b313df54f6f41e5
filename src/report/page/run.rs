//! The page of one run, `report.html`: summary and status, learning
//! curves, test results (metrics, confusion heatmap, per-class table,
//! misclassified images), diagnosis, data, model and resolved plan.

use super::chart::{self, Chart, Kind, Mark, Series};
use super::files::RunFiles;
use super::html::{self, Table, escape, fmt, pct};
use crate::data::preprocess::{PreprocessStats, Scope, Step};
use crate::error::Result;
use crate::plan::summary::{describe, keras_type, thousands};
use crate::plan::{Mode, Plan};
use crate::records::{Manifest, Status};
use crate::report::confusion_plot::{blues, row_rates};
use crate::report::curves;
use base64::Engine;
use plotters::style::RGBColor;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The status as a coloured badge.
pub(crate) fn badge(status: Status) -> String {
    let class = match status {
        Status::Completed | Status::StoppedEarly => "ok",
        Status::Diverged | Status::Failed => "bad",
        Status::Interrupted | Status::Crashed | Status::Pruned => "warn",
        Status::Running => "live",
    };
    format!(
        "<span class=\"badge {class}\">{}</span>",
        status.as_str().replace('_', " ")
    )
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// The metric the run monitors (early stopping's, else the checkpoint's)
/// and its direction.
pub(crate) fn monitor(plan: &Plan) -> Option<(String, Mode)> {
    let t = &plan.train;
    t.early_stop
        .as_ref()
        .map(|e| (e.monitor.clone(), e.mode))
        .or_else(|| t.checkpoint.as_ref().map(|c| (c.monitor.clone(), c.mode)))
}

/// Whether a metric name is one class's figure (`test_recall_3`).
pub(crate) fn per_class(name: &str) -> bool {
    name.rsplit_once('_')
        .is_some_and(|(_, tail)| !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()))
}

/// The headline figures, as the command line's summary line shows them.
fn headline(m: &Manifest) -> String {
    ["test_accuracy", "test_loss", "val_accuracy", "val_loss"]
        .iter()
        .filter_map(|k| {
            m.final_metrics
                .get(*k)
                .map(|v| format!("<span>{k} <b>{v:.4}</b></span>"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Epochs in words: how training ended, the best and the tested epoch.
fn epochs_line(f: &RunFiles) -> String {
    let m = &f.manifest;
    let bound = m.plan.train.epochs;
    let last = f.history.last().map(|r| r.epoch);
    let mut parts = Vec::new();
    match (m.stop_epoch, last) {
        (Some(s), _) if m.status == Status::StoppedEarly => {
            parts.push(format!("stopped early at epoch {s} of {bound}"));
        }
        (Some(s), _) if m.status == Status::Pruned => {
            parts.push(format!("pruned by the sweep after epoch {s} of {bound}"));
        }
        (_, Some(l)) => parts.push(format!("{l} of {bound} epochs trained")),
        (_, None) => parts.push(format!("no epoch finished (of {bound})")),
    }
    if let Some(b) = m.best_epoch {
        let by = monitor(&m.plan).map_or(String::new(), |(name, _)| format!(" by {name}"));
        parts.push(format!("best epoch {b}{by}"));
    }
    if let Some(t) = m.test_epoch {
        parts.push(format!("the test split saw epoch {t}'s weights"));
    }
    parts.join(" · ")
}

fn expectations(m: &Manifest) -> String {
    if m.plan.expect.is_empty() {
        return String::new();
    }
    let mut s = String::from("<ul class=\"expect\">");
    for e in &m.plan.expect {
        let want = format!("{} {} {}", e.metric, e.op.symbol(), fmt(e.value));
        let line = match m.final_metrics.get(&e.metric) {
            Some(&v) if e.op.holds(v, e.value) => format!("✓ {want} (actual {})", fmt(v)),
            Some(&v) => format!("✗ {want} failed: actual {}", fmt(v)),
            None => format!("· {want}: not measured"),
        };
        let _ = write!(s, "<li>{}</li>", escape(&line));
    }
    s.push_str("</ul>\n");
    s
}

fn header(f: &RunFiles) -> String {
    let m = &f.manifest;
    let mut s = format!(
        "<header>\n<h1>{} {}</h1>\n",
        escape(&m.plan.name),
        badge(m.status)
    );
    let _ = writeln!(s, "<p class=\"kv\">{}</p>", headline(m));
    let _ = writeln!(s, "<p>{}</p>", escape(&epochs_line(f)));
    // `dlp export`'s files, when the run has any.
    if let Some(exported) = crate::records::export_yaml::summary(&f.dir) {
        let _ = writeln!(s, "<p class=\"export\">{}</p>", escape(&exported));
    }
    let _ = writeln!(
        s,
        "<p class=\"kv muted\"><span>seed {}</span><span>exit code {}</span><span>dlp {}</span><span>candle {}</span><span>{}, {} threads</span></p>",
        m.seed,
        m.exit_code.map_or("–".into(), |c| c.to_string()),
        escape(&m.dlp_version),
        escape(&m.candle_version),
        escape(&m.device),
        m.threads
    );
    s.push_str(&expectations(m));
    s.push_str(
        "<nav><a href=\"#curves\">Curves</a><a href=\"#test\">Test results</a><a href=\"#diagnosis\">Diagnosis</a><a href=\"#data\">Data</a><a href=\"#model\">Model</a><a href=\"#plan\">Plan</a></nav>\n</header>\n",
    );
    s
}

/// The charts of the curves section, in order.
pub(crate) fn curve_charts(f: &RunFiles) -> Vec<Chart> {
    let h = &f.history;
    let m = &f.manifest;
    let mut marks = Vec::new();
    if let Some(b) = m.best_epoch {
        marks.push(Mark {
            x: b as f64,
            label: format!("best: epoch {b}"),
            colour: curves::BEST,
            dashed: false,
        });
    }
    if let (Some(s), Status::StoppedEarly) = (m.stop_epoch, m.status) {
        marks.push(Mark {
            x: s as f64,
            label: format!("early stop: epoch {s}"),
            colour: curves::STOP,
            dashed: true,
        });
    }
    let pts = |name: &str| -> Vec<(f64, f64)> {
        h.series(name)
            .into_iter()
            .map(|(e, v)| (e as f64, v))
            .collect()
    };
    let pair = |id: &str, title: &str, train: &str, valid: &str, unit: bool| {
        let mut c = Chart::new(id, title, "epoch", train, Kind::Line);
        c.unit_y = unit;
        c.marks = marks.clone();
        for (name, metric, colour) in [
            ("train", train, curves::TRAIN),
            ("validation", valid, curves::VALID),
        ] {
            let p = pts(metric);
            if !p.is_empty() {
                c.series.push(Series::new(name, &hex(colour), p));
            }
        }
        c
    };
    let mut out = vec![
        pair("chart-loss", "Loss", "loss", "val_loss", false),
        pair(
            "chart-accuracy",
            "Accuracy",
            "accuracy",
            "val_accuracy",
            true,
        ),
    ];
    let lr: Vec<(f64, f64)> = h.rows.iter().map(|r| (r.epoch as f64, r.lr)).collect();
    let mut c = Chart::new("chart-lr", "Learning rate", "epoch", "lr", Kind::Line);
    c.log_y = chart::wants_log(lr.iter().map(|p| p.1));
    c.marks = marks.clone();
    c.series.push(Series::new("lr", chart::colour(4), lr));
    out.push(c);
    let others: Vec<&String> = h
        .columns
        .iter()
        .filter(|c| !["loss", "accuracy", "val_loss", "val_accuracy"].contains(&c.as_str()))
        .collect();
    if !others.is_empty() {
        let mut c = Chart::new(
            "chart-metrics",
            "Validation metrics",
            "epoch",
            "value",
            Kind::Line,
        );
        c.marks = marks;
        // Not green or red, the marks' colours.
        for (i, name) in others.iter().enumerate() {
            let colour = chart::colour([5, 6, 8, 9, 7, 0, 1][i % 7]);
            c.series.push(Series::new(name, colour, pts(name)));
        }
        c.unit_y = c
            .series
            .iter()
            .flat_map(|s| &s.points)
            .all(|p| !p.1.is_finite() || (0.0..=1.0).contains(&p.1));
        out.push(c);
    }
    out.retain(Chart::has_data);
    out
}

/// Renders charts into a grid; their data goes into `data` by id.
pub(crate) fn chart_grid(
    charts: &[Chart],
    legend: bool,
    data: &mut BTreeMap<String, serde_json::Value>,
) -> Result<String> {
    let mut s = String::from("<div class=\"charts\">\n");
    for c in charts {
        let r = chart::render(c)?;
        let entries: Vec<(String, String, bool)> = if legend {
            c.series
                .iter()
                .map(|x| (x.name.clone(), x.colour.clone(), x.dashed))
                .chain(
                    c.marks
                        .iter()
                        .map(|m| (m.label.clone(), hex(m.colour), m.dashed)),
                )
                .collect()
        } else {
            Vec::new()
        };
        s.push_str(&html::figure(&c.title, &r.svg, &entries));
        let value = serde_json::to_value(&r.data)
            .map_err(|e| crate::error::Error::Runtime(format!("cannot encode chart data: {e}")))?;
        data.insert(c.id.clone(), value);
    }
    s.push_str("</div>\n");
    Ok(s)
}

fn curves_section(f: &RunFiles, data: &mut BTreeMap<String, serde_json::Value>) -> Result<String> {
    let charts = curve_charts(f);
    let body = if charts.is_empty() {
        "<p class=\"muted\">No epoch finished: train.csv has no rows.</p>\n".to_string()
    } else {
        format!(
            "<p class=\"muted\">Hover or touch a chart for the values of an epoch.</p>\n{}",
            chart_grid(&charts, true, data)?
        )
    };
    Ok(html::section("curves", "Learning curves", &body))
}

/// The confusion matrix as an HTML heatmap: counts, row shares, colours.
pub(crate) fn heatmap(classes: &[String], counts: &[Vec<u64>]) -> String {
    let rates = row_rates(counts);
    let mut s = String::from(
        "<div class=\"scroll\"><table class=\"confusion\"><thead><tr><th>true \\ predicted</th>",
    );
    for c in classes {
        let _ = write!(s, "<th>{}</th>", escape(c));
    }
    s.push_str("<th>n</th></tr></thead><tbody>");
    for (t, row) in counts.iter().enumerate() {
        let name = classes.get(t).map_or("?", String::as_str);
        let total: u64 = row.iter().sum();
        let _ = write!(s, "<tr><th>{}</th>", escape(name));
        for (p, &n) in row.iter().enumerate() {
            let rate = rates[t][p];
            let (r, g, b) = blues(rate);
            let pred = classes.get(p).map_or("?", String::as_str);
            let _ = write!(
                s,
                "<td class=\"{}\" style=\"background:#{r:02x}{g:02x}{b:02x}\" title=\"{}\">{n}<small>{:.1}%</small></td>",
                if rate > 0.5 { "hi" } else { "lo" },
                escape(&format!(
                    "true {name}, predicted {pred}: {n} of {total} ({:.2} %)",
                    rate * 100.0
                )),
                rate * 100.0
            );
        }
        let _ = write!(s, "<td>{total}</td></tr>");
    }
    s.push_str("</tbody></table></div>\n");
    s
}

fn misclassified(f: &RunFiles) -> String {
    let Some(m) = &f.misclassified else {
        return String::new();
    };
    let (tw, th) = m.tile;
    let zoom = (96 / tw.max(th).max(1)).max(1);
    let (w, h) = (tw * zoom, th * zoom);
    let n = m.rows.len() as u32;
    let mut s = format!(
        "<h3>Misclassified test images</h3>\n<p class=\"muted\">The {} most confident mistakes (misclassified.png, misclassified.csv); #index is the position in the test split, and each image's title names its file.</p>\n<style>.mis .px{{width:{w}px;height:{h}px;background-size:{}px {h}px;background-image:url(data:image/png;base64,{})}}</style>\n<div class=\"mis\">",
        n,
        w * n,
        base64::engine::general_purpose::STANDARD.encode(&m.png)
    );
    for (k, r) in m.rows.iter().enumerate() {
        let _ = write!(
            s,
            "<figure title=\"{}\"><span class=\"px\" role=\"img\" aria-label=\"test image {}\" style=\"background-position:-{}px 0\"></span>#{} true {}<br>→ <b>{}</b> {}</figure>",
            escape(&format!(
                "test sample {}{}: true class {}, predicted {} with probability {}",
                r.index,
                if r.source.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.source)
                },
                r.truth,
                r.predicted,
                pct(r.probability)
            )),
            r.index,
            k as u32 * w,
            r.index,
            escape(&r.truth),
            escape(&r.predicted),
            pct(r.probability)
        );
    }
    s.push_str("</div>\n");
    s
}

fn test_section(f: &RunFiles) -> String {
    let m = &f.manifest;
    let mut s = String::new();
    let metrics: Vec<(&String, &f64)> = m
        .final_metrics
        .iter()
        .filter(|(k, _)| k.starts_with("test_") && !per_class(k))
        .collect();
    if metrics.is_empty() && f.confusion.is_none() && f.eval.is_empty() {
        s.push_str("<p class=\"muted\">No test results: the run has no test split, or it ended before evaluating one.</p>\n");
        return html::section("test", "Test results", &s);
    }
    if !metrics.is_empty() {
        let mut t = Table::new("metrics", &["metric", "value"]);
        for (k, v) in metrics {
            t.rows.push(vec![escape(k), fmt(*v)]);
        }
        s.push_str(&t.html());
    }
    if let Some(c) = &f.confusion {
        s.push_str("<h3>Confusion matrix</h3>\n<p class=\"muted\">Rows are the true classes, columns the predicted ones; each cell has its count and its share of the row (the true class), which sets its colour.</p>\n");
        s.push_str(&heatmap(&c.classes, &c.counts));
    }
    if !f.eval.is_empty() {
        s.push_str("<h3>Per class</h3>\n");
        let mut t = Table::new(
            "per-class",
            &["class", "precision", "recall", "f1", "support"],
        );
        for r in &f.eval {
            let row = vec![
                escape(&r.class),
                fmt(r.precision),
                fmt(r.recall),
                fmt(r.f1),
                fmt(r.support),
            ];
            // eval.csv's summary rows, after the classes.
            if ["macro_avg", "weighted_avg", "accuracy"].contains(&r.class.as_str()) {
                t.push_marked(row, "sum");
            } else {
                t.rows.push(row);
            }
        }
        s.push_str(&t.html());
    }
    s.push_str(&misclassified(f));
    html::section("test", "Test results", &s)
}

fn diagnosis_section(f: &RunFiles) -> String {
    let body = match &f.diagnosis {
        Some(text) => {
            let verdict = text
                .lines()
                .find_map(|l| l.strip_prefix("verdict: "))
                .map(|v| format!("<p class=\"verdict\">{}</p>\n", escape(v)))
                .unwrap_or_default();
            format!("{verdict}<pre>{}</pre>\n", escape(text))
        }
        None => {
            "<p class=\"muted\">No diagnosis.txt: the run ended before its report.</p>\n".into()
        }
    };
    html::section("diagnosis", "Diagnosis", &body)
}

fn numbers(v: &[f64]) -> String {
    const SHOWN: usize = 12;
    let mut parts: Vec<String> = v.iter().take(SHOWN).map(|x| fmt(*x)).collect();
    if v.len() > SHOWN {
        parts.push(format!("… ({} in all)", v.len()));
    }
    if v.len() == 1 {
        parts.remove(0)
    } else {
        format!("[{}]", parts.join(", "))
    }
}

fn preprocessing(m: &Manifest) -> String {
    let map: serde_yaml_ng::Mapping = m
        .preprocessing
        .iter()
        .map(|(k, v)| (serde_yaml_ng::Value::String(k.clone()), v.clone()))
        .collect();
    let stats: Option<PreprocessStats> =
        serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(map)).ok();
    let Some(stats) = stats else {
        let text = serde_yaml_ng::to_string(&m.preprocessing).unwrap_or_default();
        return format!("<pre>{}</pre>\n", escape(&text));
    };
    let mut s = format!(
        "<p>Statistics from the {} training samples, applied to every split:</p>\n<ul>",
        stats.train_samples
    );
    if stats.steps.is_empty() {
        s.push_str("<li>none: the model reads the values as stored</li>");
    }
    for step in &stats.steps {
        let text = match step {
            Step::Grayscale => "grayscale (ITU-R 601-2 luma, as PIL)".to_string(),
            Step::Rgb => "rgb (a grayscale image replicated to three channels)".to_string(),
            Step::Resize { height, width } => format!("resize to {height}×{width} (bilinear)"),
            Step::Scale { factor } => format!("scale × {}", fmt(*factor)),
            Step::Normalize { scope, mean, std } => format!(
                "normalize mean_std ({}): mean {}, std {}",
                match scope {
                    Scope::Global => "one for all values",
                    Scope::PerChannel => "per channel",
                    Scope::PerFeature => "per feature",
                },
                numbers(mean),
                numbers(std)
            ),
            Step::OneHot => "one_hot".to_string(),
        };
        let _ = write!(s, "<li>{}</li>", escape(&text));
    }
    if !stats.columns.is_empty() {
        let _ = write!(
            s,
            "<li>feature columns: {}</li>",
            escape(&stats.columns.join(", "))
        );
    }
    s.push_str("</ul>\n");
    s
}

fn data_section(f: &RunFiles) -> String {
    let mut s = String::new();
    if f.data.is_empty() {
        s.push_str("<p class=\"muted\">No data.csv.</p>\n");
    } else {
        let mut splits: Vec<&str> = Vec::new();
        let mut classes: Vec<&str> = Vec::new();
        for r in &f.data {
            if !splits.contains(&r.split.as_str()) {
                splits.push(&r.split);
            }
            if !classes.contains(&r.class.as_str()) {
                classes.push(&r.class);
            }
        }
        let count = |split: &str, class: &str| -> u64 {
            f.data
                .iter()
                .filter(|r| r.split == split && r.class == class)
                .map(|r| r.count)
                .sum()
        };
        let mut head = vec!["class"];
        head.extend(&splits);
        let mut t = Table::new("data", &head);
        for c in &classes {
            let mut row = vec![escape(c)];
            row.extend(splits.iter().map(|sp| count(sp, c).to_string()));
            t.rows.push(row);
        }
        let mut total = vec!["total".to_string()];
        total.extend(splits.iter().map(|sp| {
            classes
                .iter()
                .map(|c| count(sp, c))
                .sum::<u64>()
                .to_string()
        }));
        t.push_marked(total, "sum");
        let _ = write!(s, "<h3>Samples per split and class</h3>\n{}", t.html());
    }
    s.push_str("<h3>Preprocessing</h3>\n");
    s.push_str(&preprocessing(&f.manifest));
    html::section("data", "Data", &s)
}

fn model_section(plan: &Plan) -> String {
    let m = &plan.model;
    let graph = m.is_graph();
    let heads: &[&str] = match graph {
        true => &["layer (type)", "output shape", "params", "connected to"],
        false => &["layer (type)", "output shape", "params"],
    };
    let mut t = Table::new("model", heads);
    for (i, l) in m.layers.iter().enumerate() {
        let mut row = vec![
            escape(&format!("{} ({})", l.name, keras_type(&l.layer))),
            escape(&l.output.to_string()),
            thousands(l.params),
        ];
        if graph {
            let from: Vec<&str> = m.sources(i).iter().map(|&id| m.node_name(id)).collect();
            row.push(escape(&from.join(", ")));
        }
        t.rows.push(row);
    }
    let total = m.total_params();
    let trainable = m.trainable_params();
    let mut body = format!(
        "<p>Input {}</p>\n{}<p>Total params: <b>{}</b> · trainable {} · non-trainable {}</p>\n",
        escape(&m.input.to_string()),
        t.html(),
        thousands(total),
        thousands(trainable),
        thousands(total - trainable)
    );
    if graph {
        let _ = write!(
            body,
            "<details open><summary>The graph</summary>\n{}</details>\n",
            super::graph::svg(m)
        );
    }
    html::section("model", "Model", &body)
}

fn plan_section(f: &RunFiles) -> String {
    let mut s = format!(
        "<p class=\"muted\">Every default filled in and marked, as <code>dlp plan</code> prints it.</p>\n<pre>{}</pre>\n",
        escape(&describe(&f.manifest.plan))
    );
    if let Some(p) = &f.pipeline {
        let _ = writeln!(
            s,
            "<details><summary>pipeline.dlp</summary><pre>{}</pre></details>",
            escape(p)
        );
    }
    html::section("plan", "Resolved plan", &s)
}

/// The whole page of one run.
pub(crate) fn render(f: &RunFiles) -> Result<String> {
    let mut data = BTreeMap::new();
    let mut body = header(f);
    body.push_str(&curves_section(f, &mut data)?);
    body.push_str(&test_section(f));
    body.push_str(&diagnosis_section(f));
    body.push_str(&data_section(f));
    body.push_str(&model_section(&f.manifest.plan));
    body.push_str(&plan_section(f));
    body.push_str("<footer class=\"muted\"><p>Written by dlp from the files of this run folder.</p></footer>\n");
    let title = format!(
        "{} · {} · dlp run report",
        f.manifest.plan.name,
        f.manifest.status.as_str()
    );
    Ok(html::page(&title, &body, &html::json(&data)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_class_names() {
        assert!(per_class("test_recall_3"));
        assert!(per_class("test_f1_10"));
        assert!(!per_class("test_f1_weighted"));
        assert!(!per_class("test_top_k"));
        assert!(!per_class("test_accuracy"));
    }

    #[test]
    fn heatmap_cells_have_counts_shares_and_colours() {
        let classes = vec!["cat".to_string(), "<dog>".to_string()];
        let html = heatmap(&classes, &[vec![3, 1], vec![0, 4]]);
        assert!(html.contains("<th>&lt;dog&gt;</th>"));
        assert!(html.contains(
            "<td class=\"hi\" style=\"background:#3a6fa1\" title=\"true cat, predicted cat: 3 of 4 (75.00 %)\">3<small>75.0%</small></td>"
        ), "{html}");
        assert!(html.contains(
            "title=\"true &lt;dog&gt;, predicted cat: 0 of 4 (0.00 %)\">0<small>0.0%</small>"
        ));
        assert_eq!(html.matches("<td class=").count(), 4);
    }
}

//! A [`Comparison`] as text (the terminal), Markdown (a pull-request
//! comment or `$GITHUB_STEP_SUMMARY`) or JSON (other tools). Every format
//! lists what fails first.

use super::{Amount, CURVE_PREFIX, Comparison, CurveRow, Outcome, Row};
use crate::plan::Mode;
use crate::records::atomic::csv_num;
use serde::Serialize;

/// Six significant digits for the tables (the files keep every digit).
pub(crate) fn short(x: f64) -> String {
    if !x.is_finite() {
        return csv_num(x);
    }
    csv_num(format!("{x:.5e}").parse().unwrap_or(x))
}

fn better(mode: Mode) -> &'static str {
    match mode {
        Mode::Min => "lower",
        Mode::Max => "higher",
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or("-".to_string(), short)
}

/// `+0.01 (+1.22%)`, or `-` when either side has no finite value.
fn delta(old: Option<f64>, new: Option<f64>) -> String {
    match (old, new) {
        (Some(o), Some(n)) if o.is_finite() && n.is_finite() => {
            let d = n - o;
            let sign = if d > 0.0 { "+" } else { "" };
            if o != 0.0 {
                format!("{sign}{} ({sign}{:.2}%)", short(d), d / o.abs() * 100.0)
            } else {
                format!("{sign}{}", short(d))
            }
        }
        _ => "-".into(),
    }
}

/// A p-value: three decimals, or scientific below 0.001.
pub(crate) fn p_text(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p >= 0.001 || p == 0.0 => format!("{p:.3}"),
        Some(p) => format!("{p:.1e}"),
    }
}

/// `mean ± sd` of a multi-seed side, or the plain value.
fn value_cell(row: &Row, old: bool) -> String {
    match &row.seeds {
        Some(s) => {
            let sum = if old { s.old } else { s.new };
            if sum.sd.is_nan() {
                short(sum.mean)
            } else {
                format!("{} ± {}", short(sum.mean), short(sum.sd))
            }
        }
        None => opt(if old { row.old } else { row.new }),
    }
}

/// The result column of a metric.
pub(crate) fn result(row: &Row, exact: bool) -> &'static str {
    let gated = row.tol.is_some();
    match (exact, row.outcome) {
        (_, Outcome::Same) => "same",
        (true, Outcome::Differs) => "DIFFERS (seed by seed)",
        (true, Outcome::Better) => "DIFFERS (better)",
        (true, Outcome::Worse | Outcome::Regressed | Outcome::NotSignificant) => "DIFFERS (worse)",
        (true, Outcome::Added) => "DIFFERS (only in new)",
        (true, Outcome::Missing) => "DIFFERS (missing in new)",
        (false, Outcome::Better) => "better",
        (false, Outcome::Differs) => "differs seed by seed",
        (false, Outcome::Worse) if gated => "worse, within tolerance",
        (false, Outcome::NotSignificant) if gated => "worse beyond tolerance, not significant",
        // Without a tolerance nothing is "beyond" one.
        (false, Outcome::NotSignificant) => "worse, not significant",
        (false, Outcome::Regressed) if gated => "REGRESSED",
        (false, Outcome::Worse | Outcome::Regressed) => "worse",
        (false, Outcome::Added) if gated => "NO OLD VALUE to gate",
        (false, Outcome::Added) => "added",
        (false, Outcome::Missing) if gated => "MISSING in new",
        (false, Outcome::Missing) => "missing in new",
    }
}

fn curve_result(c: &CurveRow, exact: bool) -> &'static str {
    match (exact, c.tol.is_some(), c.same, c.fails) {
        (_, _, true, _) => "same",
        (true, ..) => "DIFFERS",
        (false, true, false, true) => "BEYOND TOLERANCE",
        (false, true, false, false) => "within tolerance",
        (false, false, ..) => "differs",
    }
}

fn epochs_cell(c: &CurveRow) -> String {
    if c.epochs_old == c.epochs_new {
        c.epochs_old.to_string()
    } else {
        format!("{} → {}", c.epochs_old, c.epochs_new)
    }
}

fn dev_cell(c: &CurveRow) -> String {
    if c.epochs_old.min(c.epochs_new) == 0 {
        "-".into()
    } else {
        short(c.max_dev)
    }
}

/// The table of metrics: header and cells.
fn metric_table(c: &Comparison, rows: &[&Row]) -> Vec<Vec<String>> {
    let seeds = c.seeds.is_some();
    let mut head = vec!["metric", "better"];
    head.extend(if seeds {
        ["old (mean ± sd)", "new (mean ± sd)"]
    } else {
        ["old", "new"]
    });
    head.push("delta");
    if seeds {
        head.push("p");
    }
    if !c.exact {
        head.push("tol");
    }
    head.push("result");
    let mut table = vec![head.into_iter().map(String::from).collect()];
    for r in rows {
        let mut cells = vec![
            r.metric.clone(),
            better(r.mode).to_string(),
            value_cell(r, true),
            value_cell(r, false),
            delta(r.old, r.new),
        ];
        if seeds {
            cells.push(p_text(r.seeds.and_then(|s| s.p)));
        }
        if !c.exact {
            cells.push(r.tol.map_or("-".to_string(), |t| t.to_string()));
        }
        cells.push(result(r, c.exact).to_string());
        table.push(cells);
    }
    table
}

fn curve_table(c: &Comparison) -> Vec<Vec<String>> {
    let mut head = vec!["curve (train.csv)", "epochs", "max |new - old|", "at epoch"];
    if !c.exact {
        head.push("tol");
    }
    head.push("result");
    let mut table = vec![head.into_iter().map(String::from).collect()];
    for r in &c.curves {
        let mut cells = vec![
            r.column.clone(),
            epochs_cell(r),
            dev_cell(r),
            r.at_epoch
                .filter(|_| r.max_dev > 0.0)
                .map_or("-".into(), |e| e.to_string()),
        ];
        if !c.exact {
            cells.push(r.tol.map_or("-".to_string(), csv_num));
        }
        cells.push(curve_result(r, c.exact).to_string());
        table.push(cells);
    }
    table
}

/// Left-aligned columns two spaces apart.
fn aligned(table: &[Vec<String>]) -> String {
    let cols = table.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[c] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn markdown_table(table: &[Vec<String>], code_first: bool) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    for (i, row) in table.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if i > 0 && c == 0 && code_first {
                    format!("`{}`", cell.replace('`', "'"))
                } else if i > 0 && c + 1 == row.len() && cell.chars().any(|ch| ch.is_uppercase()) {
                    format!("**{}**", esc(cell))
                } else {
                    esc(cell)
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        if i == 0 {
            out.push_str(&format!("|{}\n", " --- |".repeat(row.len())));
        }
    }
    out
}

impl Comparison {
    fn gated_names(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|r| r.tol.map(|t| format!("{} {t}", r.metric)))
            .chain(self.curves.iter().filter_map(|c| {
                c.tol
                    .map(|t| format!("{CURVE_PREFIX}{} {}", c.column, csv_num(t)))
            }))
            .collect()
    }

    /// One line on how the comparison was judged.
    pub(crate) fn rule(&self) -> String {
        let mut s = if self.exact {
            "exact comparison (no --tol given): every metric and curve must be identical"
                .to_string()
        } else {
            let info = self.rows.iter().filter(|r| r.tol.is_none()).count();
            format!(
                "gate: {}; {info} other metric{} for information",
                self.gated_names().join(", "),
                if info == 1 { "" } else { "s" }
            )
        };
        if let Some((a, b)) = self.seeds {
            s.push_str(&format!(
                "\nseeds: {a} old, {b} new; values are mean ± sd over seeds, p is Welch's t-test (two-sided)"
            ));
            if !self.exact {
                s.push_str(&format!(
                    "; a gated metric regresses only when its mean moved beyond the tolerance and p < {}",
                    csv_num(self.alpha)
                ));
            }
        }
        s
    }

    /// The verdict line.
    pub(crate) fn verdict(&self) -> String {
        let failures = self.failures();
        let curves = self.curves.len();
        if self.exact {
            if failures.is_empty() {
                let also = if curves > 0 {
                    format!(" and {curves} curves")
                } else {
                    String::new()
                };
                format!("no difference: {} metrics{also} identical", self.rows.len())
            } else {
                format!(
                    "{} of {} differ (exact comparison: no --tol given): {}",
                    failures.len(),
                    self.rows.len() + curves,
                    failures.join(", ")
                )
            }
        } else if failures.is_empty() {
            let gated = self.rows.iter().filter(|r| r.tol.is_some()).count()
                + self.curves.iter().filter(|c| c.tol.is_some()).count();
            format!(
                "no regression beyond tolerance ({gated} gated, {} for information)",
                self.rows.len() + curves - gated
            )
        } else {
            format!(
                "{} regressed beyond tolerance: {}",
                if failures.len() == 1 {
                    "1 metric"
                } else {
                    "metrics"
                },
                failures.join(", ")
            )
        }
    }

    /// The text for a terminal.
    pub(crate) fn text(&self) -> String {
        let rows: Vec<&Row> = self.rows.iter().collect();
        let mut out = format!("{}\n", self.rule());
        out.push_str(&aligned(&metric_table(self, &rows)));
        if !self.curves.is_empty() {
            out.push('\n');
            out.push_str(&aligned(&curve_table(self)));
        }
        out.push_str(&self.verdict());
        out.push('\n');
        out
    }

    /// Markdown for a pull-request comment or `$GITHUB_STEP_SUMMARY`: the
    /// verdict as a heading, the failing and gated metrics in a table, the
    /// rest folded away.
    pub(crate) fn markdown(&self, old: &str, new: &str) -> String {
        let failing = !self.failures().is_empty();
        let mut out = format!(
            "### dlp diff: {}\n\n`{}` → `{}`  \n{}\n\n",
            if failing { "❌ fails" } else { "✅ passes" },
            old.replace('`', "'"),
            new.replace('`', "'"),
            self.rule().replace('\n', "  \n")
        );
        let (shown, folded): (Vec<&Row>, Vec<&Row>) = self
            .rows
            .iter()
            .partition(|r| r.fails || (!self.exact && r.tol.is_some()));
        if !shown.is_empty() {
            out.push_str(&markdown_table(&metric_table(self, &shown), true));
            out.push('\n');
        }
        if !folded.is_empty() {
            let what = if self.exact {
                "identical"
            } else {
                "for information, not gated"
            };
            out.push_str(&format!(
                "<details><summary>{}{} metric{} {what}</summary>\n\n{}\n</details>\n\n",
                folded.len(),
                if shown.is_empty() { "" } else { " other" },
                if folded.len() == 1 { "" } else { "s" },
                markdown_table(&metric_table(self, &folded), true)
            ));
        }
        if !self.curves.is_empty() {
            let bad = self.curves.iter().filter(|c| c.fails).count();
            out.push_str(&format!(
                "<details{}><summary>curves: {} train.csv columns, {bad} failing</summary>\n\n{}\n</details>\n\n",
                if bad > 0 { " open" } else { "" },
                self.curves.len(),
                markdown_table(&curve_table(self), true)
            ));
        }
        out.push_str(&format!("**{}**\n", self.verdict()));
        out
    }

    /// JSON for other tools (NaN and infinities become `null`).
    pub(crate) fn json(&self, old: &str, new: &str) -> String {
        let doc = JsonDoc {
            old,
            new,
            mode: if self.exact { "exact" } else { "gate" },
            passed: self.failures().is_empty(),
            failures: self.failures(),
            alpha: self.seeds.map(|_| self.alpha),
            seeds: self.seeds.map(|(old, new)| JsonSeeds { old, new }),
            metrics: self
                .rows
                .iter()
                .map(|r| JsonMetric {
                    metric: &r.metric,
                    better: better(r.mode),
                    old: r.old,
                    new: r.new,
                    delta: r.old.zip(r.new).map(|(o, n)| n - o),
                    old_sd: r.seeds.map(|s| s.old.sd),
                    new_sd: r.seeds.map(|s| s.new.sd),
                    p: r.seeds.and_then(|s| s.p),
                    gated: r.tol.is_some(),
                    tol: r.tol.filter(|_| !self.exact).map(|t| t.amount),
                    tol_text: r.tol.filter(|_| !self.exact).map(|t| t.to_string()),
                    result: r.outcome,
                    fails: r.fails,
                })
                .collect(),
            curves: self
                .curves
                .iter()
                .map(|c| JsonCurve {
                    column: &c.column,
                    epochs_old: c.epochs_old,
                    epochs_new: c.epochs_new,
                    max_deviation: c.max_dev,
                    at_epoch: c.at_epoch.filter(|_| c.max_dev > 0.0),
                    same: c.same,
                    tol: c.tol.filter(|_| !self.exact),
                    fails: c.fails,
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&doc)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    old: &'a str,
    new: &'a str,
    mode: &'static str,
    passed: bool,
    failures: Vec<String>,
    alpha: Option<f64>,
    seeds: Option<JsonSeeds>,
    metrics: Vec<JsonMetric<'a>>,
    curves: Vec<JsonCurve<'a>>,
}

#[derive(Serialize)]
struct JsonSeeds {
    old: usize,
    new: usize,
}

#[derive(Serialize)]
struct JsonMetric<'a> {
    metric: &'a str,
    better: &'static str,
    old: Option<f64>,
    new: Option<f64>,
    delta: Option<f64>,
    old_sd: Option<f64>,
    new_sd: Option<f64>,
    p: Option<f64>,
    gated: bool,
    tol: Option<Amount>,
    tol_text: Option<String>,
    result: Outcome,
    fails: bool,
}

#[derive(Serialize)]
struct JsonCurve<'a> {
    column: &'a str,
    epochs_old: usize,
    epochs_new: usize,
    max_deviation: f64,
    at_epoch: Option<usize>,
    same: bool,
    tol: Option<f64>,
    fails: bool,
}

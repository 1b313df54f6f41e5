//! The drawing of a graph model on the run page: one box per node (the
//! input and each layer, with its type and output shape), an arrow per
//! connection. Nodes stand on rows by their depth (the longest path from
//! the input), so parallel branches sit side by side and a shortcut is an
//! arc beside the layers it skips. The page draws no plain stack: its
//! table says everything.

use super::html::escape;
use crate::plan::ModelPlan;
use crate::plan::summary::keras_type;
use std::fmt::Write;

const BOX_W: usize = 280;
const BOX_H: usize = 22;
const ROW: usize = 34;
const COL: usize = 320;
const MARGIN: usize = 12;
/// Room on the right of a column for the arcs of its shortcuts.
const ARC: usize = 28;

/// Each node's (row, column); node 0 is the input, node `i + 1` layer `i`.
fn layout(m: &ModelPlan) -> Vec<(usize, usize)> {
    let n = m.layers.len() + 1;
    let mut row = vec![0usize; n];
    for i in 0..m.layers.len() {
        row[i + 1] = m.sources(i).iter().map(|&s| row[s] + 1).max().unwrap_or(1);
    }
    let mut used = vec![0usize; n + 1];
    row.iter()
        .map(|&r| {
            let c = used[r];
            used[r] += 1;
            (r, c)
        })
        .collect()
}

/// The SVG of `m`'s graph (the run page asks only for graph models).
pub(crate) fn svg(m: &ModelPlan) -> String {
    let at = layout(m);
    let rows = at.iter().map(|p| p.0).max().unwrap_or(0) + 1;
    let cols = at.iter().map(|p| p.1).max().unwrap_or(0) + 1;
    let (w, h) = (2 * MARGIN + cols * COL, 2 * MARGIN + rows * ROW);
    let x = |c: usize| MARGIN + c * COL;
    let y = |r: usize| MARGIN + r * ROW;
    let mut s = format!(
        "<svg class=\"model-graph\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" style=\"max-width:100%;height:auto\" role=\"img\" aria-label=\"the model's graph\">\n"
    );
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L6,3L0,6z\" fill=\"currentColor\"/></marker></defs>\n");
    for (i, l) in m.layers.iter().enumerate() {
        let (r2, c2) = at[i + 1];
        for src in m.sources(i) {
            let (r1, c1) = at[src];
            let d = if r2 == r1 + 1 || c1 != c2 {
                // The next row, or another column: down the source's
                // column to the gap above the target's row, then across
                // to the top of the target.
                let (x1, y1) = (x(c1) + BOX_W / 2, y(r1) + BOX_H);
                let (x2, y2) = (x(c2) + BOX_W / 2, y(r2));
                let turn = y2 - (ROW - BOX_H);
                let mid = (turn + y2) / 2;
                format!("M{x1},{y1}L{x1},{turn}C{x1},{mid} {x2},{mid} {x2},{y2}")
            } else {
                // A shortcut down one column: an arc on its right.
                let (x1, y1) = (x(c1) + BOX_W, y(r1) + BOX_H / 2);
                let y2 = y(r2) + BOX_H / 2;
                let out = x1 + ARC;
                format!("M{x1},{y1}C{out},{y1} {out},{y2} {x1},{y2}")
            };
            let _ = writeln!(
                s,
                "<path class=\"edge\" d=\"{d}\" fill=\"none\" stroke=\"currentColor\" stroke-opacity=\"0.55\" marker-end=\"url(#arrow)\"><title>{} → {}</title></path>",
                escape(m.node_name(src)),
                escape(&l.name)
            );
        }
    }
    // A box shows the name and output shape; its title adds the type and
    // the parameter count.
    let mut node = |id: usize, label: String, title: String| {
        let (r, c) = at[id];
        let _ = writeln!(
            s,
            "<g class=\"node\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"4\" fill=\"Canvas\" stroke=\"currentColor\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"currentColor\">{}</text></g>",
            escape(&title),
            x(c),
            y(r),
            x(c) + BOX_W / 2,
            y(r) + BOX_H / 2 + 4,
            escape(&label)
        );
    };
    node(0, format!("input {}", m.input), "the input".into());
    for (i, l) in m.layers.iter().enumerate() {
        node(
            i + 1,
            format!("{} {}", l.name, l.output),
            format!(
                "{} ({}), {} parameters",
                l.name,
                keras_type(&l.layer),
                l.params
            ),
        );
    }
    s.push_str("</svg>\n");
    s
}

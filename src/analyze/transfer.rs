//! The `transfer` section: `from "RUN" layers=[…]` (another run's
//! weights), `freeze LAYERS|loaded`, `unfreeze after=N factor=F`.
//!
//! `from` reads only the header of the source's `model.safetensors` (8
//! bytes of length and the JSON table of names and shapes), so `dlp check`
//! stays instant however large the weights; every named layer must exist
//! here and there, with the same tensor shapes. Frozen layers count as
//! non-trainable in the plan (`dlp plan`'s "Trainable params").

use super::args::{Args, Range};
use super::block::commands;
use super::context::Context;
use super::data::{bind, resolve};
use super::schema::did_you_mean;
use super::value::{Located, Resolved};
use crate::diagnostics::Kind;
use crate::plan::transfer::{SOURCE_FILE, layer_tensors};
use crate::plan::{ModelPlan, TransferPlan, Unfreeze};
use crate::syntax::{Span, Statement};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Resolves the section against the model; marks frozen layers
/// non-trainable in `model`. `base` is the pipeline's folder.
pub(crate) fn transfer(
    cx: &mut Context,
    head_span: Span,
    block: &[Statement],
    model: &mut ModelPlan,
    base: &Path,
) -> Option<TransferPlan> {
    let cmds = commands(cx, "transfer", block, true);
    let find = |n: &str| cmds.iter().copied().find(|c| c.name.name == n);
    let Some(from_cmd) = find("from") else {
        cx.error_hint(
            Kind::Missing,
            head_span,
            "transfer has no from",
            Some("add e.g. `from \"runs/pretrained\"`"),
        );
        return None;
    };
    let a = bind(cx, "transfer", from_cmd);
    let written = a.text(cx, "run")?;
    let from = resolve(base, &written);
    let source = match read_header(&from.join(SOURCE_FILE), &written) {
        Ok(s) => s,
        Err(why) => {
            cx.error(Kind::Data, a.span("run"), why);
            return None;
        }
    };
    let by_position = match a.choice(cx, "match", &["name", "position"], Some("name")) {
        Some(m) => m == "position",
        None => return None,
    };
    let source_order = if by_position {
        match source_order(&from, &written) {
            Ok(order) => Some(order),
            Err(why) => {
                cx.error(Kind::Data, a.span("run"), why);
                return None;
            }
        }
    } else {
        None
    };
    let pairs = loaded_layers(cx, &a, model, &source, &written, source_order.as_deref())?;
    let (layers, sources): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
    let freeze = match find("freeze") {
        Some(c) => {
            let f = bind(cx, "transfer", c);
            frozen_layers(cx, &f, model, &layers)?
        }
        None => Vec::new(),
    };
    let unfreeze = match find("unfreeze") {
        Some(c) => {
            let u = bind(cx, "transfer", c);
            let after = u.usize(cx, "after", None, 1);
            let factor = u.f64(cx, "factor", Some(0.1), Range::Positive);
            if freeze.is_empty() {
                cx.warn(
                    c.name.span,
                    "unfreeze changes nothing: no layer is frozen",
                    Some("add `freeze loaded` or `freeze [NAME, …]`"),
                );
            }
            Some(Unfreeze {
                after: after?,
                factor: factor?,
            })
        }
        None => None,
    };
    for l in &mut model.layers {
        if freeze.contains(&l.name) {
            l.trainable = 0;
        }
    }
    Some(TransferPlan {
        from,
        layers,
        sources,
        freeze,
        unfreeze,
        loc: cx.loc(from_cmd.name.span),
    })
}

/// The layers `from … layers=` copies, each with the source layer it
/// copies: every listed name, or with `all` (the default) every layer with
/// weights that has a counterpart in the source — the same name, or with
/// `order` (`match=position`) the source's layer with weights at the same
/// position. Each must match its source tensor for tensor.
fn loaded_layers(
    cx: &mut Context,
    a: &Args,
    model: &ModelPlan,
    source: &BTreeMap<String, Vec<usize>>,
    written: &str,
    order: Option<&[String]>,
) -> Option<Vec<(String, String)>> {
    let file = format!("{written}/{SOURCE_FILE}");
    let with_weights: Vec<&str> = model
        .layers
        .iter()
        .filter(|l| !layer_tensors(l).is_empty())
        .map(|l| l.name.as_str())
        .collect();
    let in_source = |name: &str| source.keys().any(|k| k.starts_with(&format!("{name}/")));
    // This model's layer → the source layer it takes its tensors from.
    let counterpart = |name: &str| -> Option<String> {
        match order {
            None => in_source(name).then(|| name.to_string()),
            Some(order) => with_weights
                .iter()
                .position(|n| *n == name)
                .and_then(|i| order.get(i).cloned()),
        }
    };
    let asked: Vec<(String, Span)> = match a.get("layers") {
        None => {
            cx.mark_default("transfer.from.layers");
            with_weights
                .iter()
                .filter(|n| counterpart(n).is_some())
                .map(|n| (n.to_string(), a.name_span))
                .collect()
        }
        Some(r) if r.as_text() == Some("all") => with_weights
            .iter()
            .filter(|n| counterpart(n).is_some())
            .map(|n| (n.to_string(), r.span))
            .collect(),
        Some(r) => names(cx, r, "from layers")?,
    };
    let mut ok = true;
    let mut out = Vec::new();
    for (name, span) in asked {
        let Some(layer) = model.layers.iter().find(|l| l.name == name) else {
            unknown_layer(cx, model, &name, span);
            ok = false;
            continue;
        };
        let tensors = layer_tensors(layer);
        if tensors.is_empty() {
            cx.error(
                Kind::Conflict,
                span,
                format!(
                    "layer {name} ({}) has no weights to load",
                    layer.layer.kind()
                ),
            );
            ok = false;
            continue;
        }
        let Some(theirs_name) = counterpart(&name) else {
            let there: Vec<String> = source_layers(source);
            let message = match order {
                // By position: the layer's place among the layers with
                // weights, which the source does not reach.
                Some(order) => {
                    let at = with_weights.iter().position(|n| *n == name).unwrap_or(0);
                    format!(
                        "layer {name} is layer {} with weights here, but {file} has {} (match=position pairs them in order: {})",
                        at + 1,
                        order.len(),
                        order.join(", ")
                    )
                }
                None => format!(
                    "layer {name} is not in {file}{} (it holds: {})",
                    did_you_mean(&name, there.iter().map(String::as_str)),
                    there.join(", ")
                ),
            };
            cx.error(Kind::Mismatch, span, message);
            ok = false;
            continue;
        };
        for (tensor, shape) in tensors {
            let tensor = match tensor.split_once('/') {
                Some((_, what)) => format!("{theirs_name}/{what}"),
                None => tensor,
            };
            match source.get(&tensor) {
                Some(s) if *s == shape => {}
                other => {
                    let theirs = other.map_or("absent".to_string(), |s| format!("{s:?}"));
                    cx.error(
                        Kind::Shape,
                        span,
                        format!(
                            "layer {name}: {tensor} is {theirs} in {file} but {shape:?} in this model"
                        ),
                    );
                    ok = false;
                    break;
                }
            }
        }
        out.push((name, theirs_name));
    }
    ok.then_some(out)
}

/// The source run's layers with weights, in model order, from its
/// `run.yaml` (`match=position`).
fn source_order(run: &Path, written: &str) -> Result<Vec<String>, String> {
    let m = crate::records::Manifest::read(run)
        .map_err(|e| format!("match=position reads {written}/run.yaml: {e}"))?;
    Ok(m.plan
        .model
        .layers
        .iter()
        .filter(|l| !layer_tensors(l).is_empty())
        .map(|l| l.name.clone())
        .collect())
}

/// `freeze [NAME, …]` or `freeze loaded` (the layers `from` copies).
fn frozen_layers(
    cx: &mut Context,
    a: &Args,
    model: &ModelPlan,
    loaded: &[String],
) -> Option<Vec<String>> {
    let Some(r) = a.get("layers") else {
        cx.error_hint(
            Kind::Missing,
            a.name_span,
            "freeze needs layers: a list of names or loaded",
            Some("e.g. `freeze loaded` or `freeze [conv2d, conv2d_1]`"),
        );
        return None;
    };
    if r.as_text() == Some("loaded") {
        return Some(loaded.to_vec());
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (name, span) in names(cx, r, "freeze")? {
        if model.layers.iter().any(|l| l.name == name) {
            out.push(name);
        } else {
            unknown_layer(cx, model, &name, span);
            ok = false;
        }
    }
    ok.then_some(out)
}

/// The error for a layer name `model` does not have, with the nearest
/// name and every name it has.
fn unknown_layer(cx: &mut Context, model: &ModelPlan, name: &str, span: Span) {
    let all = model.layers.iter().map(|l| l.name.as_str());
    cx.error(
        Kind::UnknownValue,
        span,
        format!(
            "unknown layer \"{name}\"{} (this model's layers: {})",
            did_you_mean(name, all.clone()),
            all.collect::<Vec<_>>().join(", ")
        ),
    );
}

/// A list of layer names (or one name), each with its span.
fn names(cx: &mut Context, r: &Located, what: &str) -> Option<Vec<(String, Span)>> {
    let items: Vec<&Located> = match &r.v {
        Resolved::List(items) => items.iter().collect(),
        _ => vec![r],
    };
    let mut out = Vec::new();
    for item in items {
        match item.as_text() {
            Some(t) => out.push((t.to_string(), item.span)),
            None => {
                cx.error(
                    Kind::Type,
                    item.span,
                    format!("{what} must list layer names, got {}", item.describe()),
                );
                return None;
            }
        }
    }
    Some(out)
}

/// The layer names of a source file's tensors, in name order.
fn source_layers(source: &BTreeMap<String, Vec<usize>>) -> Vec<String> {
    let mut v: Vec<String> = source
        .keys()
        .filter_map(|k| k.split_once('/').map(|(l, _)| l.to_string()))
        .collect();
    v.dedup();
    v
}

/// The largest header `from` reads (safetensors' own limit is 100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// Tensor names and shapes from a safetensors file's header, without
/// reading the tensors.
/// `written` is the run folder as the pipeline spells it, for messages.
pub(crate) fn read_header(
    path: &Path,
    written: &str,
) -> Result<BTreeMap<String, Vec<usize>>, String> {
    let shown = format!("{}/{SOURCE_FILE}", written.trim_end_matches('/'));
    let run = path.parent().unwrap_or(Path::new("."));
    if !run.is_dir() {
        return Err(format!("run folder {written} not found"));
    }
    let mut f = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{shown} not found: the run folder has no final weights (did the run finish?)")
        }
        _ => format!("cannot read {shown}: {e}"),
    })?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| format!("{shown} is not a safetensors file (shorter than its header)"))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER {
        return Err(format!(
            "{shown} is not a safetensors file (header of {n} bytes)"
        ));
    }
    let mut json = Vec::new();
    f.take(n)
        .read_to_end(&mut json)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let table: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&json)
        .map_err(|e| format!("{shown} is not a safetensors file (header: {e})"))?;
    let mut out = BTreeMap::new();
    for (name, v) in table {
        if name == "__metadata__" {
            continue;
        }
        let shape = v
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|dims| {
                dims.iter()
                    .map(|d| d.as_u64().map(|d| d as usize))
                    .collect::<Option<Vec<usize>>>()
            })
            .ok_or_else(|| format!("{shown}: tensor {name} has no shape in the header"))?;
        out.insert(name, shape);
    }
    Ok(out)
}

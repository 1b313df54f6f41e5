//! The `data`, `preprocess` and `augment` sections: the source, its split,
//! and what the transforms do to the input shape.

use super::args::{Args, Range};
use super::block::{commands, kind_of};
use super::context::Context;
use super::schema::{self, BLOBS_GENERATORS, spec};
use super::value::Resolved;
use crate::data::SourceInfo;
use crate::data::convert::LoadTransform;
use crate::diagnostics::Kind;
use crate::plan::{
    AugmentPlan, BlobsGenerator, Builtin, DataPlan, FillMode, Flip, Preprocess, Shape, Source,
    SplitPlan, SplitSize, TestSplit,
};
use crate::rng::{Stream, stream_seed};
use crate::syntax::{Command, Span, Statement};
use std::path::Path;

/// Binds a command of `section` with its (kind-dependent) spec.
pub(crate) fn bind(cx: &mut Context, section: &str, cmd: &Command) -> Args {
    let name = cmd.name.name.as_str();
    let kind = kind_of(cmd);
    let sp = spec(section, name, kind).unwrap_or_else(|| {
        spec(section, name, None).unwrap_or(schema::Spec {
            positional: &[],
            named: &[],
        })
    });
    let prefix = if section.is_empty() {
        name.to_string()
    } else {
        format!("{section}.{name}")
    };
    Args::bind(cx, cmd, sp, name, prefix)
}

/// The data section and what probing the source found.
pub(crate) struct DataOut {
    pub plan: DataPlan,
    pub info: SourceInfo,
    /// The `source` statement, where problems of its files are reported.
    pub source_span: Span,
}

pub(crate) fn data(
    cx: &mut Context,
    block: &[Statement],
    head: Span,
    seed: u64,
    base: &Path,
) -> Option<DataOut> {
    let cmds = commands(cx, "data", block, true);
    let source_cmd = cmds.iter().find(|c| c.name.name == "source");
    let split_cmd = cmds.iter().find(|c| c.name.name == "split");
    let Some(source_cmd) = source_cmd else {
        cx.error_hint(
            Kind::Missing,
            head,
            "data has no source",
            Some("add e.g. `source cifar10` or `source csv \"file.csv\" label=y`"),
        );
        return None;
    };
    let source = source(cx, source_cmd, seed, base);
    let split = match split_cmd {
        Some(c) => split(cx, c, seed, source.as_ref()),
        None => {
            cx.error_hint(
                Kind::Missing,
                head,
                "data has no split",
                Some("add e.g. `split train=0.8 test=0.2`"),
            );
            None
        }
    };
    let source = source?;
    let info = match crate::data::probe(&source, base) {
        Ok(info) => info,
        Err(e) => {
            cx.error(
                Kind::Data,
                source_cmd.span,
                format!("cannot read the source: {e}"),
            );
            return None;
        }
    };
    Some(DataOut {
        plan: DataPlan {
            source,
            split: split?,
            source_loc: cx.loc(source_cmd.span),
        },
        info,
        source_span: source_cmd.span,
    })
}

/// A path written in the pipeline, against the pipeline's folder `base`
/// (absolute paths as written).
pub(super) fn resolve(base: &Path, p: &str) -> std::path::PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        // `./wines.csv` next to `./p.dlp` is `./wines.csv`, not `././wines.csv`.
        base.join(crate::syntax::clean_path(p))
    }
}

fn source(cx: &mut Context, cmd: &Command, seed: u64, base: &Path) -> Option<Source> {
    let a = bind(cx, "data", cmd);
    let kind = a.choice(cx, "kind", schema::SOURCE_KINDS, None)?;
    Some(match kind.as_str() {
        "cifar10" => Source::Builtin(Builtin::Cifar10),
        "mnist" => Source::Builtin(Builtin::Mnist),
        "fashion_mnist" => Source::Builtin(Builtin::FashionMnist),
        "blobs" => {
            // scikit-learn's make_blobs defaults: 100 samples, 2 features,
            // 3 centers, cluster_std 1.0.
            let samples = a.usize(cx, "samples", Some(100), 1);
            let centers = a.usize(cx, "centers", Some(3), 1);
            let features = a.usize(cx, "features", Some(2), 1);
            let std = a.f64(cx, "std", Some(1.0), Range::Positive);
            let generator = match a.choice(cx, "generator", BLOBS_GENERATORS, Some("chacha")) {
                Some(g) if g == "numpy" => Some(BlobsGenerator::Numpy),
                Some(_) => Some(BlobsGenerator::Chacha),
                None => None,
            };
            let s = if a.has("seed") {
                a.int(cx, "seed", None, 0).map(|s| s as u64)
            } else {
                Some(stream_seed(seed, Stream::Data))
            };
            // NumPy's RandomState takes seeds below 2^32: a written seed
            // beyond is refused; the derived stream seed keeps its low
            // 32 bits.
            let s = match (generator, s) {
                (Some(BlobsGenerator::Numpy), Some(v)) if v > u64::from(u32::MAX) => {
                    if a.has("seed") {
                        cx.error(
                            Kind::Range,
                            a.span("seed"),
                            format!(
                                "blobs generator=numpy takes a seed below 2^32 (NumPy's RandomState), got {v}"
                            ),
                        );
                        None
                    } else {
                        Some(v & u64::from(u32::MAX))
                    }
                }
                (_, s) => s,
            };
            if let (Some(n), Some(c)) = (samples, centers)
                && n < c
            {
                cx.error(
                    Kind::Conflict,
                    a.span("samples"),
                    format!("blobs samples ({n}) must be at least centers ({c})"),
                );
            }
            Source::Blobs {
                samples: samples?,
                centers: centers?,
                features: features?,
                std: std?,
                seed: s?,
                generator: generator?,
            }
        }
        "csv" => {
            let path = a.text(cx, "path");
            let label = a.text(cx, "label");
            Source::Csv {
                path: resolve(base, &path?),
                label: label?,
            }
        }
        "images" => Source::Images {
            path: resolve(base, &a.text(cx, "path")?),
        },
        _ => {
            let images = a.text(cx, "images");
            let labels = a.text(cx, "labels");
            let ti = a
                .get("test_images")
                .is_some()
                .then(|| a.text(cx, "test_images"));
            let tl = a
                .get("test_labels")
                .is_some()
                .then(|| a.text(cx, "test_labels"));
            match (&ti, &tl) {
                (Some(_), None) => cx.error(
                    Kind::Missing,
                    a.span("test_images"),
                    "test_images needs test_labels too",
                ),
                (None, Some(_)) => cx.error(
                    Kind::Missing,
                    a.span("test_labels"),
                    "test_labels needs test_images too",
                ),
                _ => {}
            }
            Source::Idx {
                images: resolve(base, &images?),
                labels: resolve(base, &labels?),
                test_images: ti.flatten().map(|p| resolve(base, &p)),
                test_labels: tl.flatten().map(|p| resolve(base, &p)),
            }
        }
    })
}

/// A split size: an integer count ≥ 1 or a fraction in (0, 1].
fn size(cx: &mut Context, a: &Args, name: &str) -> Option<SplitSize> {
    let r = a.get(name)?;
    match r.v {
        Resolved::Int(n) if n >= 1 => Some(SplitSize::Count(n as usize)),
        Resolved::Int(n) => {
            cx.error(
                Kind::Range,
                r.span,
                format!("split {name} must be positive, got {n}"),
            );
            None
        }
        Resolved::Float(f) if f > 0.0 && f <= 1.0 => Some(SplitSize::Fraction(f)),
        Resolved::Float(f) => {
            cx.error_hint(
                Kind::Range,
                r.span,
                format!("split {name} must be a count ≥ 1 or a fraction in (0, 1], got {f}"),
                Some("fractions are written with a point: train=0.8"),
            );
            None
        }
        _ => {
            cx.error(
                Kind::Type,
                r.span,
                format!(
                    "split {name} must be a count or a fraction, got {}",
                    r.describe()
                ),
            );
            None
        }
    }
}

fn split(cx: &mut Context, cmd: &Command, seed: u64, source: Option<&Source>) -> Option<SplitPlan> {
    let a = bind(cx, "data", cmd);
    let train = if a.has("train") {
        size(cx, &a, "train")
    } else {
        cx.error(Kind::Missing, a.name_span, "split needs train");
        None
    };
    let valid = size(cx, &a, "valid");
    let test = match a.get("test").map(|r| &r.v) {
        None => TestSplit::None,
        Some(Resolved::Word(w)) if w == "official" => {
            if let Some(src) = source
                && !src.has_official_test()
            {
                let name = match src {
                    Source::Blobs { .. } => "blobs",
                    Source::Csv { .. } => "csv",
                    _ => "idx without test_images",
                };
                cx.error_hint(
                    Kind::Conflict,
                    a.span("test"),
                    format!(
                        "test=official needs a source with an official test part; {name} has none"
                    ),
                    Some("give a size instead, e.g. test=0.2"),
                );
            }
            TestSplit::Official
        }
        Some(_) => size(cx, &a, "test").map_or(TestSplit::None, TestSplit::Size),
    };
    let stratify = a.bool(cx, "stratify", false);
    let shuffle = a.bool(cx, "shuffle", true);
    let validate_on_test = match a.get("validate_on") {
        None => {
            cx.mark_default("data.split.validate_on");
            false
        }
        Some(_) => {
            a.choice(cx, "validate_on", schema::VALIDATE_ON, None)
                .as_deref()
                == Some("test")
        }
    };
    if validate_on_test && test == TestSplit::None {
        cx.error_hint(
            Kind::Conflict,
            a.span("validate_on"),
            "validate_on=test needs a test split",
            Some("add test=… to split"),
        );
    }
    if validate_on_test && valid.is_some() {
        cx.error(
            Kind::Conflict,
            a.span("validate_on"),
            "validate_on=test and valid=… are exclusive: validation uses one of them",
        );
    }
    let split_seed = if a.has("seed") {
        a.int(cx, "seed", None, 0).map(|s| s as u64)
    } else {
        Some(stream_seed(seed, Stream::Split))
    };
    // Fractions of one pool must not exceed it; counts must fit the data
    // when its size is known here (blobs).
    let sizes: Vec<SplitSize> = [train, valid]
        .into_iter()
        .flatten()
        .chain(match test {
            TestSplit::Size(s) => Some(s),
            _ => None,
        })
        .collect();
    let fractions: f64 = sizes
        .iter()
        .map(|s| {
            if let SplitSize::Fraction(f) = s {
                *f
            } else {
                0.0
            }
        })
        .sum();
    if fractions > 1.0 + 1e-9 {
        cx.error(
            Kind::Range,
            cmd.span,
            format!("split fractions sum to {fractions}, more than 1"),
        );
    }
    if let Some(Source::Blobs { samples, .. }) = source {
        let counts: usize = sizes
            .iter()
            .map(|s| if let SplitSize::Count(n) = s { *n } else { 0 })
            .sum();
        if counts > *samples {
            cx.error(
                Kind::Data,
                cmd.span,
                format!("split counts sum to {counts}, more than the {samples} samples"),
            );
        }
    }
    Some(SplitPlan {
        train: train?,
        valid,
        test,
        stratify,
        shuffle,
        validate_on_test,
        seed: split_seed?,
        loc: cx.loc(cmd.span),
    })
}

/// The preprocess section; updates `shape` as grayscale and resize do.
pub(crate) fn preprocess(
    cx: &mut Context,
    block: &[Statement],
    shape: &mut Shape,
) -> Vec<Preprocess> {
    let mut out = Vec::new();
    for cmd in commands(cx, "preprocess", block, false) {
        let a = bind(cx, "preprocess", cmd);
        let name = cmd.name.name.as_str();
        let needs_image = |cx: &mut Context, shape: Shape| {
            if shape.image().is_none() {
                cx.error(
                    Kind::Shape,
                    cmd.name.span,
                    format!(
                        "{name} needs images, but the input is {} features",
                        shape.numel()
                    ),
                );
                false
            } else {
                true
            }
        };
        match name {
            "grayscale" | "rgb" => {
                let (channels, step, other, other_name) = if name == "grayscale" {
                    (1, Preprocess::Grayscale, Preprocess::Rgb, "rgb")
                } else {
                    (3, Preprocess::Rgb, Preprocess::Grayscale, "grayscale")
                };
                if out.contains(&other) {
                    cx.error(
                        Kind::Conflict,
                        cmd.name.span,
                        format!(
                            "{name} and {other_name} are exclusive: images become 1 channel or 3"
                        ),
                    );
                }
                if needs_image(cx, *shape)
                    && let Some((_, h, w)) = shape.image()
                {
                    *shape = Shape::Image {
                        channels,
                        height: h,
                        width: w,
                    };
                }
                out.push(step);
            }
            "resize" => {
                let h = a.usize(cx, "height", None, 1);
                let w = a.usize(cx, "width", None, 1);
                if let (Some(height), Some(width)) = (h, w) {
                    if needs_image(cx, *shape)
                        && let Some((c, _, _)) = shape.image()
                    {
                        *shape = Shape::Image {
                            channels: c,
                            height,
                            width,
                        };
                    }
                    out.push(Preprocess::Resize { height, width });
                }
            }
            "scale" => {
                if let Some(factor) = a.f64(cx, "factor", None, Range::Positive) {
                    out.push(Preprocess::Scale { factor });
                }
            }
            "normalize" => {
                // `normalize`, `normalize mean_std`, `normalize mean_std
                // per_channel` (as documented), `per_channel=true|false`,
                // and `normalize per_channel` (the method word alone).
                let method = a.choice(cx, "method", schema::NORMALIZE_METHODS, Some("mean_std"));
                let by_method = method.as_deref() == Some("per_channel");
                let flag = a.get("per_channel").and_then(|r| match &r.v {
                    Resolved::Bool(b) => Some((*b, r.span)),
                    Resolved::Word(w) if w == "per_channel" => Some((true, r.span)),
                    _ => {
                        cx.error(Kind::Type,
                            r.span,
                            format!(
                                "normalize per_channel must be true, false or the word per_channel, got {}",
                                r.describe()
                            ),
                        );
                        None
                    }
                });
                if let Some((false, span)) = flag
                    && by_method
                {
                    cx.error(
                        Kind::Conflict,
                        span,
                        "normalize per_channel contradicts per_channel=false",
                    );
                }
                if flag.is_none() && !by_method && !a.has("per_channel") {
                    cx.mark_default("preprocess.normalize.per_channel");
                }
                let per_channel = by_method || flag.is_some_and(|(b, _)| b);
                out.push(Preprocess::Normalize { per_channel });
            }
            _ => out.push(Preprocess::OneHot),
        }
    }
    out
}

/// An image folder that the load-time part of `preprocess` cannot load
/// (grayscale and colour files mixed without `grayscale` or `rgb`, sizes
/// that differ without `resize`) is an error at its `source`, naming the
/// first file that differs.
pub(crate) fn check_images(cx: &mut Context, data: &DataOut, preprocess: &[Preprocess]) {
    let Some(survey) = &data.info.survey else {
        return;
    };
    for e in survey.problems(LoadTransform::of(preprocess)) {
        cx.error(Kind::Data, data.source_span, e.to_string());
    }
}

/// The augment section (its head may carry `seed=`).
pub(crate) fn augment(
    cx: &mut Context,
    head: &Args,
    block: &[Statement],
    shape: Shape,
    seed: u64,
) -> AugmentPlan {
    let mut plan = AugmentPlan {
        seed: if head.has("seed") {
            head.int(cx, "seed", None, 0).map_or(0, |s| s as u64)
        } else {
            stream_seed(seed, Stream::Augment)
        },
        ..AugmentPlan::default()
    };
    let mut fill: Option<FillMode> = None;
    use schema::FILLS;
    let fill_of = |w: &str| match w {
        "constant" => FillMode::Constant,
        "reflect" => FillMode::Reflect,
        "wrap" => FillMode::Wrap,
        _ => FillMode::Nearest,
    };
    for cmd in commands(cx, "augment", block, true) {
        let a = bind(cx, "augment", cmd);
        let name = cmd.name.name.as_str();
        if shape.image().is_none() {
            cx.error(
                Kind::Shape,
                cmd.name.span,
                format!(
                    "{name} needs images, but the input is {} features",
                    shape.numel()
                ),
            );
            continue;
        }
        if a.has("fill") || name == "fill" {
            let key = if name == "fill" { "mode" } else { "fill" };
            if let Some(w) = a.choice(cx, key, FILLS, None) {
                fill = Some(fill_of(&w));
            }
        }
        match name {
            "rotate" => plan.rotate = a.f64(cx, "degrees", None, Range::NonNegative),
            "shift" => {
                let w = a.f64(cx, "width", None, Range::UnitHalfOpen);
                let h = a.f64(cx, "height", None, Range::UnitHalfOpen);
                plan.shift = w.zip(h);
            }
            "zoom" => plan.zoom = a.f64(cx, "factor", None, Range::UnitHalfOpen),
            "flip" => {
                plan.flip = a
                    .choice(cx, "mode", schema::FLIPS, None)
                    .map(|m| match m.as_str() {
                        "vertical" => Flip::Vertical,
                        "both" => Flip::Both,
                        _ => Flip::Horizontal,
                    })
            }
            "brightness" => {
                let lo = a.f64(cx, "low", None, Range::Positive);
                let hi = a.f64(cx, "high", None, Range::Positive);
                if let (Some(l), Some(h)) = (lo, hi)
                    && l > h
                {
                    cx.error(
                        Kind::Conflict,
                        cmd.span,
                        format!("brightness low ({l}) is above high ({h})"),
                    );
                }
                plan.brightness = lo.zip(hi);
            }
            "crop" => {
                let size = a.usize(cx, "size", None, 1);
                let mut padding = a.usize(cx, "padding", Some(0), 0);
                // More padding than the crop is wide would let a crop be
                // all padding (and a huge value overflow the padded size).
                if let (Some(s), Some(p)) = (size, padding)
                    && p > s
                {
                    cx.error(
                        Kind::Range,
                        a.span("padding"),
                        format!("crop padding must be ≤ the crop size ({s}), got {p}"),
                    );
                    padding = None;
                }
                // Augmentation runs on training batches only, so a crop must
                // give back the size evaluation sees: pad, then crop to it.
                if let (Some(s), Some((_, h, w))) = (size, shape.image())
                    && (s != h || s != w)
                {
                    cx.error_hint(
                        Kind::Shape,
                        a.span("size"),
                        format!("crop {s} would train on {s}×{s} images but evaluate on {h}×{w}"),
                        Some(format!(
                            "crop to the image size ({h}) with padding=…, or resize in preprocess"
                        )),
                    );
                }
                plan.crop = size.zip(padding);
            }
            _ => {}
        }
    }
    let affine = plan.rotate.is_some() || plan.shift.is_some() || plan.zoom.is_some();
    if affine && fill.is_none() {
        cx.mark_default("augment.fill");
        fill = Some(FillMode::Nearest);
    }
    plan.fill = fill;
    plan
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use std::path::{Path, PathBuf};

    #[test]
    fn data_paths_resolve_against_the_pipeline_folder() {
        let table: &[(&str, &str, &str)] = &[
            ("pipelines", "data/x.csv", "pipelines/data/x.csv"),
            (".", "x.csv", "./x.csv"),
            ("pipelines", "/abs/x.csv", "/abs/x.csv"),
            ("a/b", "../c/", "a/b/../c/"),
        ];
        for (base, p, want) in table {
            assert_eq!(
                resolve(Path::new(base), p),
                PathBuf::from(want),
                "{base} {p}"
            );
        }
    }
}

//! `dlp predict`: a finished run's model on new inputs, with exactly the
//! run's preprocessing.
//!
//! A run folder carries everything needed: the resolved plan and the
//! preprocessing statistics (`run.yaml`), the class names (`data.csv`)
//! and the weights. Inputs are read the way the run read its data — image
//! files through the loader's own decoding and load-time transforms
//! (`grayscale`, `rgb`, `resize`), CSV cells with the loader's number rule,
//! IDX files as the IDX source reads them, CIFAR-10 batch files (`.bin`)
//! as the `cifar10` source does — then the value transforms
//! (`scale`, `normalize`) are rebuilt from the recorded statistics, never
//! refitted; augmentation is never applied. The model sees them in
//! batches of the size the run's evaluation used, so predicting the run's
//! test split gives its `eval.csv` and `confusion.csv` exactly.
//!
//! An input that cannot be read, or does not fit the model (a colour image
//! for a grayscale model, another size without `resize`, a CSV without
//! the run's feature columns, a cell that is not a number), is an error
//! naming it; the other inputs are still predicted.

use super::{device, evaluate, memory, trainer};
use crate::data::convert::{self, LoadTransform};
use crate::data::preprocess::{Affine, PreprocessStats};
use crate::data::{cifar, csv_source, idx, images};
use crate::error::{Error, Result};
use crate::nn::{ForwardMode, Model};
use crate::plan::{BatchSize, DeviceSpec, Plan, Shape};
use crate::records::Manifest;
use candle_core::{Device, Tensor};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Which of a run's weights to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// `model.safetensors`: the weights the test split saw.
    Tested,
    /// The best epoch's: `best.safetensors`, or `model.safetensors` when
    /// it holds the best epoch.
    Best,
    /// The last epoch's: `last.safetensors`, or `model.safetensors` when
    /// it holds the last epoch.
    Last,
}

/// One input, read and preprocessed: what the model is given.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// How the output names it: the path, `file.csv:LINE` for a CSV row,
    /// `file[i]` for the i-th sample (from 0) of an IDX file.
    pub name: String,
    pub values: Vec<f32>,
}

/// The model's answer for one input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prediction {
    pub name: String,
    /// The predicted class, as evaluation predicts it.
    pub class: usize,
    /// Every class with its probability, most probable first.
    pub ranked: Vec<(usize, f32)>,
}

impl Prediction {
    /// The probability of the predicted class.
    pub(crate) fn probability(&self) -> f32 {
        self.ranked
            .iter()
            .find(|(c, _)| *c == self.class)
            .map_or(f32::NAN, |p| p.1)
    }
}

/// A run's model, ready to predict.
pub struct Predictor {
    pub dir: PathBuf,
    pub plan: Plan,
    pub classes: Vec<String>,
    /// The weights file in use.
    pub weights: PathBuf,
    /// The batch size of the run's evaluation.
    pub batch: usize,
    model: Model,
    device: Device,
    affine: Affine,
    load: LoadTransform,
    columns: Vec<String>,
}

/// What kind of file an input is.
enum Kind {
    Image,
    Csv,
    Idx,
    /// CIFAR-10's binary batches.
    Cifar,
}

fn kind_of(path: &Path) -> Result<Kind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => return Ok(Kind::Csv),
        Some("bin") => return Ok(Kind::Cifar),
        _ => {}
    }
    if images::is_image(path) {
        return Ok(Kind::Image);
    }
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|e| Error::io(path, e))?;
    match &head[..n] {
        [0x1f, 0x8b, ..] | [0, 0, 0x08, _] => Ok(Kind::Idx),
        [0x89, b'P', b'N', b'G'] | [0xff, 0xd8, 0xff, _] => Ok(Kind::Image),
        _ => Err(Error::file(
            path,
            "not an image (PNG, JPEG), a CSV file (.csv), an IDX file or a CIFAR-10 batch (.bin)",
        )),
    }
}

/// The image files under a folder, sorted, sub-folders included (a
/// folder of class folders is read in the loader's order).
fn image_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for p in images::sorted_entries(dir)? {
        if p.is_dir() {
            image_files(&p, out)?;
        } else if images::is_image(&p) {
            out.push(p);
        }
    }
    Ok(())
}

fn describe(shape: Shape) -> String {
    match shape {
        Shape::Flat(d) => format!("feature vectors of {d}"),
        Shape::Image {
            channels,
            height,
            width,
        } => format!(
            "{} images of {height}×{width}",
            if channels == 1 { "grayscale" } else { "colour" }
        ),
    }
}

impl Predictor {
    /// Opens a finished run folder with the chosen weights.
    pub fn open(dir: &Path, weights: Weights, device: Option<DeviceSpec>) -> Result<Predictor> {
        let manifest = Manifest::read_run_folder(dir)?;
        let yaml = dir.join(crate::records::manifest::FILE);
        let plan = manifest.plan.clone();
        let data_csv = dir.join(crate::records::data_csv::FILE);
        let rows = crate::records::data_csv::read_data(&data_csv)?;
        let first = rows.first().map(|r| r.split.clone());
        let classes: Vec<String> = rows
            .iter()
            .filter(|r| Some(&r.split) == first.as_ref())
            .map(|r| r.class.clone())
            .collect();
        if classes.is_empty() {
            return Err(Error::file(
                &data_csv,
                "no classes listed: the run ended before it read its data",
            ));
        }
        super::check_outputs(&plan, &classes)?;
        let map: serde_yaml_ng::Mapping = manifest
            .preprocessing
            .iter()
            .map(|(k, v)| (serde_yaml_ng::Value::String(k.clone()), v.clone()))
            .collect();
        let stats: PreprocessStats = serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(map))
            .map_err(|e| Error::file(&yaml, format!("preprocessing: {e}")))?;
        let affine = stats
            .affine(plan.model.input)
            .map_err(|e| Error::file(&yaml, format!("preprocessing: {e}")))?;
        let weights = weights_file(dir, &manifest, weights)?;
        let device = device::select(device.unwrap_or(plan.train.device), false)?;
        let batch = match plan.train.batch {
            BatchSize::Size(n) => n,
            BatchSize::All => stats.train_samples,
        }
        .clamp(trainer::EVAL_BATCH.0, trainer::EVAL_BATCH.1);
        memory::Need::inference(&plan, batch).check()?;
        let model = Model::new(&plan.model, plan.train.loss, &device)?;
        model.load(&weights)?;
        Ok(Predictor {
            dir: dir.to_path_buf(),
            load: LoadTransform::of(&plan.preprocess),
            columns: stats.columns,
            plan,
            classes,
            weights,
            batch,
            model,
            device,
            affine,
        })
    }

    /// The loaded model (`dlp export` writes its tensors).
    pub(crate) fn model(&self) -> &Model {
        &self.model
    }

    /// The value transforms as this predictor applies them to every
    /// sample, and the load-time ones (`dlp export` puts both in the graph).
    pub(crate) fn preprocessing(&self) -> (&Affine, LoadTransform) {
        (&self.affine, self.load)
    }

    /// A CSV source's feature columns in the order the model reads them
    /// (empty for other sources).
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Reads every input (files, folders of images), in order: the samples
    /// that could be read, and an error naming each input that could not.
    pub fn read(&self, inputs: &[PathBuf]) -> (Vec<Sample>, Vec<Error>) {
        let mut samples = Vec::new();
        let mut bad = Vec::new();
        for input in inputs {
            let files = if input.is_dir() {
                let mut found = Vec::new();
                match image_files(input, &mut found) {
                    Ok(()) if found.is_empty() => {
                        bad.push(Error::file(input, "no PNG or JPEG files in this folder"));
                    }
                    Ok(()) => {}
                    Err(e) => bad.push(e),
                }
                found
            } else if input.exists() {
                vec![input.clone()]
            } else {
                bad.push(Error::file(input, "no such file or folder"));
                Vec::new()
            };
            // Images are decoded in parallel, in order.
            let read: Vec<(Vec<Sample>, Vec<Error>)> =
                files.par_iter().map(|f| self.read_file(f)).collect();
            for (good, errors) in read {
                samples.extend(good);
                bad.extend(errors);
            }
        }
        (samples, bad)
    }

    /// One file's samples, and its errors: a CSV file may have good rows
    /// and bad ones.
    fn read_file(&self, path: &Path) -> (Vec<Sample>, Vec<Error>) {
        let input = self.plan.model.input;
        let one = |r: Result<Vec<Sample>>| match r {
            Ok(s) => (s, Vec::new()),
            Err(e) => (Vec::new(), vec![e]),
        };
        let kind = match kind_of(path) {
            Ok(k) => k,
            Err(e) => return (Vec::new(), vec![e]),
        };
        match (kind, input) {
            (Kind::Image, Shape::Image { .. }) => one(self.image(path).map(|s| vec![s])),
            (Kind::Image, flat) => one(Err(Error::file(
                path,
                format!("an image, but the run's model reads {}", describe(flat)),
            ))),
            (Kind::Csv, Shape::Flat(d)) => self.csv(path, d),
            (Kind::Csv, image) => one(Err(Error::file(
                path,
                format!("a CSV file, but the run's model reads {}", describe(image)),
            ))),
            (Kind::Idx, _) => one(self.idx(path)),
            (Kind::Cifar, _) => one(self.cifar(path)),
        }
    }

    fn finish(&self, name: String, mut values: Vec<f32>) -> Sample {
        self.affine.apply(&mut values);
        Sample { name, values }
    }

    fn image(&self, path: &Path) -> Result<Sample> {
        let Shape::Image {
            channels,
            height,
            width,
        } = self.plan.model.input
        else {
            return Err(Error::file(path, "the run's model does not read images"));
        };
        let img = images::decode(path)?;
        let decoded = if self.load.rgb || img.color().has_color() {
            3
        } else {
            1
        };
        let out = if self.load.grayscale { 1 } else { decoded };
        let kind = |c: usize| {
            if c == 1 {
                "grayscale (1 channel)"
            } else {
                "colour (3 channels)"
            }
        };
        if out != channels {
            let missing = if channels == 1 { "grayscale" } else { "rgb" };
            return Err(Error::file(
                path,
                format!(
                    "image is {} but the run's model reads {} images, and the run's preprocess has no `{missing}`",
                    kind(out),
                    kind(channels)
                ),
            ));
        }
        let (h, w) = (img.height() as usize, img.width() as usize);
        if self.load.resize.is_none() && (h, w) != (height, width) {
            return Err(Error::file(
                path,
                format!(
                    "image is {h}×{w} (height×width) but the run's model reads {height}×{width}, and the run's preprocess has no `resize`"
                ),
            ));
        }
        let pixels = images::sample(&img, decoded, self.load, (height, width));
        Ok(self.finish(
            path.display().to_string(),
            pixels.into_iter().map(f32::from).collect(),
        ))
    }

    fn idx(&self, path: &Path) -> Result<Vec<Sample>> {
        let file = idx::read(path)?;
        let shape = idx::sample_shape(path, &file.dims)?;
        self.records(path, &file.data, shape)
    }

    /// A CIFAR-10 batch file's images (its labels are not needed).
    fn cifar(&self, path: &Path) -> Result<Vec<Sample>> {
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        cifar::read_batch(path, &mut pixels, &mut labels)?;
        self.records(path, &pixels, cifar::SHAPE)
    }

    /// The samples of `shape` stored back to back in `data` (an IDX file, a
    /// CIFAR-10 batch), named `file[i]`, through the run's load-time
    /// transforms.
    fn records(&self, path: &Path, data: &[u8], shape: Shape) -> Result<Vec<Sample>> {
        let (numel, out) = (shape.numel(), self.load.shape(shape));
        if out != self.plan.model.input
            || (matches!(shape, Shape::Flat(_)) && !self.load.is_identity())
        {
            return Err(Error::file(
                path,
                format!(
                    "samples are {}, but the run's model reads {}",
                    describe(shape),
                    describe(self.plan.model.input)
                ),
            ));
        }
        let Shape::Image {
            channels,
            height,
            width,
        } = shape
        else {
            return Ok(data
                .chunks_exact(numel.max(1))
                .enumerate()
                .map(|(i, s)| {
                    self.finish(
                        format!("{}[{i}]", path.display()),
                        s.iter().copied().map(f32::from).collect(),
                    )
                })
                .collect());
        };
        Ok(data
            .par_chunks_exact(numel.max(1))
            .enumerate()
            .map(|(i, s)| {
                let pixels = if self.load.is_identity() {
                    s.to_vec()
                } else {
                    convert::sample(s, channels, height, width, self.load)
                };
                self.finish(
                    format!("{}[{i}]", path.display()),
                    pixels.into_iter().map(f32::from).collect(),
                )
            })
            .collect())
    }

    fn csv(&self, path: &Path, features: usize) -> (Vec<Sample>, Vec<Error>) {
        let fail = |e: Error| (Vec::new(), vec![e]);
        let mut reader = match crate::data::line_ends::open(path) {
            Ok(f) => csv::ReaderBuilder::new().flexible(true).from_reader(f),
            Err(e) => return fail(Error::file(path, e.to_string())),
        };
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
            Err(e) => return fail(Error::file(path, e.to_string())),
        };
        if let Some(e) = csv_source::duplicate_column(&header) {
            return fail(Error::file(path, e));
        }
        let columns: Vec<usize> = if self.columns.is_empty() {
            if header.len() != features {
                return fail(Error::file(
                    path,
                    format!(
                        "{} columns, but the run's model reads {features} features (its source names no columns, so a file must hold exactly the features, in order)",
                        header.len()
                    ),
                ));
            }
            (0..features).collect()
        } else {
            let missing: Vec<&str> = self
                .columns
                .iter()
                .filter(|c| !header.contains(c))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return fail(Error::file(
                    path,
                    format!(
                        "no column {} (the run's model reads {}; the file has {})",
                        missing
                            .iter()
                            .map(|m| format!("\"{m}\""))
                            .collect::<Vec<_>>()
                            .join(", "),
                        self.columns.join(", "),
                        header.join(", ")
                    ),
                ));
            }
            self.columns
                .iter()
                .filter_map(|c| header.iter().position(|h| h == c))
                .collect()
        };
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    bad.push(Error::file(
                        format!("{}:{line}", path.display()),
                        e.to_string(),
                    ));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            let name = format!("{}:{line}", path.display());
            if record.len() != header.len() {
                bad.push(Error::file(
                    &name,
                    format!("{} fields, the header has {}", record.len(), header.len()),
                ));
                continue;
            }
            let values: std::result::Result<Vec<f32>, String> = columns
                .iter()
                .map(|&i| csv_source::feature(record[i].trim(), &header[i]))
                .collect();
            match values {
                Ok(v) => good.push(self.finish(name, v)),
                Err(e) => bad.push(Error::file(&name, e)),
            }
        }
        if good.is_empty() && bad.is_empty() {
            bad.push(Error::file(path, "no data rows after the header"));
        }
        (good, bad)
    }

    /// Runs the model over the samples in batches of [`Predictor::batch`].
    pub(crate) fn predict(&self, samples: &[Sample]) -> Result<Vec<Prediction>> {
        let numel = self.plan.model.input.numel();
        let mut out = Vec::with_capacity(samples.len());
        for chunk in samples.chunks(self.batch.max(1)) {
            let mut x = Vec::with_capacity(chunk.len() * numel);
            for s in chunk {
                if s.values.len() != numel {
                    return Err(Error::Runtime(format!(
                        "{}: {} values for a model input of {numel}",
                        s.name,
                        s.values.len()
                    )));
                }
                x.extend_from_slice(&s.values);
            }
            let dims = self.plan.model.input.batch_dims(chunk.len());
            let x = Tensor::from_vec(x, dims.as_slice(), &self.device)?;
            let logits = self.model.forward(&x, ForwardMode::Eval)?.detach();
            let probs = self.model.probabilities(&logits)?.detach();
            let classes = evaluate::predict(&probs)?;
            let rows = probs.to_dtype(candle_core::DType::F32)?.to_vec2::<f32>()?;
            for ((s, class), p) in chunk.iter().zip(classes).zip(rows) {
                let p = if let [q] = p.as_slice() {
                    vec![1.0 - q, *q]
                } else {
                    p
                };
                let mut ranked: Vec<(usize, f32)> = p.into_iter().enumerate().collect();
                // Most probable first; the predicted class first among equals.
                ranked.sort_by(|a, b| {
                    b.1.total_cmp(&a.1)
                        .then((a.0 != class as usize).cmp(&(b.0 != class as usize)))
                        .then(a.0.cmp(&b.0))
                });
                out.push(Prediction {
                    name: s.name.clone(),
                    class: class as usize,
                    ranked,
                });
            }
        }
        Ok(out)
    }
}

/// The weights file for `which`, or an error saying what the run kept.
fn weights_file(dir: &Path, m: &Manifest, which: Weights) -> Result<PathBuf> {
    let model = dir.join("model.safetensors");
    let tested = m.test_epoch;
    // A run that completed trained every epoch of its bound.
    let last = m.stop_epoch.or(match m.status {
        crate::records::Status::Completed => Some(m.plan.train.epochs),
        _ => None,
    });
    let (name, file, epoch) = match which {
        Weights::Tested => return Ok(model),
        Weights::Best => ("best", dir.join(super::checkpoint::BEST_FILE), m.best_epoch),
        Weights::Last => ("last", dir.join(super::checkpoint::LAST_FILE), last),
    };
    if file.is_file() {
        return Ok(file);
    }
    if epoch.is_some() && epoch == tested {
        return Ok(model);
    }
    let tested = tested.map_or("no recorded epoch".to_string(), |e| format!("epoch {e}"));
    Err(Error::Usage(format!(
        "{}: the run kept no {name} weights: there is no {}, and model.safetensors holds {tested}{}",
        dir.display(),
        file.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        epoch.map_or(String::new(), |e| format!(", not epoch {e}"))
    )))
}

//! Data: sources, splits, preprocessing, augmentation and batching.
//!
//! [`load`] reads a source (a built-in set via [`download`], `blobs`,
//! `csv`, `images`, `idx`), applies the load-time transforms (grayscale,
//! resize) to the stored `u8` pixels, splits ([`split`]), fits the value
//! transforms on the train split ([`preprocess`]) and returns a
//! [`Dataset`], from which the runner draws [`Batch`]es, augmented
//! ([`augment`]) for training, optionally prefetched ([`Batches`]).

pub mod augment;
mod batches;
pub mod blobs;
pub mod cifar;
pub mod convert;
pub mod csv_source;
mod dataset;
pub mod download;
pub mod idx;
pub mod images;
pub(crate) mod line_ends;
pub(crate) mod numpy_random;
pub mod preprocess;
pub(crate) mod split;
pub mod synth;
pub mod table;

pub use dataset::{Batch, Dataset, Part};
pub(crate) use preprocess::PreprocessStats;

use crate::error::{Error, Result};
use crate::plan::{Builtin, DataPlan, Plan, Preprocess, Shape, Source};
use dataset::PartRows;
use std::path::{Path, PathBuf};
use table::Loaded;

/// What the planner needs to know of a source before loading it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Shape of one sample as stored (before preprocessing).
    pub input: Shape,
    /// Number of classes, when it is known without reading all labels.
    pub classes: Option<usize>,
    /// An image folder's channels and sizes, from every file's header.
    pub survey: Option<images::Survey>,
}

/// A source path against the pipeline's folder (absolute paths as is).
fn resolve(path: &Path, base: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let joined = base.join(path);
    // Neither there: the path as the analyzer resolved it names the file
    // in the error (not joined to the folder twice).
    if joined.exists() {
        joined
    } else {
        path.to_path_buf()
    }
}

/// The shape and class count of a source, reading at most file headers.
/// `base` is the pipeline file's folder, against which paths resolve.
pub fn probe(source: &Source, base: &Path) -> Result<SourceInfo> {
    match source {
        Source::Builtin(Builtin::Cifar10) => Ok(SourceInfo {
            input: Shape::Image {
                channels: 3,
                height: 32,
                width: 32,
            },
            classes: Some(10),
            survey: None,
        }),
        Source::Builtin(Builtin::Mnist | Builtin::FashionMnist) => Ok(SourceInfo {
            input: Shape::Image {
                channels: 1,
                height: 28,
                width: 28,
            },
            classes: Some(10),
            survey: None,
        }),
        Source::Blobs {
            features, centers, ..
        } => Ok(SourceInfo {
            input: Shape::Flat(*features),
            classes: Some(*centers),
            survey: None,
        }),
        Source::Csv { path, label } => {
            let (names, _) = csv_source::header(&resolve(path, base), label)?;
            Ok(SourceInfo {
                input: Shape::Flat(names.len() - 1),
                classes: None,
                survey: None,
            })
        }
        Source::Idx { images, .. } => {
            let path = resolve(images, base);
            let dims = idx::read_dims(&path)?;
            Ok(SourceInfo {
                input: idx::sample_shape(&path, &dims)?,
                classes: None,
                survey: None,
            })
        }
        Source::Images { path } => {
            let root = resolve(path, base);
            let (files, classes) = images::files(&root)?;
            let Some(s) = images::Survey::of_headers(&files)? else {
                return Err(Error::file(&root, "no PNG or JPEG files"));
            };
            let (_, channels, height, width) = s.first;
            Ok(SourceInfo {
                input: Shape::Image {
                    channels,
                    height,
                    width,
                },
                classes: Some(classes),
                survey: Some(s),
            })
        }
    }
}

/// Reads the source with the load-time transforms applied.
fn read_source(
    data: &DataPlan,
    preprocess: &[Preprocess],
    path: &Path,
    progress: bool,
) -> Result<Loaded> {
    let base = path.parent().unwrap_or(Path::new("."));
    let t = convert::LoadTransform::of(preprocess);
    let loaded = match &data.source {
        Source::Builtin(b) => {
            let spec = download::Spec::builtin(*b);
            let mirror = std::env::var("DLP_MIRROR").ok();
            let dir =
                download::ensure(&spec, &download::cache_root()?, mirror.as_deref(), progress)?;
            match b {
                Builtin::Cifar10 => cifar::load(&dir)?,
                Builtin::Mnist | Builtin::FashionMnist => {
                    let f = |name| download::locate(&dir, name);
                    let mut l = idx_source(
                        &f("train-images-idx3-ubyte.gz"),
                        &f("train-labels-idx1-ubyte.gz"),
                        Some((
                            &f("t10k-images-idx3-ubyte.gz"),
                            &f("t10k-labels-idx1-ubyte.gz"),
                        )),
                    )?;
                    l.name = b.name().into();
                    if *b == Builtin::FashionMnist {
                        l.classes = FASHION_CLASSES.iter().map(|s| s.to_string()).collect();
                    }
                    l
                }
            }
        }
        Source::Blobs {
            samples,
            centers,
            features,
            std,
            seed,
            generator,
        } => blobs::load(*samples, *centers, *features, *std, *seed, *generator)?,
        Source::Csv { path, label } => csv_source::load(&resolve(path, base), label)?,
        Source::Images { path } => return images::load(&resolve(path, base), t),
        Source::Idx {
            images,
            labels,
            test_images,
            test_labels,
        } => {
            let test = match (test_images, test_labels) {
                (Some(i), Some(l)) => Some((resolve(i, base), resolve(l, base))),
                (None, None) => None,
                _ => {
                    return Err(Error::Runtime(
                        "idx: give both test_images and test_labels, or neither".into(),
                    ));
                }
            };
            idx_source(
                &resolve(images, base),
                &resolve(labels, base),
                test.as_ref().map(|(i, l)| (i.as_path(), l.as_path())),
            )?
        }
    };
    if t.is_identity() {
        return Ok(loaded);
    }
    let shape = loaded.shape;
    Ok(Loaded {
        shape: t.shape(shape),
        train: convert::table(loaded.train, shape, t)?,
        test: loaded
            .test
            .map(|x| convert::table(x, shape, t))
            .transpose()?,
        ..loaded
    })
}

/// Fashion-MNIST's class names, in label order.
pub(crate) const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

fn idx_source(images: &Path, labels: &Path, test: Option<(&Path, &Path)>) -> Result<Loaded> {
    let (train, shape) = idx::read_pair(images, labels)?;
    let test = match test {
        Some((i, l)) => {
            let (t, s) = idx::read_pair(i, l)?;
            if s != shape {
                return Err(Error::file(
                    i,
                    format!("samples are {s} but the training images are {shape}"),
                ));
            }
            Some(t)
        }
        None => None,
    };
    let max = train
        .labels
        .iter()
        .chain(test.iter().flat_map(|t| t.labels.iter()))
        .copied()
        .max()
        .unwrap_or(0);
    Ok(Loaded {
        name: images
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        classes: (0..=max).map(|k| k.to_string()).collect(),
        shape,
        train,
        test,
    })
}

/// Loads, splits and fits preprocessing for a plan.
pub(crate) fn load(plan: &Plan, progress: bool) -> Result<Dataset> {
    load_parts(&plan.data, &plan.preprocess, &plan.path, progress)
}

/// [`load`] from the plan's `data` and `preprocess` sections; `path` is the
/// pipeline file (relative source paths resolve against its folder, split
/// errors point into it).
pub fn load_parts(
    data: &DataPlan,
    preprocess: &[Preprocess],
    path: &Path,
    progress: bool,
) -> Result<Dataset> {
    let _span = tracing::info_span!("data::load").entered();
    let loaded = read_source(data, preprocess, path, progress)?;
    let name = match &data.source {
        Source::Builtin(b) => b.name().to_string(),
        _ => loaded.name.clone(),
    };
    let a = split::assign(
        &data.split,
        &loaded.train.labels,
        loaded.test.is_some(),
        &name,
        path,
    )?;
    let (mut stats, affine) = tracing::info_span!("preprocess")
        .in_scope(|| preprocess::fit(preprocess, &loaded.train, &a.train, loaded.shape));
    if let Source::Csv { path: csv, label } = &data.source {
        let base = path.parent().unwrap_or(Path::new("."));
        let (names, at) = csv_source::header(&resolve(csv, base), label)?;
        stats.columns = names
            .into_iter()
            .enumerate()
            .filter_map(|(i, n)| (i != at).then_some(n))
            .collect();
    }
    let rows = |table: usize, rows: Vec<usize>, t: &table::Table| PartRows {
        labels: rows.iter().map(|&r| t.labels[r]).collect(),
        table,
        rows,
    };
    let mut tables = vec![loaded.train];
    let train = rows(0, a.train, &tables[0]);
    let valid = a.valid.map(|v| rows(0, v, &tables[0]));
    let test = if a.test_official {
        loaded.test.map(|t| {
            let r = rows(1, (0..t.len()).collect(), &t);
            tables.push(t);
            r
        })
    } else {
        a.test.map(|v| rows(0, v, &tables[0]))
    };
    Ok(Dataset {
        classes: loaded.classes,
        input: loaded.shape,
        stats,
        tables,
        parts: [Some(train), valid, test],
        affine,
    })
}

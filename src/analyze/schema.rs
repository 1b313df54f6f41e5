//! The statements each section accepts and the parameters each statement
//! takes: positional names in order, then keyword-only names. One table,
//! used both to bind arguments and to validate `--set` paths, so the two
//! can never disagree.

/// Blocks at the top level, in the order `dlp plan` prints them.
pub const SECTIONS: &[&str] = &[
    "data",
    "preprocess",
    "augment",
    "model",
    "transfer",
    "train",
    "evaluate",
    "diagnose",
    "expect",
    "sweep",
];

/// Statements allowed at the top level besides the sections.
pub const TOP_LEVEL: &[&str] = &["seed", "let"];

/// The parameters of one statement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// Names of positional values, in order (`dense 10` = `dense units=10`).
    pub positional: &'static [&'static str],
    /// Keyword-only names.
    pub named: &'static [&'static str],
}

impl Spec {
    const fn new(positional: &'static [&'static str], named: &'static [&'static str]) -> Spec {
        Spec { positional, named }
    }

    /// Every accepted name, positional ones first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.positional.iter().chain(self.named.iter()).copied()
    }

    pub(crate) fn accepts(&self, name: &str) -> bool {
        self.all().any(|n| n == name)
    }
}

/// Statements of a section (for suggestions and error messages).
pub fn statements(section: &str) -> &'static [&'static str] {
    match section {
        "data" => &["source", "split"],
        "preprocess" => &[
            "grayscale",
            "rgb",
            "resize",
            "scale",
            "normalize",
            "one_hot",
        ],
        "augment" => &[
            "rotate",
            "shift",
            "zoom",
            "fill",
            "flip",
            "brightness",
            "crop",
        ],
        "model" => &[
            "dense",
            "conv2d",
            "maxpool",
            "avgpool",
            "global_avgpool",
            "flatten",
            "dropout",
            "batchnorm",
            "relu",
            "leaky_relu",
            "sigmoid",
            "tanh",
            "softmax",
            "linear",
            "repeat",
            "block",
            "add",
            "concat",
            "branch",
        ],
        "train" => &[
            "loss",
            "optimizer",
            "schedule",
            "batch",
            "epochs",
            "early_stop",
            "checkpoint",
            "class_weight",
            "device",
        ],
        "transfer" => &["from", "freeze", "unfreeze"],
        "evaluate" => &["metrics", "weights"],
        "diagnose" => &["human_error"],
        _ => &[],
    }
}

/// The section a statement belongs in, for "must be inside …" hints.
pub fn home_section(statement: &str) -> Option<&'static str> {
    SECTIONS
        .iter()
        .copied()
        .find(|s| statements(s).contains(&statement))
}

pub(crate) const SOURCE_KINDS: &[&str] = &[
    "cifar10",
    "mnist",
    "fashion_mnist",
    "blobs",
    "csv",
    "images",
    "idx",
];
/// What draws `source blobs`: dlp's ChaCha8 stream or NumPy's legacy
/// `RandomState` (scikit-learn's exact points).
pub const BLOBS_GENERATORS: &[&str] = &["chacha", "numpy"];
pub const OPTIMIZERS: &[&str] = &["sgd", "adam", "adamw", "rmsprop", "adagrad"];
pub const SCHEDULES: &[&str] = &[
    "constant",
    "step",
    "milestones",
    "exponential",
    "cosine",
    "linear",
    "plateau",
];
pub const ACTIVATIONS: &[&str] = &["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"];
pub const LOSSES: &[&str] = &["cross_entropy", "binary_cross_entropy", "mse"];
pub(crate) const METRICS: &[&str] = &["accuracy", "precision", "recall", "f1", "confusion"];

/// The words that select a variant of `statement` (its first positional
/// value), for the statements whose parameters depend on it; empty for the
/// others. [`spec`] takes one of these as `kind`; the schema walk test
/// covers every parameter of every variant listed here.
pub(crate) fn kinds(section: &str, statement: &str) -> &'static [&'static str] {
    match (section, statement) {
        ("", "sweep") => &["grid", "random"],
        ("data", "source") => SOURCE_KINDS,
        ("train", "optimizer") => OPTIMIZERS,
        ("train", "schedule") => SCHEDULES,
        _ => &[],
    }
}

/// What [`spec`] takes as `kind` for `statement`: each of its [`kinds`],
/// or `None` alone for a statement without variants.
pub(crate) fn variants(section: &str, statement: &str) -> Vec<Option<&'static str>> {
    match kinds(section, statement) {
        [] => vec![None],
        ks => ks.iter().map(|k| Some(*k)).collect(),
    }
}

/// The parameters of `statement` in `section`. `kind` is the statement's
/// first positional word where it selects a variant (`optimizer adam`,
/// `source blobs`, `schedule step`, `sweep random`); `None` when unknown.
pub(crate) fn spec(section: &str, statement: &str, kind: Option<&str>) -> Option<Spec> {
    const OPT_COMMON: &[&str] = &["clip_norm", "decay"];
    Some(match (section, statement) {
        ("", "seed") => Spec::new(&["seed"], &[]),
        ("", "data" | "preprocess" | "evaluate" | "diagnose" | "expect" | "transfer") => {
            Spec::new(&[], &[])
        }
        ("transfer", "from") => Spec::new(&["run"], &["layers", "match"]),
        ("transfer", "freeze") => Spec::new(&["layers"], &[]),
        ("transfer", "unfreeze") => Spec::new(&[], &["after", "factor"]),
        ("", "augment" | "model" | "train") => Spec::new(&[], &["seed"]),
        ("", "sweep") => match kind {
            Some("random") => Spec::new(
                &["kind"],
                &[
                    "trials", "seed", "monitor", "goal", "prune", "warmup", "startup",
                ],
            ),
            _ => Spec::new(
                &["kind"],
                &["monitor", "goal", "prune", "warmup", "startup"],
            ),
        },
        ("data", "source") => match kind {
            Some("blobs") => Spec::new(
                &["kind"],
                &["samples", "centers", "features", "std", "seed", "generator"],
            ),
            Some("csv") => Spec::new(&["kind", "path"], &["label"]),
            Some("images") => Spec::new(&["kind", "path"], &[]),
            Some("idx") => Spec::new(
                &["kind"],
                &["images", "labels", "test_images", "test_labels"],
            ),
            _ => Spec::new(&["kind"], &[]),
        },
        ("data", "split") => Spec::new(
            &["train", "valid", "test"],
            &["stratify", "shuffle", "validate_on", "seed"],
        ),
        ("preprocess", "grayscale" | "rgb" | "one_hot") => Spec::new(&[], &[]),
        ("preprocess", "resize") => Spec::new(&["height", "width"], &[]),
        ("preprocess", "scale") => Spec::new(&["factor"], &[]),
        // `normalize mean_std per_channel`: the second word binds to
        // per_channel (= per_channel=true).
        ("preprocess", "normalize") => Spec::new(&["method", "per_channel"], &[]),
        ("augment", "rotate") => Spec::new(&["degrees"], &["fill"]),
        ("augment", "shift") => Spec::new(&["width", "height"], &["fill"]),
        ("augment", "zoom") => Spec::new(&["factor"], &["fill"]),
        ("augment", "fill") => Spec::new(&["mode"], &[]),
        ("augment", "flip") => Spec::new(&["mode"], &[]),
        ("augment", "brightness") => Spec::new(&["low", "high"], &[]),
        ("augment", "crop") => Spec::new(&["size"], &["padding"]),
        ("model", "dense") => Spec::new(&["units"], &["activation", "l2"]),
        ("model", "conv2d") => Spec::new(
            &["filters"],
            &[
                "kernel",
                "stride",
                "padding",
                "activation",
                "l2",
                "use_bias",
            ],
        ),
        ("model", "maxpool" | "avgpool") => Spec::new(&["size"], &["stride"]),
        ("model", "dropout") => Spec::new(&["rate"], &["seed"]),
        ("model", "batchnorm") => Spec::new(&[], &["momentum", "epsilon"]),
        ("model", "leaky_relu") => Spec::new(&["alpha"], &[]),
        (
            "model",
            "global_avgpool" | "flatten" | "relu" | "sigmoid" | "tanh" | "softmax" | "linear",
        ) => Spec::new(&[], &[]),
        ("train", "loss") => Spec::new(&["kind"], &["label_smoothing"]),
        ("train", "optimizer") => match kind {
            Some("sgd") => Spec::new(
                &["kind"],
                &[
                    "lr",
                    "momentum",
                    "nesterov",
                    "weight_decay",
                    "clip_norm",
                    "decay",
                ],
            ),
            Some("adam") => Spec::new(
                &["kind"],
                &["lr", "beta1", "beta2", "epsilon", "clip_norm", "decay"],
            ),
            Some("adamw") => Spec::new(
                &["kind"],
                &[
                    "lr",
                    "beta1",
                    "beta2",
                    "epsilon",
                    "weight_decay",
                    "clip_norm",
                    "decay",
                ],
            ),
            Some("rmsprop") => Spec::new(
                &["kind"],
                &["lr", "rho", "momentum", "epsilon", "clip_norm", "decay"],
            ),
            Some("adagrad") => Spec::new(
                &["kind"],
                &["lr", "initial_accumulator", "epsilon", "clip_norm", "decay"],
            ),
            _ => Spec::new(&["kind"], OPT_COMMON),
        },
        ("train", "schedule") => match kind {
            Some("step" | "exponential") => {
                Spec::new(&["kind"], &["every", "factor", "warmup", "warmup_lr"])
            }
            Some("milestones") => Spec::new(&["kind"], &["at", "factor", "warmup", "warmup_lr"]),
            Some("cosine") => Spec::new(&["kind"], &["min", "warmup", "warmup_lr"]),
            Some("linear") => Spec::new(&["kind"], &["to", "warmup", "warmup_lr"]),
            Some("plateau") => Spec::new(
                &["kind"],
                &[
                    "monitor",
                    "factor",
                    "patience",
                    "min_delta",
                    "min_lr",
                    "mode",
                    "warmup",
                    "warmup_lr",
                ],
            ),
            _ => Spec::new(&["kind"], &["warmup", "warmup_lr"]),
        },
        ("train", "batch") => Spec::new(&["size"], &["drop_last", "seed"]),
        ("train", "epochs") => Spec::new(&["count"], &[]),
        ("train", "early_stop") => Spec::new(
            &[],
            &["monitor", "min_delta", "patience", "restore_best", "mode"],
        ),
        ("train", "checkpoint") => Spec::new(&[], &["monitor", "best_only", "mode"]),
        ("train", "class_weight") => Spec::new(&["weights"], &[]),
        ("train", "device") => Spec::new(&["device"], &[]),
        ("evaluate", "metrics") => Spec::new(&[], &["top_k", "weights"]),
        ("evaluate", "weights") => Spec::new(&["which"], &[]),
        ("diagnose", "human_error") => Spec::new(&["value"], &["tolerance"]),
        _ => return None,
    })
}

/// The closest of `candidates` to `word`, when close enough to suggest.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    // Keras' and PyTorch's names for what dlp spells shorter.
    if let Some((_, ours)) = KERAS_NAMES.iter().find(|(theirs, _)| *theirs == word)
        && let Some(c) = candidates.iter().find(|c| **c == *ours)
    {
        return Some(*c);
    }
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Other libraries' parameter names → dlp's, for suggestions.
pub(super) const KERAS_NAMES: &[(&str, &str)] = &[
    ("learning_rate", "lr"),
    ("batch_size", "batch"),
    ("kernel_size", "kernel"),
    ("strides", "stride"),
    ("pool_size", "size"),
    ("clipnorm", "clip_norm"),
];

/// ` — did you mean "x"?` or nothing.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    suggest(word, candidates)
        .map(|s| format!(" — did you mean \"{s}\"?"))
        .unwrap_or_default()
}

pub const PADDINGS: &[&str] = &["same", "valid"];
pub const FILLS: &[&str] = &["nearest", "constant", "reflect", "wrap"];
pub const FLIPS: &[&str] = &["horizontal", "vertical", "both"];
pub(crate) const MODES: &[&str] = &["min", "max"];
pub(crate) const WEIGHTS: &[&str] = &["best", "last"];
pub(crate) const VALIDATE_ON: &[&str] = &["test", "valid"];
pub(crate) const NORMALIZE_METHODS: &[&str] = &["mean_std", "per_channel"];
pub(crate) const SWEEP_KINDS: &[&str] = &["grid", "random"];
pub(crate) const PRUNE_RULES: &[&str] = &["none", "median"];
const BOOLS: &[&str] = &["true", "false"];

/// The words a parameter takes, where it takes words: the analyzer checks
/// against these lists and the language server offers them.
pub(crate) fn choices(section: &str, statement: &str, key: &str) -> &'static [&'static str] {
    match (section, statement, key) {
        ("", "sweep", "kind") => SWEEP_KINDS,
        ("", "sweep", "goal") => MODES,
        ("", "sweep", "prune") => PRUNE_RULES,
        ("data", "source", "kind") => SOURCE_KINDS,
        ("data", "source", "generator") => BLOBS_GENERATORS,
        ("data", "split", "validate_on") => VALIDATE_ON,
        ("data", "split", "test") => &["official"],
        ("preprocess", "normalize", "method") => NORMALIZE_METHODS,
        ("preprocess", "normalize", "per_channel") => &["per_channel", "true", "false"],
        ("augment", "fill", "mode") | ("augment", _, "fill") => FILLS,
        ("augment", "flip", "mode") => FLIPS,
        ("model", _, "activation") => ACTIVATIONS,
        ("model", "conv2d", "padding") => PADDINGS,
        ("train", "loss", "kind") => LOSSES,
        ("train", "optimizer", "kind") => OPTIMIZERS,
        ("train", "schedule", "kind") => SCHEDULES,
        ("train", _, "mode") => MODES,
        ("train", "batch", "size") => &["all"],
        ("train", "class_weight", "weights") => &["balanced"],
        ("train", "device", "device") => &["auto", "cpu", "cuda"],
        ("transfer", "from", "match") => &["name", "position"],
        ("evaluate", _, "weights" | "which") => WEIGHTS,
        (
            _,
            _,
            "stratify" | "shuffle" | "drop_last" | "restore_best" | "best_only" | "nesterov"
            | "use_bias",
        ) => BOOLS,
        _ => &[],
    }
}

/// The variant a statement stands for when the pipeline leaves it out
/// (Keras' `compile()` default `adam` for `train.optimizer`), so that
/// `--set train.optimizer.lr=0.01` reaches it.
pub(crate) fn default_kind(section: &str, statement: &str) -> Option<&'static str> {
    match (section, statement) {
        ("train", "optimizer") => Some("adam"),
        _ => None,
    }
}

/// A parameter that takes words: where it is written and its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordParameter {
    /// `""` for a section head (`sweep grid goal=`).
    pub section: &'static str,
    pub statement: &'static str,
    pub key: &'static str,
    pub words: &'static [&'static str],
}

impl WordParameter {
    /// `train.early_stop.mode`, `sweep.goal`: the name the choice walk
    /// (tests/it/engine) files it under.
    pub fn id(&self) -> String {
        match self.section {
            "" => format!("{}.{}", self.statement, self.key),
            s => format!("{s}.{}.{}", self.statement, self.key),
        }
    }
}

/// Every parameter of every statement, variant and section head that takes
/// words (once each), so that a test can run each word and show it changes
/// what a run computes.
pub fn word_parameters() -> Vec<WordParameter> {
    let mut out: Vec<WordParameter> = Vec::new();
    let mut visit = |section: &'static str, statement: &'static str| {
        for kind in variants(section, statement) {
            let Some(sp) = spec(section, statement, kind) else {
                continue;
            };
            for key in sp.all().chain(kind.map(|_| "kind")) {
                let words = choices(section, statement, key);
                let p = WordParameter {
                    section,
                    statement,
                    key,
                    words,
                };
                if !words.is_empty() && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    };
    for &section in SECTIONS {
        visit("", section);
        for &statement in statements(section) {
            visit(section, statement);
        }
    }
    out
}

/// What a statement does, for hover.
pub(crate) fn statement_doc(section: &str, statement: &str) -> &'static str {
    match (section, statement) {
        ("", "seed") => {
            "The pipeline seed: every random stream (data, split, initial weights, shuffling, dropout, augmentation) derives from it. Default 0."
        }
        ("", "let") => {
            "A variable: `let NAME = VALUE`, used as `$NAME`; `--set NAME=VALUE` overrides it."
        }
        ("", "data") => "Where samples come from (`source`) and how they are split (`split`).",
        ("", "preprocess") => "Transforms applied to every sample before training and evaluation.",
        ("", "augment") => {
            "Random transforms of training batches only; `seed=` roots their stream."
        }
        ("", "model") => "The layer stack, in order; shapes are inferred from the data.",
        ("", "train") => {
            "Loss, optimizer, schedule, batch size, epochs, early stopping, checkpoints; `seed=` roots the training streams."
        }
        ("", "transfer") => {
            "Transfer learning: start layers from another run's weights (`from`), freeze them (`freeze`), thaw them later at a lower rate (`unfreeze`)."
        }
        ("transfer", "from") => {
            "The run folder whose `model.safetensors` gives the listed layers their starting weights; shapes are checked against its header. Layers not loaded keep their fresh initialisation (a new head)."
        }
        ("transfer", "freeze") => {
            "Layers that do not train: no gradients, no optimizer state, batch norm in inference mode (Keras' `trainable = False`)."
        }
        ("transfer", "unfreeze") => {
            "Two-phase fine-tuning: after AFTER epochs every frozen layer trains, with a fresh optimizer at the scheduled rate times FACTOR."
        }
        ("", "evaluate") => "Extra test metrics and which weights the test split sees.",
        ("", "diagnose") => {
            "Human-level error, to diagnose bias and variance from the learning curves."
        }
        ("", "expect") => {
            "Assertions on the final metrics (`METRIC OP NUMBER`); a failure exits 3."
        }
        ("", "sweep") => {
            "Runs the pipeline once per combination (`grid`) or per draw (`random trials=N`) of the values given to paths or variables, ranks the trials by `monitor=` and may prune them (`prune=median`)."
        }
        ("data", "source") => {
            "The dataset: cifar10, mnist, fashion_mnist (built in, downloaded once), blobs (synthetic), csv, images (a folder of class folders), idx."
        }
        ("data", "split") => {
            "Train, validation and test parts: counts, fractions, or test=official."
        }
        ("preprocess", "grayscale") => "Images become one channel (luma).",
        ("preprocess", "rgb") => "Images become three channels (a gray plane is replicated).",
        ("preprocess", "resize") => "Images are resized to HEIGHT×WIDTH (bilinear).",
        ("preprocess", "scale") => "Every value is multiplied by a factor (`scale 1/255`).",
        ("preprocess", "normalize") => {
            "Standardises inputs with the training part's mean and standard deviation (`per_channel` for one pair per channel)."
        }
        ("preprocess", "one_hot") => {
            "States one-hot targets; the losses with one output per class use them anyway."
        }
        ("augment", "rotate") => "Random rotation by up to ±DEGREES.",
        ("augment", "shift") => "Random shift by up to a fraction of the width and height.",
        ("augment", "zoom") => "Random zoom by up to ±FACTOR.",
        ("augment", "fill") => "How pixels outside the image are filled by rotate, shift and zoom.",
        ("augment", "flip") => "Random flips: horizontal, vertical or both.",
        ("augment", "brightness") => "Random brightness factor between LOW and HIGH.",
        ("augment", "crop") => "Random SIZE×SIZE crop after zero padding.",
        ("model", "dense") => "A fully connected layer of UNITS outputs.",
        ("model", "conv2d") => "A 2-D convolution with FILTERS output channels.",
        ("model", "maxpool") => "Max pooling over SIZE×SIZE windows.",
        ("model", "avgpool") => "Average pooling over SIZE×SIZE windows.",
        ("model", "global_avgpool") => "Averages each channel over the whole feature map.",
        ("model", "flatten") => "A feature map becomes a vector.",
        ("model", "dropout") => "Zeroes a fraction RATE of its inputs during training.",
        ("model", "batchnorm") => "Batch normalisation, with moving statistics for evaluation.",
        ("model", "relu" | "sigmoid" | "tanh" | "softmax" | "linear") => "An activation layer.",
        ("model", "leaky_relu") => "Leaky ReLU activation with slope ALPHA below zero.",
        ("model", "repeat") => {
            "Repeats its block N times (`repeat 3 { … }`) or once per value of its NAME=[…] lists, binding $NAME."
        }
        ("model", "block") => {
            "Names a reusable block of layers with parameters: `block NAME PARAM PARAM=DEFAULT { … }`, used as a layer, `NAME VALUE PARAM=VALUE`, with `$PARAM` inside."
        }
        ("model", "add") => {
            "Adds its branches element-wise (Keras `Add`, PyTorch `a + b`): each `branch { … }` reads the same input; an empty branch is the input itself (a residual shortcut). All branches must give one shape."
        }
        ("model", "concat") => {
            "Joins its branches along the channels (feature maps) or features (vectors): Keras `Concatenate(axis=-1)`, PyTorch `torch.cat(dim=1)`. Each `branch { … }` reads the same input; heights and widths must agree."
        }
        ("model", "branch") => {
            "One path of an `add` or `concat`: a stack of layers reading the merge's input; `branch {}` is the identity."
        }
        ("train", "loss") => "The loss: cross_entropy, binary_cross_entropy or mse.",
        ("train", "optimizer") => "The optimizer and its settings (Keras 3 defaults).",
        ("train", "schedule") => {
            "How the learning rate changes over epochs: constant, step, milestones (PyTorch's MultiStepLR), exponential, cosine, linear, plateau; `warmup=` epochs first."
        }
        ("train", "batch") => "Samples per training step (`all` for full batch).",
        ("train", "epochs") => "Passes over the training part.",
        ("train", "early_stop") => "Stops when the monitored metric stops improving.",
        ("train", "checkpoint") => {
            "Saves weights each epoch, or only the best by a monitored metric."
        }
        ("train", "class_weight") => "Weights the loss per class: balanced or a list.",
        ("train", "device") => "Where to train: auto, cpu, cuda or cuda:N.",
        ("evaluate", "metrics") => "Extra metrics: precision, recall, f1; top_k=K.",
        ("evaluate", "weights") => "Which weights the test split sees: best or last.",
        ("diagnose", "human_error") => "The human-level error rate the diagnosis compares against.",
        _ => "",
    }
}

/// A parameter's meaning and its default ("" when it has none: required,
/// or absent means off), for hover.
pub fn param_doc(statement: &str, key: &str) -> Option<(&'static str, &'static str)> {
    Some(match (statement, key) {
        ("seed", "seed") => ("the root of every random stream", "0"),
        (_, "seed") => (
            "seed of this statement's random stream",
            "derived from the pipeline seed",
        ),
        (_, "kind") => ("the variant", ""),
        ("from", "run") => (
            "the source run folder (relative to the pipeline's folder); its model.safetensors is read",
            "",
        ),
        ("from", "layers") => (
            "the layers to load, by name (`[conv2d, dense]`), or all: every layer whose name the source holds",
            "all",
        ),
        ("from", "match") => (
            "name: each layer takes the source layer of its name; position: the source layer with weights at the same position (read from the source's run.yaml)",
            "name",
        ),
        ("freeze", "layers") => (
            "a list of layer names, or loaded: the layers from loads",
            "",
        ),
        ("unfreeze", "after") => ("epochs trained frozen before every layer trains", ""),
        ("unfreeze", "factor") => (
            "multiplier of the learning rate once unfrozen (a fresh optimizer)",
            "0.1",
        ),
        ("source", "samples") => ("number of samples", "100"),
        ("source", "centers") => ("number of clusters (classes)", "3"),
        ("source", "features") => ("features per sample", "2"),
        ("source", "std") => ("standard deviation of each cluster", "1"),
        ("source", "generator") => (
            "chacha (dlp's own stream) or numpy (NumPy's RandomState, make_blobs sample for sample)",
            "chacha",
        ),
        ("source", "path") => ("file or folder, relative to the pipeline", ""),
        ("source", "label") => ("the CSV column holding the labels", ""),
        ("source", "images") => ("IDX file of training images", ""),
        ("source", "labels") => ("IDX file of training labels", ""),
        ("source", "test_images") => ("IDX file of official test images", "none"),
        ("source", "test_labels") => ("IDX file of official test labels", "none"),
        ("split", "train") => ("training samples: a count or a fraction", ""),
        ("split", "valid") => ("validation samples: a count or a fraction", "none"),
        ("split", "test") => ("test samples: a count, a fraction or official", "none"),
        ("split", "stratify") => ("keep class proportions in every part", "false"),
        ("split", "shuffle") => ("shuffle before splitting", "true"),
        ("split", "validate_on") => ("validate on the test part instead of a valid part", "valid"),
        ("resize", "height") => ("height in pixels", ""),
        ("resize", "width") => ("width in pixels", ""),
        ("scale", "factor") => ("the multiplier", ""),
        ("normalize", "method") => ("mean_std", "mean_std"),
        ("normalize", "per_channel") => ("one mean and deviation per channel", "false"),
        ("rotate", "degrees") => ("largest rotation, in degrees", ""),
        ("shift", "width") => ("largest horizontal shift, a fraction of the width", ""),
        ("shift", "height") => ("largest vertical shift, a fraction of the height", ""),
        ("zoom", "factor") => ("largest zoom, a fraction", ""),
        ("rotate" | "shift" | "zoom", "fill") => (
            "fill mode of this transform",
            "the fill statement's, else nearest",
        ),
        ("fill", "mode") => ("nearest, constant, reflect or wrap", "nearest"),
        ("flip", "mode") => ("horizontal, vertical or both", ""),
        ("brightness", "low") => ("lowest brightness factor", ""),
        ("brightness", "high") => ("highest brightness factor", ""),
        ("crop", "size") => ("crop size in pixels", ""),
        ("crop", "padding") => ("zero padding before cropping, in pixels", "0"),
        ("dense", "units") => ("output units", ""),
        ("conv2d", "filters") => ("output channels", ""),
        ("conv2d", "kernel") => ("kernel size", "3"),
        ("conv2d" | "maxpool" | "avgpool", "stride") => (
            "step between windows",
            "1 for conv2d, the pool size for pools",
        ),
        ("conv2d", "use_bias") => (
            "whether the layer has a bias (Keras `use_bias`, PyTorch `bias`); false before a batch norm, whose β plays its part",
            "true",
        ),
        ("conv2d", "padding") => (
            "same (output keeps the size) or valid (no padding)",
            "valid",
        ),
        (_, "activation") => ("activation applied to the output", "linear"),
        (_, "l2") => ("L2 penalty on the kernel", "0"),
        ("maxpool" | "avgpool", "size") => ("window size", "2"),
        ("dropout", "rate") => ("fraction of inputs zeroed in training", ""),
        ("batchnorm", "momentum") => ("momentum of the moving statistics", "0.99"),
        ("batchnorm", "epsilon") => ("added to the variance", "0.001"),
        ("leaky_relu", "alpha") => ("slope below zero (Keras' LeakyReLU layer)", "0.3"),
        ("optimizer", "lr") => ("learning rate", "0.01 for sgd, 0.001 otherwise"),
        ("optimizer", "momentum") => ("momentum", "0"),
        ("optimizer", "nesterov") => ("Nesterov momentum", "false"),
        ("optimizer", "beta1") => ("decay of the first-moment estimate", "0.9"),
        ("optimizer", "beta2") => ("decay of the second-moment estimate", "0.999"),
        ("optimizer", "epsilon") => ("added for numerical stability", "1e-7"),
        ("optimizer", "weight_decay") => (
            "decoupled weight decay as Keras 3 applies it, w ← w − lr·wd·w before each step (PyTorch's AdamW; not PyTorch SGD's weight_decay, which adds wd·w to the gradient)",
            "0.004 for adamw, 0 for sgd",
        ),
        ("loss", "label_smoothing") => (
            "cross_entropy only: targets y·(1 − ε) + ε/K over K classes, as Keras' and PyTorch's label_smoothing",
            "0",
        ),
        ("optimizer", "rho") => ("decay of the squared-gradient average", "0.9"),
        ("optimizer", "initial_accumulator") => ("starting accumulator value", "0.1"),
        ("optimizer", "clip_norm") => ("clips each gradient to this norm", "no clipping"),
        ("optimizer", "decay") => (
            "Keras 2 inverse-time decay of the learning rate per step",
            "0",
        ),
        ("schedule", "every") => ("epochs between decays", ""),
        ("schedule", "factor") => (
            "multiplier per decay (plateau: on a plateau; milestones: at each)",
            "0.1 for plateau and milestones",
        ),
        ("schedule", "at") => (
            "milestones: the epoch counts after which the rate is multiplied by factor, counted from the start of training (PyTorch's MultiStepLR milestones)",
            "",
        ),
        ("schedule", "warmup") => ("epochs of linear warm-up", "0"),
        ("schedule", "warmup_lr") => (
            "a constant rate for the warm-up epochs instead of the linear ramp (He et al.'s 0.01 for ResNet-110)",
            "none: the linear ramp",
        ),
        ("schedule", "min") => ("the lowest learning rate", "0"),
        ("schedule", "to") => ("the final learning rate", "0"),
        ("sweep", "monitor") => (
            "the per-epoch metric trials are ranked and pruned by",
            "early_stop's monitor, else checkpoint's, else val_loss",
        ),
        ("sweep", "goal") => (
            "min or max: which direction of the monitor is better",
            "the monitor's own",
        ),
        ("sweep", "prune") => (
            "none, or median: stop a trial behind the earlier trials' median at the same epoch",
            "none",
        ),
        ("sweep", "warmup") => ("epochs before prune=median may stop a trial", "0"),
        ("sweep", "startup") => ("first trials prune=median never stops", "5"),
        (_, "monitor") => ("the per-epoch metric to watch", "val_loss"),
        (_, "patience") => (
            "epochs without improvement before acting",
            "0 for early_stop, 10 for plateau",
        ),
        (_, "min_delta") => (
            "smallest change that counts as improvement",
            "0 for early_stop, 1e-4 for plateau",
        ),
        ("schedule", "min_lr") => ("the lowest learning rate", "0"),
        (_, "mode") => (
            "min or max: which direction is better",
            "from the metric's name",
        ),
        ("batch", "size") => ("samples per step, or all", "32"),
        ("batch", "drop_last") => ("drop the last incomplete batch", "false"),
        ("epochs", "count") => ("number of epochs", ""),
        ("early_stop", "restore_best") => ("restore the best weights when stopping", "false"),
        ("checkpoint", "best_only") => ("keep only the best weights", "false"),
        ("class_weight", "weights") => ("balanced, or one weight per class", ""),
        ("device", "device") => ("auto, cpu, cuda or cuda:N", "auto"),
        ("metrics", "top_k") => ("also report top-K accuracy", "none"),
        ("metrics" | "weights", "weights" | "which") => (
            "best or last",
            "best when something keeps the best weights, else last",
        ),
        ("human_error", "value") => ("human-level error rate", ""),
        ("human_error", "tolerance") => ("gap that counts as a problem", "0.02"),
        ("sweep", "trials") => ("number of random draws", ""),
        _ => return None,
    })
}

#[cfg(test)]
mod docs {
    use super::*;

    /// Every statement and every parameter of every variant has the words
    /// hover shows: a new key without a doc fails here.
    #[test]
    fn every_statement_and_parameter_is_documented() {
        let mut missing = Vec::new();
        let mut heads: Vec<(&str, &str)> = SECTIONS.iter().map(|s| ("", *s)).collect();
        heads.push(("", "seed"));
        for section in SECTIONS {
            heads.extend(statements(section).iter().map(|s| (*section, *s)));
        }
        for (section, stmt) in heads {
            if statement_doc(section, stmt).is_empty() {
                missing.push(format!("statement {section}.{stmt}"));
            }
            for kind in variants(section, stmt) {
                let Some(spec) = spec(section, stmt, kind) else {
                    continue;
                };
                for key in spec.all() {
                    if param_doc(stmt, key).is_none() {
                        missing.push(format!("{section}.{stmt} {kind:?} {key}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }
}

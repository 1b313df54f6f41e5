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
pub struct Spec {
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
    pub fn all(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.positional.iter().chain(self.named.iter()).copied()
    }

    pub fn accepts(&self, name: &str) -> bool {
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

/// Built-in dataset names.
pub const BUILTINS: &[&str] = &["cifar10", "mnist", "fashion_mnist"];
pub const SOURCE_KINDS: &[&str] = &[
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
    "exponential",
    "cosine",
    "linear",
    "plateau",
];
pub const ACTIVATIONS: &[&str] = &["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"];
pub const LOSSES: &[&str] = &["cross_entropy", "binary_cross_entropy", "mse"];
pub const METRICS: &[&str] = &["accuracy", "precision", "recall", "f1", "confusion"];

/// The words that select a variant of `statement` (its first positional
/// value), for the statements whose parameters depend on it; empty for the
/// others. [`spec`] takes one of these as `kind`; the schema walk test
/// covers every parameter of every variant listed here.
pub fn kinds(section: &str, statement: &str) -> &'static [&'static str] {
    match (section, statement) {
        ("", "sweep") => &["grid", "random"],
        ("data", "source") => SOURCE_KINDS,
        ("train", "optimizer") => OPTIMIZERS,
        ("train", "schedule") => SCHEDULES,
        _ => &[],
    }
}

/// The parameters of `statement` in `section`. `kind` is the statement's
/// first positional word where it selects a variant (`optimizer adam`,
/// `source blobs`, `schedule step`, `sweep random`); `None` when unknown.
pub fn spec(section: &str, statement: &str, kind: Option<&str>) -> Option<Spec> {
    const OPT_COMMON: &[&str] = &["clip_norm", "decay"];
    Some(match (section, statement) {
        ("", "seed") => Spec::new(&["seed"], &[]),
        ("", "data" | "preprocess" | "evaluate" | "diagnose" | "expect") => Spec::new(&[], &[]),
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
            &["kernel", "stride", "padding", "activation", "l2"],
        ),
        ("model", "maxpool" | "avgpool") => Spec::new(&["size"], &["stride"]),
        ("model", "dropout") => Spec::new(&["rate"], &["seed"]),
        ("model", "batchnorm") => Spec::new(&[], &["momentum", "epsilon"]),
        ("model", "leaky_relu") => Spec::new(&["alpha"], &[]),
        (
            "model",
            "global_avgpool" | "flatten" | "relu" | "sigmoid" | "tanh" | "softmax" | "linear",
        ) => Spec::new(&[], &[]),
        ("train", "loss") => Spec::new(&["kind"], &[]),
        ("train", "optimizer") => match kind {
            Some("sgd") => Spec::new(
                &["kind"],
                &["lr", "momentum", "nesterov", "clip_norm", "decay"],
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
            Some("step" | "exponential") => Spec::new(&["kind"], &["every", "factor", "warmup"]),
            Some("cosine") => Spec::new(&["kind"], &["min", "warmup"]),
            Some("linear") => Spec::new(&["kind"], &["to", "warmup"]),
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
                ],
            ),
            _ => Spec::new(&["kind"], &["warmup"]),
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
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// ` — did you mean "x"?` or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    suggest(word, candidates)
        .map(|s| format!(" — did you mean \"{s}\"?"))
        .unwrap_or_default()
}

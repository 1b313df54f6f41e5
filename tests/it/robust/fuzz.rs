//! The parser and analyzer never panic: pipelines generated from the
//! language's own vocabulary and mutations of the shipped pipelines are
//! fed to `analyze_source`, which must return Ok or an error, never panic.
//!
//! CI runs a short budget; a long local run sets `DLP_FUZZ_CASES`
//! (e.g. `DLP_FUZZ_CASES=2000000 cargo test --release --test it robust::fuzz`).
//! Every fuzzer draws from one seed, fixed unless `DLP_FUZZ_SEED` gives
//! another, and names it when it fails: a failure replays with
//! `DLP_FUZZ_SEED=N` (the same cases, the same order).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::Path;

const SEEDS: [&str; 2] = [
    include_str!("../../../pipelines/blobs.dlp"),
    include_str!("../../../pipelines/cifar10.dlp"),
];

const TOKENS: &[&str] = &[
    "seed",
    "let",
    "data",
    "source",
    "blobs",
    "cifar10",
    "mnist",
    "csv",
    "idx",
    "images",
    "split",
    "train",
    "valid",
    "test",
    "official",
    "preprocess",
    "normalize",
    "mean_std",
    "per_channel",
    "resize",
    "scale",
    "grayscale",
    "augment",
    "rotate",
    "shift",
    "zoom",
    "flip",
    "horizontal",
    "brightness",
    "crop",
    "model",
    "dense",
    "conv2d",
    "maxpool",
    "avgpool",
    "flatten",
    "dropout",
    "batchnorm",
    "relu",
    "softmax",
    "repeat",
    "loss",
    "cross_entropy",
    "optimizer",
    "adam",
    "sgd",
    "schedule",
    "step",
    "plateau",
    "batch",
    "all",
    "epochs",
    "early_stop",
    "checkpoint",
    "evaluate",
    "metrics",
    "accuracy",
    "expect",
    "diagnose",
    "sweep",
    "grid",
    "random",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    "==",
    ">=",
    "<",
    ";",
    "\n",
    " ",
    "$width",
    "$x",
    "1",
    "0",
    "-1",
    "1e-4",
    "0.5",
    "1/255",
    "$a*2",
    "\"p.csv\"",
    "lr=0.1",
    "kernel=3",
    "padding=same",
    "activation=relu",
    "monitor=val_loss",
    "patience=0",
    "cuda:0",
    "true",
    "#",
    "\"",
    "\\",
    "é",
    "\t",
    "99999999999999999999",
    "-0",
    ".5",
    "train.optimizer.lr",
    "uniform(1, 2)",
];

fn analyze(text: &str) {
    let _ = dlp::analyze::analyze_source(text, Path::new("fuzz.dlp"), &[]);
}

/// The fuzzers' seed: `DLP_FUZZ_SEED`, else a fixed one.
pub(crate) fn seed() -> u64 {
    std::env::var("DLP_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(29)
}

/// A runner of `cases` cases drawing from [`seed`], which it prints.
pub(crate) fn runner(cases: u32) -> TestRunner {
    let seed = seed();
    eprintln!("fuzz seed {seed} (replay with DLP_FUZZ_SEED={seed})");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// What a failing fuzzer says: what broke, and the seed that replays it.
pub(crate) fn failed(what: &str) -> String {
    let seed = seed();
    format!("{what} (fuzz seed {seed}: replay with DLP_FUZZ_SEED={seed})")
}

fn cases() -> u32 {
    std::env::var("DLP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

#[test]
fn token_soup_never_panics() {
    let mut runner = runner(cases());
    let strategy = proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)
        .prop_map(|tokens| tokens.join(" "));
    runner
        .run(&strategy, |text| {
            analyze(&text);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", failed("the analyzer panicked")));
}

/// Deletes, duplicates or replaces a span of a real pipeline, or splices
/// in a token.
fn mutate(
    src: &str,
    a: prop::sample::Index,
    b: prop::sample::Index,
    op: u8,
    token: &str,
) -> String {
    let chars: Vec<char> = src.chars().collect();
    let (i, j) = {
        let (x, y) = (a.index(chars.len()), b.index(chars.len()));
        (x.min(y), x.max(y).min(x.min(y) + 40))
    };
    let head: String = chars[..i].iter().collect();
    let mid: String = chars[i..j].iter().collect();
    let tail: String = chars[j..].iter().collect();
    match op {
        0 => format!("{head}{tail}"),
        1 => format!("{head}{mid}{mid}{tail}"),
        2 => format!("{head}{token}{tail}"),
        _ => format!("{head}{token}{mid}{tail}"),
    }
}

#[test]
fn mutated_pipelines_never_panic() {
    let mut runner = runner(cases());
    // Delete, duplicate or replace a span of a real pipeline, or splice in a token.
    let strategy = (
        0..SEEDS.len(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0..4u8,
        proptest::sample::select(TOKENS),
    );
    runner
        .run(&strategy, |(which, a, b, op, token)| {
            analyze(&mutate(SEEDS[which], a, b, op, token));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", failed("the analyzer panicked")));
}

use crate::common;

/// `dlp fmt` over the fuzz corpus: a mutated pipeline that parses formats
/// idempotently to the same plan (or the same errors); one that does not
/// parse is refused with its syntax error, never a panic.
#[test]
fn formatting_mutated_pipelines_keeps_their_meaning() {
    let mut runner = runner(cases() / 3);
    let strategy = (
        0..SEEDS.len(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0..4u8,
        proptest::sample::select(TOKENS),
    );
    let parsed = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |(which, a, b, op, token)| {
            let text = mutate(SEEDS[which], a, b, op, token);
            let parses = dlp::syntax::parse(&text).is_ok();
            match dlp::fmt::format(&text) {
                Ok(_) if !parses => prop_assert!(false, "formatted unparsable text:\n{text}"),
                Ok(_) => {
                    parsed.set(parsed.get() + 1);
                    if let Err(e) = common::fmt_keeps_meaning(&text, Path::new("fuzz.dlp")) {
                        prop_assert!(false, "{e}");
                    }
                }
                Err(d) => prop_assert!(
                    !parses
                        && matches!(
                            d.kind,
                            dlp::analyze::Kind::Syntax | dlp::analyze::Kind::Range
                        ),
                    "refused parsable text ({}):\n{text}",
                    d.message
                ),
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", failed("dlp fmt broke a pipeline")));
    // Most single mutations of a real pipeline still parse.
    let parsed = parsed.get();
    assert!(
        parsed >= cases() / 3 / 4,
        "only {parsed} mutated pipelines parsed"
    );
}

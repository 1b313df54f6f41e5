//! The command line's definitions (clap types) and nothing else: the
//! dispatch is [`crate::commands::main`], each subcommand's work one file
//! of `commands/`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "dlp",
    version,
    about = "Declarative deep-learning pipelines: check, plan, run, evaluate, compare."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check pipelines for errors without running anything (exit 0 valid, 2 invalid).
    Check(CheckArgs),
    /// Print the model summary and the resolved training plan.
    Plan(PlanArgs),
    /// Train, evaluate and report a pipeline.
    Run(RunArgs),
    /// Evaluate saved weights on the test split.
    Eval(EvalArgs),
    /// Compare the metrics of two runs (exit 1 when the comparison fails).
    Diff(DiffArgs),
    /// Store a run's metric CSVs as a baseline folder to commit (or refresh one).
    Baseline(BaselineArgs),
    /// Measure training, inference, augmentation and loading speed.
    Bench(BenchArgs),
    /// Show how runs stand: running, finished, interrupted or crashed (also each trial of a sweep, each seed).
    Status(StatusArgs),
    /// A sweep folder: each trial's state, resubmit failed trials, or write the summary.
    #[command(subcommand)]
    Sweep(SweepCommand),
    /// Write a run's report.html, or one page comparing runs, a sweep or a folder of runs.
    Report(ReportArgs),
    /// Classify new inputs with a run's model and exactly its preprocessing.
    Predict(PredictArgs),
    /// Write a run's model as an ONNX file, with the run's preprocessing inside.
    Export(ExportArgs),
    /// Format pipelines in place (exit 0), or with --check list what would change (exit 1).
    Fmt(FmtArgs),
    /// Serve the Language Server Protocol over stdio, for editors.
    Lsp,
    /// Print a shell completion script (bash, zsh or fish).
    Completions(CompletionsArgs),
    /// Send what runs kept for MLflow while the server could not be reached (runs, sweep or multi-seed folders).
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Run folders, sweep folders or multi-seed folders.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Pipeline files; `-` reads standard input and writes standard output.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write nothing: print a diff of what would change and exit 1 if anything would.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// `--set NAME=VALUE`, shared by every command that reads a pipeline.
#[derive(Debug, Clone, Args, Default)]
pub struct Overrides {
    /// Override a `let` variable or a dotted path (`train.optimizer.lr=0.01`); repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Pipeline files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Yaml,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Output format of the resolved plan.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline to run (omit with --resume).
    #[arg(required_unless_present = "resume")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Run folder (default: runs/<pipeline>/<run-id>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Device: auto, cpu, cuda or cuda:N (overrides the pipeline's `device`).
    #[arg(long)]
    pub device: Option<String>,
    /// Print only errors and the final summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write a Chrome-format trace (open in Perfetto).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Continue an interrupted or crashed run from its folder.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "file")]
    pub resume: Option<PathBuf>,
    /// Run the pipeline with N seeds (the pipeline's, then N−1 derived from
    /// it) into seed-01/ … seed-NN/, and write seeds.csv and summary.csv.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub seeds: Option<usize>,
    /// With --seeds (or --resume of a multi-seed folder): run this many
    /// seeds at once, each on cores/N threads.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Also write the resume file inside an epoch once this long has passed
    /// since the last save (it is always written at the end of an epoch);
    /// `0` saves after every batch.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub save_every: Option<String>,
    /// With --resume of a sweep folder: run or resume this trial (1-based)
    /// only, without the summary (what a Slurm array task runs).
    #[arg(long, value_name = "I", requires = "resume")]
    pub trial: Option<usize>,
    /// Where a sweep's trials run: here (`--jobs` at a time), or as a Slurm
    /// job array.
    #[arg(long, value_enum, default_value_t = Executor::Local, conflicts_with = "resume")]
    pub executor: Executor,
    #[command(flatten)]
    pub slurm: SlurmArgs,
    /// Report the run to a tracker: TensorBoard event files, an MLflow
    /// server (MLFLOW_TRACKING_URI), DVC files; repeatable.
    #[arg(long = "track", value_enum, value_name = "TRACKER")]
    pub track: Vec<crate::track::Kind>,
}

/// Where a sweep's trials run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Executor {
    /// In this process.
    #[default]
    Local,
    /// As one Slurm job array (one task per trial) and a summary job after it.
    Slurm,
}

/// How `--executor slurm` asks Slurm for each trial.
#[derive(Debug, Clone, Args, Default)]
pub struct SlurmArgs {
    /// The Slurm partition (sbatch --partition).
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// GPUs per trial (sbatch --gres=gpu:G); trials then run on --device cuda.
    #[arg(long, value_name = "G")]
    pub gpus_per_trial: Option<u32>,
    /// CPUs per trial (sbatch --cpus-per-task); each trial trains on that many threads.
    #[arg(long, value_name = "C")]
    pub cpus_per_trial: Option<u32>,
    /// Each trial's time limit (sbatch --time: 90, 2:00:00, 1-00:00:00).
    #[arg(long, value_name = "T")]
    pub time: Option<String>,
    /// At most K trials at once (sbatch --array=…%K).
    #[arg(long, value_name = "K")]
    pub max_parallel: Option<usize>,
    /// A further sbatch option for both batch scripts (--sbatch-arg=--account=ml); repeatable.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// Print the batch scripts instead of submitting them; nothing is written.
    #[arg(long)]
    pub dry_run: bool,
}

impl SlurmArgs {
    /// The first Slurm option given, to name in an error when the executor
    /// is not Slurm.
    pub(crate) fn first_given(&self) -> Option<&'static str> {
        [
            (self.partition.is_some(), "--partition"),
            (self.gpus_per_trial.is_some(), "--gpus-per-trial"),
            (self.cpus_per_trial.is_some(), "--cpus-per-trial"),
            (self.time.is_some(), "--time"),
            (self.max_parallel.is_some(), "--max-parallel"),
            (!self.sbatch_args.is_empty(), "--sbatch-arg"),
            (self.dry_run, "--dry-run"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Each trial's state (pending, running, done, pruned, diverged, failed) from
    /// its folder and, for a Slurm sweep, from squeue/sacct.
    Status(SweepDirArgs),
    /// Finish a sweep: on Slurm, submit the failed, timed-out or preempted trials
    /// again (each continues from its resume file); else run them here.
    Resume(SweepResumeArgs),
    /// Write sweep.csv and sweep.png from the trial folders and print the ranked
    /// table (the Slurm summary job runs this); exit 1 while a trial has not ended.
    Summary(SweepDirArgs),
    /// Write the best trial's pipeline (the one sweep.csv marks), its values
    /// filled in and the sweep block left out, ready to run or commit.
    Best(SweepBestArgs),
}

#[derive(Debug, Args)]
pub struct SweepBestArgs {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Write the pipeline here (default: print it).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SweepDirArgs {
    /// The sweep folder.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct SweepResumeArgs {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Where the trials run (default: where the sweep ran so far).
    #[arg(long, value_enum)]
    pub executor: Option<Executor>,
    /// Run this many trials at once here (local executor).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Device for the trials: auto, cpu, cuda or cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    /// Print only errors and the final table (local executor).
    #[arg(long, short)]
    pub quiet: bool,
    /// Options for a Slurm resubmission; those not given are the last submission's.
    #[command(flatten)]
    pub slurm: SlurmArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Run folders, sweep folders or multi-seed folders.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run folder (its own page), or several, a sweep folder or a folder of runs (one comparison page).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The page to write (default: report.html in the one folder given, else in the current folder).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Which weights of a run `dlp predict` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WeightsChoice {
    Best,
    Last,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The run folder: its model, weights and preprocessing statistics.
    pub run: PathBuf,
    /// Image files or folders (image pipelines), CSV files (tabular ones), IDX files, CIFAR-10 batches (.bin).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The best or the last epoch's weights (default: model.safetensors, the weights the test split saw).
    #[arg(long, value_enum)]
    pub weights: Option<WeightsChoice>,
    /// Write predictions.csv here (default: print it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// How many classes each row lists (default: the run's top_k, else 3).
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    #[arg(long)]
    pub device: Option<String>,
}

/// The file formats `dlp export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Onnx,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The finished run folder to export.
    pub run: PathBuf,
    #[arg(long, value_enum, default_value_t = ExportFormat::Onnx)]
    pub format: ExportFormat,
    /// The best or the last epoch's weights (default: model.safetensors, the weights the test split saw).
    #[arg(long, value_enum)]
    pub weights: Option<WeightsChoice>,
    /// The file to write (default: RUN_DIR/model.onnx).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The ONNX operator set version (13 to 21).
    #[arg(long, value_name = "N", default_value_t = crate::export::DEFAULT_OPSET)]
    pub opset: i64,
    /// The bare network: its input is the preprocessed values, NCHW for images.
    #[arg(long)]
    pub no_preprocessing: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    pub file: PathBuf,
    /// Weights to evaluate (a `.safetensors` checkpoint written by `dlp run`).
    #[arg(long)]
    pub weights: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
    #[arg(long)]
    pub device: Option<String>,
    /// Also write eval.csv and confusion.csv into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What `dlp diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DiffFormat {
    /// Aligned tables for a terminal.
    #[default]
    Text,
    /// For a pull-request comment or $GITHUB_STEP_SUMMARY.
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The baseline: a run folder, a multi-seed folder, a baseline folder or a CSV file.
    pub old: PathBuf,
    /// The candidate, of the same kind.
    pub new: PathBuf,
    /// Gate on a metric: `METRIC=ABS` or `METRIC=REL%`, a sign naming the bad
    /// direction (`test_accuracy=-0.01`, `val_loss=+5%`), or `curve.COLUMN=ABS`
    /// for a train.csv column; repeatable. Without any, every difference fails.
    #[arg(long = "tol", value_name = "METRIC=TOL", allow_hyphen_values = true)]
    pub tol: Vec<String>,
    /// Significance level of Welch's t-test between multi-seed folders.
    #[arg(long, default_value_t = crate::diff::DEFAULT_ALPHA)]
    pub alpha: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// A finished run folder, or a multi-seed folder (`dlp run --seeds N`).
    pub run: PathBuf,
    /// The baseline folder: new, empty, or a baseline to refresh.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Timed repetitions per figure (after warm-up).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Training steps per repetition.
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Batch size for inference.
    #[arg(long, default_value_t = 1000)]
    pub infer_batch: usize,
    #[arg(long)]
    pub device: Option<String>,
}

//! Many runs of one pipeline, above the single-run engine ([`crate::run`]),
//! through one executor ([`batch`]):
//! [`seeds`] runs it with N seeds and summarises them, [`sweep`] runs a
//! `sweep` block's trials (here, or as a Slurm job array through
//! [`slurm`]), [`prune`] stops unpromising trials through the engine's
//! `Pruner` trait, and [`summary`] ranks finished trials into `sweep.csv`
//! and the picture.

pub(crate) mod batch;
pub(crate) mod best;
pub(crate) mod prune;
pub mod seeds;
pub(crate) mod slurm;
pub(crate) mod summary;
pub(crate) mod sweep;

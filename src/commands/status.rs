//! `dlp status DIR…`: how each run stands, one line per run folder. A run
//! whose `run.yaml` says `running` while its process is gone (killed,
//! crashed) is marked `crashed` there on the spot, and its line says how
//! to continue it. A multi-seed folder gets a line per seed; a sweep
//! folder what `dlp sweep status` says of it.

use crate::cli::StatusArgs;
use crate::error::{Error, Result};
use crate::records::Status;
use crate::run::folder;
use crate::run::state::{self, TrainState};
use crate::sweeps::seeds;
use crate::sweeps::slurm;
use crate::sweeps::sweep;
use std::path::Path;

pub(crate) fn run(args: &StatusArgs) -> Result<i32> {
    let mut unreadable = false;
    for dir in &args.dirs {
        match folder_status(dir) {
            Ok(text) => crate::terminal::out(&text)?,
            Err(e) => {
                crate::terminal::errln!("error: {e}");
                unreadable = true;
            }
        }
    }
    Ok(if unreadable { 2 } else { 0 })
}

/// What `dlp status` says of one folder, ending in a newline.
fn folder_status(dir: &Path) -> Result<String> {
    if sweep::is_sweep_folder(dir) {
        return slurm::status(dir);
    }
    if seeds::is_seeds_folder(dir) {
        let spec = seeds::Spec::read(dir)?;
        let n = spec.seeds.len();
        let mut text = String::new();
        for i in 0..n {
            let run = dir.join(seeds::folder_name(i, n));
            if run.join(crate::records::manifest::FILE).exists() {
                text += &describe(&run)?;
            } else {
                text += &format!("{}: not started", run.display());
            }
            text.push('\n');
        }
        return Ok(text);
    }
    if !dir.join(crate::records::manifest::FILE).exists() {
        return Err(Error::Usage(format!(
            "{}: not a run folder (no run.yaml), a sweep (no sweep.yaml) nor a multi-seed run (no seeds.yaml)",
            dir.display()
        )));
    }
    Ok(describe(dir)? + "\n")
}

/// One run folder's line.
fn describe(dir: &Path) -> Result<String> {
    let inspected = folder::inspect(dir)?;
    let m = &inspected.manifest;
    let epochs = m.plan.train.epochs;
    let resume = dir.join(state::FILE);
    let saved = if resume.exists() {
        Some(state::peek(&resume)?)
    } else {
        None
    };
    let d = dir.display();
    let line = match (m.status, &inspected.folder) {
        (Status::Running, None) => {
            let pid = std::fs::read_to_string(dir.join(folder::LOCK)).unwrap_or_default();
            format!(
                "{d}: running (pid {}) since {}; {}",
                pid.trim(),
                m.started,
                progress(saved.as_ref(), epochs)
            )
        }
        (Status::Completed | Status::StoppedEarly | Status::Pruned | Status::Diverged, _) => {
            let shown: Vec<String> = ["test_accuracy", "test_loss", "val_accuracy", "val_loss"]
                .iter()
                .filter_map(|k| m.final_metrics.get(*k).map(|v| format!("{k} {v:.4}")))
                .collect();
            format!(
                "{d}: {} (exit {}) at {}{}",
                m.status.as_str(),
                m.exit_code.map_or("?".into(), |c| c.to_string()),
                m.ended.as_deref().unwrap_or("?"),
                if shown.is_empty() {
                    String::new()
                } else {
                    format!("; {}", shown.join(", "))
                }
            )
        }
        (status, _) => format!(
            "{d}: {}; {}; continue with `dlp run --resume {d}`",
            status.as_str(),
            progress(saved.as_ref(), epochs)
        ),
    };
    // `dlp export`'s files, when the run has any.
    Ok(match crate::records::export_yaml::summary(dir) {
        Some(exported) => format!("{line}; {exported}"),
        None => line,
    })
}

/// Where the last save stands.
fn progress(saved: Option<&TrainState>, epochs: usize) -> String {
    match saved {
        None => "nothing saved yet (a resume starts from the first epoch)".into(),
        Some(s) if s.batch == 0 => format!("last saved after epoch {} of {epochs}", s.epoch),
        Some(s) => format!(
            "last saved in epoch {} of {epochs}, after batch {}",
            s.epoch + 1,
            s.batch
        ),
    }
}

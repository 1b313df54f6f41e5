//! `dlp status RUN_DIR…`: how each run stands, one line per folder. A run
//! whose `run.yaml` says `running` while its process is gone (killed,
//! crashed) is marked `crashed` there on the spot, and its line says how
//! to continue it.

use crate::cli::StatusArgs;
use crate::error::Result;
use crate::report::Status;
use crate::run::folder;
use crate::run::state::{self, TrainState};
use std::path::Path;

pub fn run(args: &StatusArgs) -> Result<i32> {
    let mut unreadable = false;
    for dir in &args.dirs {
        match describe(dir) {
            Ok(line) => super::out(&format!("{line}\n"))?,
            Err(e) => {
                eprintln!("error: {e}");
                unreadable = true;
            }
        }
    }
    Ok(if unreadable { 2 } else { 0 })
}

/// One folder's line.
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
    Ok(match (m.status, &inspected.folder) {
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

//! `dlp sync DIR…`: sends to MLflow what runs kept while the server could
//! not be reached (`--track mlflow`), each call once: a second sync sends
//! nothing new.

use crate::cli::SyncArgs;
use crate::error::{Error, Result};
use crate::track::{mlflow, outbox::Outbox};

pub(crate) fn run(args: &SyncArgs) -> Result<i32> {
    let mut failed = 0;
    let mut lines = String::new();
    for dir in &args.dirs {
        if !dir.is_dir() {
            return Err(Error::Usage(format!("{}: no such folder", dir.display())));
        }
        let results = mlflow::sync(dir)?;
        if results.is_empty() {
            return Err(Error::Usage(format!(
                "{}: nothing tracked with MLflow here (no {}/{})",
                dir.display(),
                crate::track::outbox::DIR,
                crate::track::outbox::STATE
            )));
        }
        for (d, r) in results {
            match r {
                Ok(s) if s.sent == 0 => {
                    lines.push_str(&format!("{}: up to date\n", d.display()));
                }
                Ok(s) => lines.push_str(&format!("{}: sent {} call(s)\n", d.display(), s.sent)),
                Err(why) => {
                    failed += 1;
                    let kept = mlflow::pending(&d).unwrap_or(0);
                    crate::terminal::errln!("{}: {why}; {kept} call(s) kept", d.display());
                }
            }
            if let Some(id) = mlflow::run_id(&d)
                && Outbox::exists(&d)
            {
                lines.push_str(&format!("  mlflow run {id}\n"));
            }
        }
    }
    crate::terminal::out(&lines)?;
    if failed > 0 {
        return Err(Error::Runtime(format!(
            "{failed} folder(s) could not be sent; run `dlp sync` again once the server can be reached"
        )));
    }
    Ok(0)
}

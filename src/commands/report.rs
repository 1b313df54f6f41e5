//! `dlp report PATH… [--out FILE]`: report pages from run folders.
//!
//! One run folder: its own page, rebuilt from its files (`RUN/report.html`
//! unless `--out`), byte for byte the page the run wrote. Anything else —
//! several run folders, a sweep folder (`trial-001/`, … and `sweep.csv`),
//! or a folder of runs (`runs/<pipeline>/`, one per seed) — gives one
//! comparison page ([`crate::report::page::compare`]), written to
//! `--out`, else into the one folder given, else `report.html` here.
//! Several folders of which one at least holds several runs (`dlp report
//! runs-a runs-b`, each from `--seeds N`) are compared folder against
//! folder: each folder's runs are a group.

use crate::cli::ReportArgs;
use crate::error::{Error, Result};
use crate::records::atomic;
use crate::records::manifest;
use crate::report::page::compare::{self, Compared, Group, SweepValues};
use crate::report::page::{self, RunFiles};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub(crate) fn run(args: &ReportArgs) -> Result<i32> {
    if let [one] = args.paths.as_slice()
        && is_run(one)
    {
        let files = RunFiles::read(one)?;
        let out = args.out.clone().unwrap_or_else(|| one.join(page::FILE));
        atomic::write(&out, page::run::render(&files)?.as_bytes())?;
        crate::terminal::out(&format!("{}\n", out.display()))?;
        return Ok(0);
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut sweeps: Vec<PathBuf> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for p in &args.paths {
        let found = expand(p)?;
        if p.join("sweep.csv").is_file() {
            sweeps.push(p.clone());
        }
        let mut group = Group {
            label: p.display().to_string(),
            runs: Vec::new(),
        };
        for d in found {
            let canonical = d.canonicalize().map_err(|e| Error::io(&d, e))?;
            match dirs
                .iter()
                .position(|x| x.canonicalize().ok().as_ref() == Some(&canonical))
            {
                Some(i) => group.runs.push(i),
                None => {
                    group.runs.push(dirs.len());
                    dirs.push(d);
                }
            }
        }
        groups.push(group);
    }
    // Groups only where they say something: two folders or more, one of
    // them with several runs.
    if groups.len() < 2 || groups.iter().all(|g| g.runs.len() < 2) {
        groups.clear();
    }
    let out = match (&args.out, args.paths.as_slice()) {
        (Some(o), _) => o.clone(),
        (None, [one]) => one.join(page::FILE),
        (None, _) => PathBuf::from(page::FILE),
    };
    let labels = labels(&dirs)?;
    // Links to the runs' own pages are relative to the page's folder (none
    // when that folder does not exist: writing the page then fails).
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .canonicalize()
        .ok();
    let mut runs = Vec::new();
    for (d, label) in dirs.iter().zip(labels) {
        let files = RunFiles::read(d)?;
        let href = d
            .join(page::FILE)
            .canonicalize()
            .ok()
            .and_then(|p| Some(p.strip_prefix(out_dir.as_ref()?).ok()?.to_path_buf()))
            .map(|p| p.to_string_lossy().replace('\\', "/"));
        runs.push(Compared { label, href, files });
    }
    let sweep = sweep_values(&sweeps, &runs)?;
    let names: Vec<&str> = {
        let mut n: Vec<&str> = runs
            .iter()
            .map(|r| r.files.manifest.plan.name.as_str())
            .collect();
        n.dedup();
        n
    };
    let title = format!("{}: {} runs compared", names.join(", "), runs.len());
    let html = compare::render(&runs, sweep.as_ref(), &groups, &title)?;
    atomic::write(&out, html.as_bytes())?;
    crate::terminal::out(&format!("{}\n", out.display()))?;
    Ok(0)
}

fn is_run(dir: &Path) -> bool {
    dir.join(manifest::FILE).is_file()
}

/// The run folders a path stands for: itself, or its sub-folders that are
/// run folders (sorted).
fn expand(path: &Path) -> Result<Vec<PathBuf>> {
    if is_run(path) {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(Error::Usage(format!(
            "{}: no such run folder",
            path.display()
        )));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_run(p))
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "{}: not a run folder, and none of its sub-folders is one (no {})",
            path.display(),
            manifest::FILE
        )));
    }
    Ok(found)
}

/// Each run's name on the page: the shortest tail of its path that no
/// other run shares (`trial-003`, `sweep-a/trial-003`).
fn labels(dirs: &[PathBuf]) -> Result<Vec<String>> {
    let parts: Vec<Vec<String>> = dirs
        .iter()
        .map(|d| {
            let c = d.canonicalize().map_err(|e| Error::io(d, e))?;
            Ok(c.components()
                .map(|p| p.as_os_str().to_string_lossy().into_owned())
                .collect())
        })
        .collect::<Result<_>>()?;
    let tail = |p: &Vec<String>, n: usize| p[p.len().saturating_sub(n)..].join("/");
    Ok(parts
        .iter()
        .map(|p| {
            (1..=p.len())
                .map(|n| tail(p, n))
                .find(|t| {
                    parts
                        .iter()
                        .filter(|q| tail(q, t.matches('/').count() + 1) == *t)
                        .count()
                        == 1
                })
                .unwrap_or_else(|| tail(p, p.len()))
        })
        .collect())
}

/// The swept values of the trials, from the sweeps' `sweep.csv` files:
/// the axes are the sweep's targets (from a trial's plan), the values the
/// columns after `trial`. `None` without a sweep, or when the sweeps
/// given have different axes.
fn sweep_values(sweeps: &[PathBuf], runs: &[Compared]) -> Result<Option<SweepValues>> {
    let mut out: Option<SweepValues> = None;
    let by_dir: HashMap<PathBuf, &str> = runs
        .iter()
        .filter_map(|r| Some((r.files.dir.canonicalize().ok()?, r.label.as_str())))
        .collect();
    for dir in sweeps {
        let Some(axes) = runs
            .iter()
            .filter(|r| r.files.dir.starts_with(dir))
            .find_map(|r| r.files.manifest.plan.sweep.as_ref())
            .map(|s| s.axes.iter().map(|a| a.target.clone()).collect::<Vec<_>>())
        else {
            continue;
        };
        let path = dir.join("sweep.csv");
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let mut reader = csv::Reader::from_reader(text.as_slice());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| Error::file(&path, e.to_string()))?
            .iter()
            .map(String::from)
            .collect();
        if header.first().map(String::as_str) != Some("trial")
            || header.get(1..=axes.len()) != Some(&axes[..])
        {
            return Err(Error::file(
                &path,
                format!(
                    "line 1: expected `trial,{}` first, as the sweep's axes",
                    axes.join(",")
                ),
            ));
        }
        let values = out.get_or_insert_with(|| SweepValues {
            axes: axes.clone(),
            values: HashMap::new(),
        });
        if values.axes != axes {
            return Ok(None);
        }
        for record in reader.records() {
            let record = record.map_err(|e| Error::file(&path, e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            let trial: usize = record[0].parse().map_err(|_| {
                Error::file(
                    &path,
                    format!("line {line}: trial `{}` is not a number", &record[0]),
                )
            })?;
            let trial_dir = dir.join(format!("trial-{trial:03}"));
            if let Some(label) = trial_dir.canonicalize().ok().and_then(|c| by_dir.get(&c)) {
                let v = (1..=axes.len()).map(|i| record[i].to_string()).collect();
                values.values.insert(label.to_string(), v);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_shortest_unique_tails() -> Result<()> {
        let t = tempfile::tempdir().unwrap();
        let mk = |p: &str| {
            let d = t.path().join(p);
            std::fs::create_dir_all(&d).unwrap();
            d
        };
        let dirs = vec![mk("a/trial-001"), mk("a/trial-002"), mk("b/trial-001")];
        assert_eq!(labels(&dirs)?, ["a/trial-001", "trial-002", "b/trial-001"]);
        Ok(())
    }
}

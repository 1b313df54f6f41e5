//! The real tools the tracker tests read back with, from the venv `.ci/run`
//! installs (`target/track-venv`: PyPI's mlflow, tensorboard and dvc; or
//! the venv `DLP_TRACK_VENV` names), and a real MLflow server on a
//! loopback port.

use crate::common::skip::skip_unless_allowed;
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn venv() -> PathBuf {
    std::env::var_os("DLP_TRACK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/track-venv"))
}

/// `venv/bin/NAME`, when the venv has it.
pub fn bin(name: &str) -> Result<PathBuf, String> {
    let p = venv().join("bin").join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "no {} (.ci/run installs it: python3 -m venv target/track-venv && target/track-venv/bin/pip install mlflow tensorboard dvc)",
            p.display()
        ))
    }
}

/// Whether the test may use `tool` of the venv (see [`skip_unless_allowed`]).
pub fn have(tool: &str, exe: &str) -> bool {
    match bin(exe) {
        Ok(_) => true,
        Err(why) => {
            skip_unless_allowed(tool, &why);
            false
        }
    }
}

/// `scripts/track-check.py ARGS…` in the venv: what the tool's own reader sees.
pub fn check(args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/track-check.py");
    let o = Command::new(bin("python").expect("the venv's python"))
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        o.status.success(),
        "track-check.py {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("track-check.py prints JSON")
}

pub fn blobs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/blobs.dlp")
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("its address").port()
}

/// `mlflow server` on 127.0.0.1 with a SQLite store and proxied artifacts
/// in `dir`, stopped when dropped.
pub struct MlflowServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl MlflowServer {
    pub fn start(dir: &Path) -> MlflowServer {
        let mut s = MlflowServer {
            port: free_port(),
            dir: dir.to_path_buf(),
            child: None,
        };
        s.restart();
        s
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again, on the same port and store) and waits until
    /// `GET /health` answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let log = std::fs::File::create(self.dir.join("server.log")).expect("server log");
        let child = Command::new(bin("mlflow").expect("mlflow in the venv"))
            .args(["server", "--host", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--workers")
            .arg("1")
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", self.dir.join("ml.db").display()))
            .arg("--artifacts-destination")
            .arg(self.dir.join("art"))
            .env("MLFLOW_TRACKING_URI", "")
            // Its own process group, so stopping it stops its workers too.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("mlflow server starts");
        self.child = Some(child);
        let started = Instant::now();
        let url = format!("{}/health", self.uri());
        loop {
            if ureq::get(&url).call().is_ok_and(|r| r.status() == 200) {
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!(
                    "mlflow server ended ({status}):\n{}",
                    std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
                );
            }
            // Not an assertion on speed: a server that never comes up.
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "mlflow server not up after 5 minutes:\n{}",
                std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Stops the server and waits until it has gone.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // The gunicorn/uvicorn workers are its children: end the group.
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
        let url = format!("{}/health", self.uri());
        while ureq::get(&url).call().is_ok() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The runs of `experiment` as MLflow's own client reads them.
    pub fn runs(&self, experiment: &str) -> Vec<Value> {
        check(&["mlflow", &self.uri(), experiment])
            .as_array()
            .expect("a list of runs")
            .clone()
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// train.csv as column → values.
pub fn train_csv(dir: &Path) -> Vec<(String, Vec<f64>)> {
    let text = crate::common::read(dir.join("train.csv"));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(String::from)
        .collect();
    let mut cols: Vec<(String, Vec<f64>)> = header.into_iter().map(|h| (h, Vec::new())).collect();
    for l in lines {
        for (c, cell) in cols.iter_mut().zip(l.split(',')) {
            c.1.push(cell.parse().expect("a number"));
        }
    }
    cols
}

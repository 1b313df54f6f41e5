//! MLflow: a dlp run as an MLflow run, over the tracking server's REST API
//! (`/api/2.0/mlflow/…`, artifacts through `/api/2.0/mlflow-artifacts/…`).
//!
//! Nothing is sent directly: [`RunTracker`] appends each call to the run
//! folder's [`Outbox`] and then tries to send what is pending. When the
//! server cannot be reached (or answers 5xx, 401, 403, 429), the run goes on
//! without trying again until its end, and `dlp sync RUN_DIR` sends the rest
//! later. A call the server refuses for good (another 4xx) is said and
//! skipped, so one bad value cannot hold back the others.
//!
//! The server comes from `MLFLOW_TRACKING_URI` (http or https), the
//! credentials from `MLFLOW_TRACKING_TOKEN` (bearer) or
//! `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD` (basic), read
//! when sending and never written anywhere; the experiment from
//! `MLFLOW_EXPERIMENT_NAME` (else MLflow's `Default`).

use super::outbox::{self, Metric, Op, Outbox, State};
use super::{Group, RunInfo, Tracker, mlflow_status, now_ms};
use crate::error::{Error, Result};
use crate::records::{EpochRow, Status};
use base64::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// One sender at a time in this process: a sweep's trials share their
/// parent's outbox.
static SENDING: Mutex<()> = Mutex::new(());

/// MLflow's limits per `log-batch` call are 1000 metrics, 100 params and
/// 100 tags; dlp queues at most this many of each per call.
const PER_CALL: usize = 100;

/// The files of a run folder uploaded as artifacts, when present.
const ARTIFACTS: [&str; 15] = [
    "pipeline.dlp",
    "run.yaml",
    "train.csv",
    "data.csv",
    "eval.csv",
    "confusion.csv",
    "stages.csv",
    "diagnosis.txt",
    "report.html",
    "curves.png",
    "confusion.png",
    "model.safetensors",
    "best.safetensors",
    "last.safetensors",
    "model.onnx",
];

/// A sweep's or multi-seed folder's files uploaded to the parent run.
const GROUP_ARTIFACTS: [&str; 6] = [
    "sweep.yaml",
    "sweep.csv",
    "sweep.png",
    "seeds.yaml",
    "seeds.csv",
    "summary.csv",
];

/// The tracking server and how to sign in.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    /// `http(s)://host:port[/prefix]`, without credentials.
    pub uri: String,
    auth: Option<String>,
}

impl Server {
    /// The server of `MLFLOW_TRACKING_URI`, else `stored` (a run folder's).
    pub(crate) fn from_env(stored: Option<&str>) -> Result<Server> {
        let env = std::env::var("MLFLOW_TRACKING_URI")
            .ok()
            .filter(|s| !s.is_empty());
        let Some(given) = env.as_deref().or(stored) else {
            return Err(Error::Usage(
                "--track mlflow: set MLFLOW_TRACKING_URI to the tracking server (http://host:5000)"
                    .into(),
            ));
        };
        Server::parse(given)
    }

    fn parse(given: &str) -> Result<Server> {
        let Some((scheme, rest)) = given.split_once("://") else {
            return Err(not_http(given));
        };
        if scheme != "http" && scheme != "https" {
            return Err(not_http(given));
        }
        // `http://user:password@host`: the credentials are used, never kept.
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let host = if path.is_empty() {
            host.to_string()
        } else {
            format!("{host}/{path}")
        };
        let uri = format!("{scheme}://{}", host.trim_end_matches('/'));
        let var = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        let basic = |u: &str, p: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        let auth = if let Some(token) = var("MLFLOW_TRACKING_TOKEN") {
            Some(format!("Bearer {token}"))
        } else if let (Some(u), Some(p)) = (
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
        ) {
            Some(basic(&u, &p))
        } else {
            userinfo.map(|ui| {
                let (u, p) = ui.split_once(':').unwrap_or((ui, ""));
                basic(u, p)
            })
        };
        Ok(Server { uri, auth })
    }

    fn agent() -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(3)))
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        ureq::Agent::new_with_config(config)
    }
}

fn not_http(given: &str) -> Error {
    // Only the scheme is shown: the rest may hold a password.
    let scheme = given.split("://").next().unwrap_or("");
    Error::Usage(format!(
        "MLFLOW_TRACKING_URI: dlp sends to an MLflow tracking server over HTTP (http://… or https://…), not `{scheme}:`"
    ))
}

/// Why a call did not go through.
enum Failure {
    /// Try again later: the server is down, busy, or refuses the credentials.
    Unreachable(String),
    /// The server refuses this call for good.
    Refused(String),
}

/// The client of one server.
struct Client {
    server: Server,
    agent: ureq::Agent,
}

impl Client {
    fn new(server: Server) -> Client {
        Client {
            server,
            agent: Server::agent(),
        }
    }

    fn answer(
        &self,
        what: &str,
        r: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> std::result::Result<Value, Failure> {
        let mut resp = r.map_err(|e| Failure::Unreachable(format!("{}: {e}", self.server.uri)))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match status {
            200..=299 => Ok(body),
            401 | 403 | 408 | 429 | 500.. => Err(Failure::Unreachable(format!(
                "{} {what}: HTTP {status}",
                self.server.uri
            ))),
            _ => {
                let code = body["error_code"].as_str().unwrap_or("");
                let message = body["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| text.chars().take(200).collect());
                Err(Failure::Refused(format!(
                    "{what}: HTTP {status} {code} {message}"
                )))
            }
        }
    }

    fn post(&self, method: &str, body: &Value) -> std::result::Result<Value, Failure> {
        let url = format!("{}/api/2.0/mlflow/{method}", self.server.uri);
        let mut req = self
            .agent
            .post(url.as_str())
            .header("Content-Type", "application/json");
        if let Some(a) = &self.server.auth {
            req = req.header("Authorization", a.as_str());
        }
        let r = req.send(body.to_string().as_bytes());
        self.answer(method, r)
    }

    fn get(&self, method: &str, query: &[(&str, &str)]) -> std::result::Result<Value, Failure> {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v, false)))
            .collect();
        let url = format!(
            "{}/api/2.0/mlflow/{method}?{}",
            self.server.uri,
            q.join("&")
        );
        let mut req = self.agent.get(url.as_str());
        if let Some(a) = &self.server.auth {
            req = req.header("Authorization", a.as_str());
        }
        let r = req.call();
        self.answer(method, r)
    }

    fn put_artifact(&self, path: &str, bytes: &[u8]) -> std::result::Result<(), Failure> {
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.server.uri,
            encode(path, true)
        );
        let mut req = self
            .agent
            .put(url.as_str())
            .header("Content-Type", "application/octet-stream");
        if let Some(a) = &self.server.auth {
            req = req.header("Authorization", a.as_str());
        }
        let r = req.send(bytes);
        self.answer("artifact upload", r).map(|_| ())
    }

    /// The id of the experiment `name`, created when missing.
    fn experiment(&self, name: &str) -> std::result::Result<String, Failure> {
        for _ in 0..2 {
            match self.get("experiments/get-by-name", &[("experiment_name", name)]) {
                Ok(v) => return id_of(&v["experiment"]["experiment_id"], "experiment"),
                Err(Failure::Refused(_)) => {}
                Err(e) => return Err(e),
            }
            match self.post("experiments/create", &json!({ "name": name })) {
                Ok(v) => return id_of(&v["experiment_id"], "experiment"),
                // Created meanwhile by another run: look it up again.
                Err(Failure::Refused(m)) if m.contains("RESOURCE_ALREADY_EXISTS") => {}
                Err(e) => return Err(e),
            }
        }
        Err(Failure::Refused(format!(
            "experiment {name:?} can neither be found nor created"
        )))
    }
}

fn id_of(v: &Value, what: &str) -> std::result::Result<String, Failure> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| Failure::Refused(format!("the server's answer has no {what} id")))
}

/// Percent-encodes `s` for a URL (keeping `/` in a path).
fn encode(s: &str, path: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if path => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn pairs(kv: &[(String, String)]) -> Value {
    Value::Array(
        kv.iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect(),
    )
}

/// What a send achieved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    pub sent: usize,
    pub pending: usize,
}

/// Sends the pending operations of `dir`'s outbox (and, first, its parent's
/// when its run must be created under a parent not created yet). Holds
/// [`SENDING`] while it runs.
fn send(dir: &Path) -> std::result::Result<Sent, String> {
    let _guard = SENDING.lock().unwrap_or_else(|p| p.into_inner());
    send_locked(dir, &mut Vec::new())
}

fn send_locked(dir: &Path, notes: &mut Vec<String>) -> std::result::Result<Sent, String> {
    let outbox = Outbox::new(dir);
    let mut state = outbox.state().map_err(|e| e.to_string())?;
    let ops = outbox.ops().map_err(|e| e.to_string())?;
    if state.sent >= ops.len() {
        return Ok(Sent {
            sent: 0,
            pending: 0,
        });
    }
    // Once the run exists, it is on the server that created it.
    let server = match &state.run_id {
        Some(_) => Server::parse(&state.tracking_uri),
        None => Server::from_env(Some(&state.tracking_uri)),
    }
    .map_err(|e| e.to_string())?;
    if state.run_id.is_none() && server.uri != state.tracking_uri {
        state.tracking_uri = server.uri.clone();
    }
    let client = Client::new(server);
    let mut sent = 0;
    for op in &ops[state.sent..] {
        match send_one(&client, dir, &mut state, op, notes) {
            Ok(()) => {}
            Err(Failure::Refused(m)) => {
                crate::terminal::errln!(
                    "note: mlflow: {}: {m} (skipped)",
                    dir.join(outbox::DIR).join(outbox::OUTBOX).display()
                );
            }
            Err(Failure::Unreachable(m)) => {
                outbox.write_state(&state).map_err(|e| e.to_string())?;
                return Err(m);
            }
        }
        state.sent += 1;
        sent += 1;
        outbox.write_state(&state).map_err(|e| e.to_string())?;
    }
    Ok(Sent { sent, pending: 0 })
}

fn send_one(
    client: &Client,
    dir: &Path,
    state: &mut State,
    op: &Op,
    notes: &mut Vec<String>,
) -> std::result::Result<(), Failure> {
    let run_id = || {
        state
            .run_id
            .clone()
            .ok_or_else(|| Failure::Refused("the run was never created".into()))
    };
    match op {
        Op::Create {
            experiment,
            run_name,
            start_time,
            tags,
            parent,
        } => {
            if state.run_id.is_some() {
                return Ok(());
            }
            let mut tags = tags.clone();
            if *parent && let Some(up) = dir.parent().filter(|p| Outbox::exists(p)) {
                send_locked(up, notes).map_err(Failure::Unreachable)?;
                let parent_state = Outbox::new(up)
                    .state()
                    .map_err(|e| Failure::Refused(e.to_string()))?;
                let Some(id) = parent_state.run_id else {
                    return Err(Failure::Unreachable(
                        "the parent run is not created yet".into(),
                    ));
                };
                tags.push(("mlflow.parentRunId".into(), id));
            }
            let experiment_id = match &state.experiment_id {
                Some(id) => id.clone(),
                None => {
                    let id = client.experiment(experiment)?;
                    state.experiment_id = Some(id.clone());
                    id
                }
            };
            let v = client.post(
                "runs/create",
                &json!({
                    "experiment_id": experiment_id,
                    "run_name": run_name,
                    "start_time": start_time,
                    "tags": pairs(&tags),
                }),
            )?;
            let info = &v["run"]["info"];
            state.run_id = Some(id_of(&info["run_id"], "run")?);
            state.artifact_uri = info["artifact_uri"].as_str().map(str::to_string);
            Ok(())
        }
        Op::Batch {
            metrics,
            params,
            tags,
        } => {
            let metrics: Vec<Value> = metrics
                .iter()
                .map(|m| {
                    json!({"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step})
                })
                .collect();
            client
                .post(
                    "runs/log-batch",
                    &json!({
                        "run_id": run_id()?,
                        "metrics": metrics,
                        "params": pairs(params),
                        "tags": pairs(tags),
                    }),
                )
                .map(|_| ())
        }
        Op::Artifact { file, path } => {
            let uri = state.artifact_uri.clone().unwrap_or_default();
            let Some(root) = uri.strip_prefix("mlflow-artifacts:") else {
                return Err(Failure::Refused(format!(
                    "the server keeps artifacts at {uri}, which dlp cannot upload to over HTTP (start it with --serve-artifacts)"
                )));
            };
            // `mlflow-artifacts:/0/<run>/artifacts` or `…://host/…`.
            let root = root.trim_start_matches("//");
            let root = if uri.starts_with("mlflow-artifacts://") {
                root.split_once('/').map_or("", |(_, r)| r)
            } else {
                root.trim_start_matches('/')
            };
            let local = dir.join(file);
            let bytes = std::fs::read(&local)
                .map_err(|e| Failure::Refused(format!("{}: {e}", local.display())))?;
            client.put_artifact(&format!("{root}/{path}"), &bytes)
        }
        Op::Status { status, end_time } => {
            let mut body = json!({ "run_id": run_id()?, "status": status });
            if let Some(t) = end_time {
                body["end_time"] = json!(t);
            }
            client.post("runs/update", &body).map(|_| ())
        }
    }
}

/// The experiment runs go to.
fn experiment_name() -> String {
    std::env::var("MLFLOW_EXPERIMENT_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "Default".to_string())
}

fn folder_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
}

/// Splits `kv` into batches of at most [`PER_CALL`].
fn param_ops(params: &[(String, String)], tags: &[(String, String)]) -> Vec<Op> {
    let mut ops: Vec<Op> = params
        .chunks(PER_CALL)
        .map(|c| Op::Batch {
            metrics: Vec::new(),
            params: c.to_vec(),
            tags: Vec::new(),
        })
        .collect();
    ops.extend(tags.chunks(PER_CALL).map(|c| Op::Batch {
        metrics: Vec::new(),
        params: Vec::new(),
        tags: c.to_vec(),
    }));
    ops
}

fn metric_ops(values: Vec<(String, f64)>, step: usize) -> Vec<Op> {
    let timestamp = now_ms();
    let metrics: Vec<Metric> = values
        .into_iter()
        // JSON has no NaN: a diverged loss is left out.
        .filter(|(_, v)| v.is_finite())
        .map(|(key, value)| Metric {
            key,
            value,
            timestamp,
            step: step as i64,
        })
        .collect();
    metrics
        .chunks(PER_CALL)
        .map(|c| Op::Batch {
            metrics: c.to_vec(),
            params: Vec::new(),
            tags: Vec::new(),
        })
        .collect()
}

fn artifact_ops(dir: &Path, names: &[&str]) -> Vec<Op> {
    names
        .iter()
        .filter(|n| dir.join(n).is_file())
        .map(|n| Op::Artifact {
            file: n.to_string(),
            path: n.to_string(),
        })
        .collect()
}

/// The MD5 of the run's copy of its pipeline.
fn pipeline_hash(dir: &Path) -> Option<String> {
    md5_tag(&dir.join("pipeline.dlp"))
}

/// `md5:HEX` of a file, when it can be read.
fn md5_tag(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(format!("md5:{}", crate::data::download::md5_hex(&bytes)))
}

/// A run's MLflow tracker.
pub(crate) struct RunTracker {
    outbox: Outbox,
    /// False once the server could not be reached: no more waiting on it.
    online: bool,
    quiet: bool,
}

impl RunTracker {
    pub(crate) fn new(dir: &Path, quiet: bool) -> RunTracker {
        RunTracker {
            outbox: Outbox::new(dir),
            online: true,
            quiet,
        }
    }

    fn queue(&self, ops: &[Op]) -> Result<()> {
        let _guard = SENDING.lock().unwrap_or_else(|p| p.into_inner());
        self.outbox.push(ops)
    }

    /// Sends what is pending, unless the server was found unreachable.
    fn try_send(&mut self) {
        if !self.online {
            return;
        }
        if let Err(why) = send(&self.outbox.run_dir) {
            self.online = false;
            if !self.quiet {
                crate::terminal::errln!(
                    "note: mlflow: {why}; the run goes on and keeps what it could not send in {}",
                    self.outbox.run_dir.join(outbox::DIR).display()
                );
            }
        }
    }
}

impl Tracker for RunTracker {
    fn name(&self) -> &'static str {
        "mlflow"
    }

    fn start(&mut self, run: &RunInfo<'_>) -> Result<()> {
        let m = run.manifest;
        if Outbox::exists(run.dir) {
            self.queue(&[Op::Status {
                status: "RUNNING".into(),
                end_time: None,
            }])?;
        } else {
            let server = Server::from_env(None)?;
            self.outbox.write_state(&State {
                tracking_uri: server.uri,
                ..State::default()
            })?;
            let parent = run.member.is_some() && run.dir.parent().is_some_and(Outbox::exists);
            let mut tags = vec![
                ("dlp.version".to_string(), m.dlp_version.clone()),
                ("dlp.device".to_string(), m.device.clone()),
                ("dlp.status".to_string(), m.status.as_str().to_string()),
                ("dlp.run_dir".to_string(), absolute(run.dir)),
                (
                    "mlflow.source.name".to_string(),
                    m.plan.path.display().to_string(),
                ),
                ("mlflow.source.type".to_string(), "LOCAL".to_string()),
            ];
            if let Some(h) = pipeline_hash(run.dir) {
                tags.push(("dlp.pipeline_hash".to_string(), h));
            }
            if let Ok(user) = std::env::var("USER") {
                tags.push(("mlflow.user".to_string(), user));
            }
            let mut ops = vec![Op::Create {
                experiment: experiment_name(),
                run_name: folder_name(run.dir),
                start_time: now_ms(),
                tags: Vec::new(),
                parent,
            }];
            let params = super::plan_params(run.dir, m)?;
            ops.extend(param_ops(&params, &tags));
            self.queue(&ops)?;
        }
        self.try_send();
        Ok(())
    }

    fn epoch(&mut self, row: &EpochRow) -> Result<()> {
        {
            let _guard = SENDING.lock().unwrap_or_else(|p| p.into_inner());
            let mut state = self.outbox.state()?;
            if row.epoch <= state.last_epoch {
                return Ok(());
            }
            let mut values = vec![("lr".to_string(), row.lr)];
            values.extend(row.values.iter().map(|(k, v)| (k.clone(), *v)));
            self.outbox.push(&metric_ops(values, row.epoch))?;
            state = self.outbox.state()?;
            state.last_epoch = row.epoch;
            self.outbox.write_state(&state)?;
        }
        self.try_send();
        Ok(())
    }

    fn end(&mut self, run: &RunInfo<'_>) -> Result<()> {
        let m = run.manifest;
        let step = m.stop_epoch.unwrap_or_else(|| {
            std::fs::read_to_string(run.dir.join("train.csv"))
                .map(|t| t.lines().count().saturating_sub(1))
                .unwrap_or(0)
        });
        let test: Vec<(String, f64)> = m
            .final_metrics
            .iter()
            .filter(|(k, _)| k.starts_with("test_"))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let mut ops = metric_ops(test, step);
        let mut tags = vec![("dlp.status".to_string(), m.status.as_str().to_string())];
        if let Some(code) = m.exit_code {
            tags.push(("dlp.exit_code".to_string(), code.to_string()));
        }
        ops.extend(param_ops(&[], &tags));
        if m.status != Status::Interrupted {
            ops.extend(artifact_ops(run.dir, &ARTIFACTS));
        }
        ops.push(Op::Status {
            status: mlflow_status(m.status).into(),
            end_time: Some(now_ms()),
        });
        self.queue(&ops)?;
        // The end is worth one more try: the server may be back.
        self.online = true;
        self.try_send();
        let pending = pending(run.dir)?;
        // Said even with --quiet: without `dlp sync` the server never has it.
        if pending > 0 {
            crate::terminal::errln!(
                "note: mlflow: {pending} call(s) kept in {}; send them with `dlp sync {}`",
                run.dir.join(outbox::DIR).display(),
                run.dir.display()
            );
        }
        Ok(())
    }
}

fn absolute(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// How many operations of `dir`'s outbox the server does not have yet.
pub(crate) fn pending(dir: &Path) -> Result<usize> {
    let _guard = SENDING.lock().unwrap_or_else(|p| p.into_inner());
    let b = Outbox::new(dir);
    Ok(b.ops()?.len().saturating_sub(b.state()?.sent))
}

/// The parent run of a sweep or multi-seed folder.
pub(crate) fn start_group(group: &Group<'_>, quiet: bool) -> Result<()> {
    let outbox = Outbox::new(group.dir);
    let _guard = SENDING.lock().unwrap_or_else(|p| p.into_inner());
    if Outbox::exists(group.dir) {
        outbox.push(&[Op::Status {
            status: "RUNNING".into(),
            end_time: None,
        }])?;
    } else {
        let server = Server::from_env(None)?;
        outbox.write_state(&State {
            tracking_uri: server.uri,
            ..State::default()
        })?;
        let mut tags = vec![
            (
                "dlp.version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
            ("dlp.run_dir".to_string(), absolute(group.dir)),
            (
                "mlflow.source.name".to_string(),
                group.pipeline.display().to_string(),
            ),
            ("mlflow.source.type".to_string(), "LOCAL".to_string()),
            ("dlp.status".to_string(), "running".to_string()),
        ];
        if let Some(h) = pipeline_hash(group.dir).or_else(|| md5_tag(group.pipeline)) {
            tags.push(("dlp.pipeline_hash".to_string(), h));
        }
        let params: Vec<(String, String)> = group
            .hparams
            .iter()
            .map(|(k, vs)| {
                let shown: Vec<String> = vs.iter().map(|v| v.text()).collect();
                (k.clone(), shown.join(", "))
            })
            .collect();
        let mut ops = vec![Op::Create {
            experiment: experiment_name(),
            run_name: folder_name(group.dir),
            start_time: now_ms(),
            tags: Vec::new(),
            parent: false,
        }];
        ops.extend(param_ops(&params, &tags));
        outbox.push(&ops)?;
    }
    if let Err(why) = send_locked(group.dir, &mut Vec::new())
        && !quiet
    {
        crate::terminal::errln!(
            "note: mlflow: {why}; the runs go on and keep what they could not send in their folders"
        );
    }
    Ok(())
}

/// Ends a sweep's or multi-seed folder's parent run.
pub(crate) fn end_group(dir: &Path, status: Status, quiet: bool) -> Result<()> {
    {
        let _guard = SENDING.lock().unwrap_or_else(|p| p.into_inner());
        let outbox = Outbox::new(dir);
        let mut ops = param_ops(&[], &[("dlp.status".to_string(), status.as_str().into())]);
        if status != Status::Interrupted {
            ops.extend(artifact_ops(dir, &GROUP_ARTIFACTS));
        }
        ops.push(Op::Status {
            status: mlflow_status(status).into(),
            end_time: Some(now_ms()),
        });
        outbox.push(&ops)?;
    }
    if let Err(why) = send(dir)
        && !quiet
    {
        crate::terminal::errln!(
            "note: mlflow: {why}; send what is kept with `dlp sync {}`",
            dir.display()
        );
    }
    Ok(())
}

/// `dlp sync`: sends what `dir` (a run, or a sweep or multi-seed folder
/// and its runs) kept; returns each folder's result.
pub(crate) fn sync(dir: &Path) -> Result<Vec<(PathBuf, std::result::Result<Sent, String>)>> {
    let mut out = Vec::new();
    for d in super::folders(dir)? {
        if !Outbox::exists(&d) {
            continue;
        }
        let r = send(&d);
        out.push((d, r));
    }
    Ok(out)
}

/// The run id an outbox's run has on the server, once created.
pub(crate) fn run_id(dir: &Path) -> Option<String> {
    Outbox::new(dir).state().ok()?.run_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_address_are_used_not_kept() {
        let s = Server::parse("http://alice:secret@127.0.0.1:5000/").unwrap();
        assert_eq!(s.uri, "http://127.0.0.1:5000");
        assert!(s.auth.is_some());
        let s = Server::parse("https://mlflow.example.org/prefix/").unwrap();
        assert_eq!(s.uri, "https://mlflow.example.org/prefix");
        let e = Server::parse("databricks://token@x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not `databricks:`"), "{e}");
        assert!(!e.contains("token"), "{e}");
        assert!(Server::parse("file:///tmp/mlruns").is_err());
    }

    #[test]
    fn urls_are_percent_encoded() {
        assert_eq!(encode("my exp/ä", false), "my%20exp%2F%C3%A4");
        assert_eq!(
            encode("0/abc/artifacts/run.yaml", true),
            "0/abc/artifacts/run.yaml"
        );
    }

    #[test]
    fn non_finite_metrics_are_left_out() {
        let ops = metric_ops(vec![("a".into(), 1.0), ("b".into(), f64::NAN)], 3);
        let [Op::Batch { metrics, .. }] = ops.as_slice() else {
            panic!("{ops:?}")
        };
        assert_eq!(metrics.len(), 1);
        assert_eq!((metrics[0].key.as_str(), metrics[0].step), ("a", 3));
    }
}

//! TensorBoard event files in the run folder.
//!
//! An event file is a sequence of records: the length (u64, little
//! endian), its masked CRC32C, the bytes of one `Event` protobuf and their
//! masked CRC32C. The protobuf messages are TensorFlow's and TensorBoard's
//! own (`event.proto`, `summary.proto`, `tensor.proto`, the HParams
//! plugin's `plugin_data.proto` and `api.proto`), written here as prost
//! structs with the same field numbers; only the fields dlp fills are
//! declared.
//!
//! A run writes `events.out.tfevents.<time>.dlp.<pid>` into its folder, so
//! `tensorboard --logdir` on a run, a sweep, a multi-seed folder or a
//! folder of runs shows each run under its folder's name: every
//! `train.csv` column per epoch (`lr` too), the test metrics at the last
//! epoch, `curves.png` and `confusion.png` as images and the resolved plan
//! as text. A sweep's or multi-seed folder holds the HParams experiment
//! (the swept values, or the seed, against the monitor and the test
//! metrics) and each of its runs its own values. A resumed run appends a
//! new file and leaves out the epochs already written.

use super::{Group, HValue, RunInfo, Tracker};
use crate::error::{Error, Result};
use crate::records::{EpochRow, Status};
use prost::Message;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The epochs written so far, beside the event files.
pub(crate) const STATE: &str = "tensorboard.json";

// ---- event.proto, summary.proto, tensor.proto ----

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(oneof = "What", tags = "3, 5")]
    pub what: Option<What>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum What {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct SummaryValue {
    #[prost(string, tag = "1")]
    pub tag: String,
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
    #[prost(oneof = "Payload", tags = "2, 4, 8")]
    pub value: Option<Payload>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum Payload {
    #[prost(float, tag = "2")]
    SimpleValue(f32),
    #[prost(message, tag = "4")]
    Image(Image),
    #[prost(message, tag = "8")]
    Tensor(TensorProto),
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Image {
    #[prost(int32, tag = "1")]
    pub height: i32,
    #[prost(int32, tag = "2")]
    pub width: i32,
    /// 1 grey, 3 RGB, 4 RGBA.
    #[prost(int32, tag = "3")]
    pub colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_image_string: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct PluginData {
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct TensorProto {
    /// `DataType`: 7 is `DT_STRING`.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShape>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
}

/// A scalar's shape: no dimensions.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct TensorShape {}

const DT_STRING: i32 = 7;

// ---- the HParams plugin: plugin_data.proto, api.proto, struct.proto ----

#[derive(Clone, PartialEq, Message)]
pub(crate) struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    pub version: i32,
    #[prost(oneof = "HParamsData", tags = "2, 3, 4")]
    pub data: Option<HParamsData>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum HParamsData {
    #[prost(message, tag = "2")]
    Experiment(Experiment),
    #[prost(message, tag = "3")]
    SessionStartInfo(SessionStartInfo),
    #[prost(message, tag = "4")]
    SessionEndInfo(SessionEndInfo),
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Experiment {
    #[prost(string, tag = "1")]
    pub description: String,
    #[prost(double, tag = "3")]
    pub time_created_secs: f64,
    #[prost(message, repeated, tag = "4")]
    pub hparam_infos: Vec<HParamInfo>,
    #[prost(message, repeated, tag = "5")]
    pub metric_infos: Vec<MetricInfo>,
    #[prost(string, tag = "6")]
    pub name: String,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct HParamInfo {
    #[prost(string, tag = "1")]
    pub name: String,
    /// `DataType`: 1 string, 2 bool, 3 float64.
    #[prost(int32, tag = "4")]
    pub r#type: i32,
    #[prost(message, optional, tag = "5")]
    pub domain_discrete: Option<ListValue>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct MetricInfo {
    #[prost(message, optional, tag = "1")]
    pub name: Option<MetricName>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct MetricName {
    #[prost(string, tag = "1")]
    pub group: String,
    #[prost(string, tag = "2")]
    pub tag: String,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct SessionStartInfo {
    #[prost(btree_map = "string, message", tag = "1")]
    pub hparams: BTreeMap<String, PValue>,
    #[prost(string, tag = "4")]
    pub group_name: String,
    #[prost(double, tag = "5")]
    pub start_time_secs: f64,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct SessionEndInfo {
    /// `Status`: 1 success, 2 failure, 3 running.
    #[prost(int32, tag = "1")]
    pub status: i32,
    #[prost(double, tag = "2")]
    pub end_time_secs: f64,
}

/// `google.protobuf.ListValue`.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct ListValue {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<PValue>,
}

/// `google.protobuf.Value`, the kinds dlp uses.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct PValue {
    #[prost(oneof = "Kind", tags = "2, 3, 4")]
    pub kind: Option<Kind>,
}

// The variants keep google.protobuf.Value's field names.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum Kind {
    #[prost(double, tag = "2")]
    NumberValue(f64),
    #[prost(string, tag = "3")]
    StringValue(String),
    #[prost(bool, tag = "4")]
    BoolValue(bool),
}

impl From<&HValue> for PValue {
    fn from(v: &HValue) -> PValue {
        PValue {
            kind: Some(match v {
                HValue::Number(x) => Kind::NumberValue(*x),
                HValue::Text(s) => Kind::StringValue(s.clone()),
                HValue::Bool(b) => Kind::BoolValue(*b),
            }),
        }
    }
}

// ---- records ----

/// TensorFlow's masked CRC32C of a record's length and of its data.
pub(crate) fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One record around `data`.
pub(crate) fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn summary(step: usize, values: Vec<SummaryValue>) -> Event {
    Event {
        wall_time: now_secs(),
        step: step as i64,
        what: Some(What::Summary(Summary { value: values })),
    }
}

fn scalar(tag: &str, x: f64) -> SummaryValue {
    SummaryValue {
        tag: tag.to_string(),
        metadata: None,
        value: Some(Payload::SimpleValue(x as f32)),
    }
}

fn plugin(name: &str, content: Vec<u8>) -> Option<SummaryMetadata> {
    Some(SummaryMetadata {
        plugin_data: Some(PluginData {
            plugin_name: name.to_string(),
            content,
        }),
    })
}

fn text(tag: &str, markdown: &str) -> SummaryValue {
    SummaryValue {
        tag: tag.to_string(),
        metadata: plugin("text", Vec::new()),
        value: Some(Payload::Tensor(TensorProto {
            dtype: DT_STRING,
            tensor_shape: Some(TensorShape {}),
            string_val: vec![markdown.as_bytes().to_vec()],
        })),
    }
}

fn hparams(tag: &str, data: HParamsData) -> SummaryValue {
    let content = HParamsPluginData {
        version: 0,
        data: Some(data),
    }
    .encode_to_vec();
    SummaryValue {
        tag: format!("_hparams_/{tag}"),
        metadata: plugin("hparams", content),
        value: None,
    }
}

/// A PNG file as an image summary (its size from its header).
fn image(tag: &str, path: &Path) -> Result<Option<SummaryValue>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    if bytes.len() < 26 || &bytes[1..4] != b"PNG" {
        return Err(Error::file(path, "not a PNG file"));
    }
    let be = |i: usize| i32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let colorspace = match bytes[25] {
        0 => 1,
        4 => 2,
        6 => 4,
        _ => 3,
    };
    Ok(Some(SummaryValue {
        tag: tag.to_string(),
        metadata: None,
        value: Some(Payload::Image(Image {
            width: be(16),
            height: be(20),
            colorspace,
            encoded_image_string: bytes,
        })),
    }))
}

/// An event file being written.
struct EventFile {
    path: PathBuf,
    file: std::fs::File,
}

impl EventFile {
    fn create(dir: &Path) -> Result<EventFile> {
        let secs = now_secs() as u64;
        let path = dir.join(format!(
            "events.out.tfevents.{secs:010}.dlp.{}",
            std::process::id()
        ));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::write(&path, e))?;
        let mut f = EventFile { path, file };
        f.write(&[Event {
            wall_time: now_secs(),
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        }])?;
        Ok(f)
    }

    fn write(&mut self, events: &[Event]) -> Result<()> {
        let mut bytes = Vec::new();
        for e in events {
            bytes.extend(record(&e.encode_to_vec()));
        }
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::write(&self.path, e))
    }
}

/// Whether `dir` has event files (the run reports to TensorBoard).
pub(crate) fn started(dir: &Path) -> bool {
    dir.join(STATE).is_file()
}

/// The last epoch written to `dir`'s event files.
fn last_epoch(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join(STATE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["last_epoch"].as_u64())
        .unwrap_or(0) as usize
}

fn write_last_epoch(dir: &Path, epoch: usize) -> Result<()> {
    crate::records::atomic::write(
        &dir.join(STATE),
        serde_json::json!({ "last_epoch": epoch })
            .to_string()
            .as_bytes(),
    )
}

/// A run's TensorBoard writer.
pub(crate) struct RunWriter {
    dir: PathBuf,
    file: Option<EventFile>,
    last_epoch: usize,
}

impl RunWriter {
    pub(crate) fn new(dir: &Path) -> RunWriter {
        RunWriter {
            dir: dir.to_path_buf(),
            file: None,
            last_epoch: 0,
        }
    }

    fn write(&mut self, events: &[Event]) -> Result<()> {
        if self.file.is_none() {
            self.file = Some(EventFile::create(&self.dir)?);
        }
        match self.file.as_mut() {
            Some(f) => f.write(events),
            None => Ok(()),
        }
    }
}

impl Tracker for RunWriter {
    fn name(&self) -> &'static str {
        "tensorboard"
    }

    fn start(&mut self, run: &RunInfo<'_>) -> Result<()> {
        self.last_epoch = last_epoch(&self.dir);
        if started(&self.dir) {
            return Ok(());
        }
        // As `run.yaml` writes it (enums as one-key maps: YAML tags cannot nest).
        let manifest = serde_yaml_ng::to_value(run.manifest)
            .map_err(|e| Error::Runtime(format!("cannot render the plan: {e}")))?;
        let plan = serde_yaml_ng::to_string(&manifest["plan"])
            .map_err(|e| Error::Runtime(format!("cannot render the plan: {e}")))?;
        // Indented four spaces: a code block in the text plugin's Markdown.
        let block: String = plan.lines().map(|l| format!("    {l}\n")).collect();
        let mut values = vec![text("plan", &block)];
        if let Some(m) = run.member {
            values.push(hparams(
                "session_start_info",
                HParamsData::SessionStartInfo(SessionStartInfo {
                    hparams: m
                        .hparams
                        .iter()
                        .map(|(k, v)| (k.clone(), PValue::from(v)))
                        .collect(),
                    group_name: String::new(),
                    start_time_secs: now_secs(),
                }),
            ));
        }
        self.write(&[summary(0, values)])?;
        write_last_epoch(&self.dir, 0)
    }

    fn epoch(&mut self, row: &EpochRow) -> Result<()> {
        if row.epoch <= self.last_epoch {
            return Ok(());
        }
        let mut values = vec![scalar("lr", row.lr)];
        values.extend(row.values.iter().map(|(k, v)| scalar(k, *v)));
        self.write(&[summary(row.epoch, values)])?;
        self.last_epoch = row.epoch;
        write_last_epoch(&self.dir, row.epoch)
    }

    fn end(&mut self, run: &RunInfo<'_>) -> Result<()> {
        let m = run.manifest;
        if m.status == Status::Interrupted {
            return Ok(());
        }
        let step = m.stop_epoch.unwrap_or(self.last_epoch).max(self.last_epoch);
        let mut values: Vec<SummaryValue> = m
            .final_metrics
            .iter()
            .filter(|(k, _)| k.starts_with("test_"))
            .map(|(k, v)| scalar(k, *v))
            .collect();
        for (tag, file) in [
            ("curves", crate::report::curves::PNG),
            ("confusion", crate::report::confusion_plot::PNG),
        ] {
            values.extend(image(tag, &self.dir.join(file))?);
        }
        if run.member.is_some() {
            values.push(hparams(
                "session_end_info",
                HParamsData::SessionEndInfo(SessionEndInfo {
                    status: match m.status {
                        Status::Completed | Status::StoppedEarly | Status::Pruned => 1,
                        Status::Running | Status::Crashed | Status::Interrupted => 3,
                        Status::Diverged | Status::Failed => 2,
                    },
                    end_time_secs: now_secs(),
                }),
            ));
        }
        self.write(&[summary(step, values)])
    }
}

/// A sweep's or multi-seed folder's HParams experiment: which values its
/// runs differ by and which metrics to show against them. Written once.
pub(crate) fn write_experiment(group: &Group<'_>) -> Result<()> {
    if started(group.dir) {
        return Ok(());
    }
    let hparam_infos = group
        .hparams
        .iter()
        .map(|(name, values)| HParamInfo {
            name: name.clone(),
            r#type: match values.first() {
                Some(HValue::Number(_)) => 3,
                Some(HValue::Bool(_)) => 2,
                _ => 1,
            },
            domain_discrete: Some(ListValue {
                values: values.iter().map(PValue::from).collect(),
            }),
        })
        .collect();
    let metric_infos = group
        .metrics
        .iter()
        .map(|tag| MetricInfo {
            name: Some(MetricName {
                group: String::new(),
                tag: tag.clone(),
            }),
        })
        .collect();
    let experiment = HParamsData::Experiment(Experiment {
        description: format!("dlp: {}", group.pipeline.display()),
        time_created_secs: now_secs(),
        hparam_infos,
        metric_infos,
        name: group.name.to_string(),
    });
    let mut f = EventFile::create(group.dir)?;
    f.write(&[summary(0, vec![hparams("experiment", experiment)])])?;
    write_last_epoch(group.dir, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // TensorFlow's mask as its source spells it, against the rotation.
    #[allow(clippy::manual_rotate)]
    #[test]
    fn records_carry_tensorflows_masked_crc() {
        // The empty record's checksums, as TensorFlow's `masked_crc32c`
        // computes them: crc32c(8 zero bytes) = 0x8f2a96b8… masked.
        let len = 0u64.to_le_bytes();
        let crc = crc32c::crc32c(&len);
        assert_eq!(
            masked_crc(&len),
            ((crc >> 15) | (crc << 17)).wrapping_add(0xa282ead8)
        );
        let r = record(b"abc");
        assert_eq!(r.len(), 8 + 4 + 3 + 4);
        assert_eq!(&r[..8], &3u64.to_le_bytes());
        assert_eq!(&r[12..15], b"abc");
    }

    #[test]
    fn a_scalar_event_encodes_as_tensorflow_does() {
        // Event{wall_time: 1.5, step: 3, summary{value{tag:"a" simple_value:2}}},
        // the bytes protoc's encoder gives for event.proto.
        let e = Event {
            wall_time: 1.5,
            step: 3,
            what: Some(What::Summary(Summary {
                value: vec![scalar("a", 2.0)],
            })),
        };
        let expected: Vec<u8> = [
            vec![0x09],
            1.5f64.to_le_bytes().to_vec(),
            vec![0x10, 0x03, 0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, b'a', 0x15],
            2.0f32.to_le_bytes().to_vec(),
        ]
        .concat();
        assert_eq!(e.encode_to_vec(), expected);
    }
}

//! Built-in datasets: downloaded once from their canonical location,
//! checksum-verified, cached. A download goes to `FILE.part`, resumes from
//! there with an HTTP `Range` request, and is renamed only after its MD5
//! matches, so a partial or corrupt file is never used. An extracted copy
//! in the cache is used as is, with no network. A lock on the dataset's
//! cache folder lets one process (or thread) download at a time.

use crate::error::{Error, Result};
use crate::lockfile::Attempt;
use crate::plan::Builtin;
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One file to download and its MD5.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub file: String,
    pub md5: String,
}

/// Where a built-in dataset comes from and what a ready cache holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Folder name in the cache (`cifar10`).
    pub name: String,
    /// Base URL; a file's URL is `base_url + file`.
    pub base_url: String,
    pub resources: Vec<Resource>,
    /// For an archive: the folder it extracts to (`cifar-10-batches-bin`),
    /// which is where the data files are then.
    pub extracts_to: Option<String>,
    /// The files the loader reads, relative to the data folder.
    pub data_files: Vec<String>,
}

fn res(file: &str, md5: &str) -> Resource {
    Resource {
        file: file.into(),
        md5: md5.into(),
    }
}

const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

impl Spec {
    /// The canonical locations and torchvision's published MD5s.
    pub fn builtin(b: Builtin) -> Spec {
        match b {
            Builtin::Cifar10 => Spec {
                name: "cifar10".into(),
                base_url: "https://www.cs.toronto.edu/~kriz/".into(),
                resources: vec![res(
                    "cifar-10-binary.tar.gz",
                    "c32a1d4ab5d03f1284b67883add8ad77",
                )],
                extracts_to: Some("cifar-10-batches-bin".into()),
                data_files: super::cifar::files()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            },
            Builtin::Mnist => Spec {
                name: "mnist".into(),
                base_url: "https://ossci-datasets.s3.amazonaws.com/mnist/".into(),
                resources: MNIST_FILES
                    .iter()
                    .zip([
                        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                        "d53e105ee54ea40749a09fcbcd1e9432",
                        "9fb629c4189551a2d022fa330f9573f3",
                        "ec29112dd5afa0611ce80d1b7f02629c",
                    ])
                    .map(|(f, m)| res(f, m))
                    .collect(),
                extracts_to: None,
                data_files: MNIST_FILES.iter().map(|s| s.to_string()).collect(),
            },
            Builtin::FashionMnist => Spec {
                name: "fashion_mnist".into(),
                base_url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/".into(),
                resources: MNIST_FILES
                    .iter()
                    .zip([
                        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                        "25c81989df183df01b3e8a0aad5dffbe",
                        "bef4ecab320f06d8554ea6380940ec79",
                        "bb300cfdad3c16e7a12a480ee83cd310",
                    ])
                    .map(|(f, m)| res(f, m))
                    .collect(),
                extracts_to: None,
                data_files: MNIST_FILES.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    /// The folder the loader reads, under `cache`.
    pub(crate) fn data_dir(&self, cache: &Path) -> PathBuf {
        let d = cache.join(&self.name);
        match &self.extracts_to {
            Some(x) => d.join(x),
            None => d,
        }
    }

    /// Every data file is there (a gzipped one may also be there gunzipped).
    fn ready(&self, cache: &Path) -> bool {
        let d = self.data_dir(cache);
        self.data_files.iter().all(|f| locate(&d, f).is_file())
    }

    fn url(&self, mirror: Option<&str>, file: &str) -> String {
        let base = mirror.unwrap_or(&self.base_url);
        if base.ends_with('/') {
            format!("{base}{file}")
        } else {
            format!("{base}/{file}")
        }
    }

    /// What to place where to use the dataset without a network.
    fn offline_hint(&self, cache: &Path, mirror: Option<&str>) -> String {
        let dir = cache.join(&self.name);
        let files: Vec<String> = self
            .resources
            .iter()
            .map(|r| {
                format!(
                    "  {} (md5 {}) from {}",
                    r.file,
                    r.md5,
                    self.url(mirror, &r.file)
                )
            })
            .collect();
        let mut s = format!(
            "to use {} offline, place these files in {}/:\n{}",
            self.name,
            dir.display(),
            files.join("\n")
        );
        if self.extracts_to.is_none() && self.data_files.iter().any(|f| f.ends_with(".gz")) {
            s.push_str("\n(gunzipped copies without the .gz suffix work too)");
        }
        if let Some(x) = &self.extracts_to {
            s.push_str(&format!(
                "\nor the archive's extracted folder as {}/ (with {})",
                dir.join(x).display(),
                self.data_files.join(", ")
            ));
        }
        s
    }
}

/// A data file in `dir`: `name`, or, when only that exists, the same file
/// without its `.gz` suffix (MNIST is often kept gunzipped).
pub fn locate(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    match name.strip_suffix(".gz") {
        Some(plain) if !path.exists() && dir.join(plain).is_file() => dir.join(plain),
        _ => path,
    }
}

/// The cache root: `$DLP_DATA`, else the platform cache folder's `dlp/`.
pub(crate) fn cache_root() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("DLP_DATA") {
        return Ok(PathBuf::from(d));
    }
    dirs::cache_dir().map(|d| d.join("dlp")).ok_or_else(|| {
        Error::Runtime(
            "no cache folder on this platform: set DLP_DATA to a folder for datasets".into(),
        )
    })
}

/// Lower-case hex MD5 of a file.
pub fn md5_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Lower-case hex MD5 of bytes in memory.
pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a download failed: the network (worth the offline hint) or the file.
enum Failure {
    Network(String),
    Fatal(Error),
}

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(20)))
        .build();
    ureq::Agent::new_with_config(config)
}

/// Downloads `url` into `part`, resuming from its current length.
fn fetch(agent: &ureq::Agent, url: &str, part: &Path, progress: bool) -> Result<(), Failure> {
    let have = part.metadata().map(|m| m.len()).unwrap_or(0);
    let mut req = agent.get(url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
    }
    let resp = req
        .call()
        .map_err(|e| Failure::Network(format!("{url}: {e}")))?;
    let status = resp.status().as_u16();
    let offset = match status {
        206 => have,
        200 => 0,
        416 => {
            // The partial file is not a prefix the server can continue.
            std::fs::remove_file(part).map_err(|e| Failure::Fatal(Error::io(part, e)))?;
            return fetch(agent, url, part, progress);
        }
        s => return Err(Failure::Network(format!("{url}: HTTP status {s}"))),
    };
    let length: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(offset > 0)
        .write(true)
        .truncate(offset == 0)
        .open(part)
        .map_err(|e| Failure::Fatal(Error::io(part, e)))?;
    let bar = (progress && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let b = indicatif::ProgressBar::new(length.map_or(0, |l| l + offset));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
        b.set_position(offset);
        b
    });
    let mut reader = resp.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Failure::Network(format!("{url}: {e}")))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n])
            .map_err(|e| Failure::Fatal(Error::io(part, e)))?;
        if let Some(b) = &bar {
            b.inc(n as u64);
        }
    }
    file.flush()
        .map_err(|e| Failure::Fatal(Error::io(part, e)))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(())
}

/// Downloads one resource into `dir` (resuming, verifying, renaming).
fn download(
    agent: &ureq::Agent,
    url: &str,
    r: &Resource,
    dir: &Path,
    progress: bool,
) -> Result<(), Failure> {
    let dest = dir.join(&r.file);
    let part = dir.join(format!("{}.part", r.file));
    // A resumed file that fails its checksum is retried once from scratch.
    for attempt in 0..2 {
        let resumed = part.exists();
        fetch(agent, url, &part, progress)?;
        let got = md5_file(&part).map_err(Failure::Fatal)?;
        if got == r.md5 {
            return std::fs::rename(&part, &dest).map_err(|e| Failure::Fatal(Error::io(&dest, e)));
        }
        std::fs::remove_file(&part).map_err(|e| Failure::Fatal(Error::io(&part, e)))?;
        if !(resumed && attempt == 0) {
            return Err(Failure::Fatal(Error::file(
                &dest,
                format!(
                    "checksum mismatch: downloaded from {url} with md5 {got}, expected {}; the download was deleted",
                    r.md5
                ),
            )));
        }
    }
    Err(Failure::Fatal(Error::file(&dest, "download failed twice")))
}

/// Extracts a `.tar.gz` so that only a complete folder appears in place.
fn extract(archive: &Path, dir: &Path, folder: &str) -> Result<()> {
    let tmp = dir.join(".extracting");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let f = std::fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
    tar::Archive::new(flate2::read::GzDecoder::new(f))
        .unpack(&tmp)
        .map_err(|e| Error::file(archive, format!("cannot extract: {e}")))?;
    let inner = tmp.join(folder);
    if !inner.is_dir() {
        return Err(Error::file(
            archive,
            format!("the archive has no {folder}/ folder"),
        ));
    }
    let dest = dir.join(folder);
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
    }
    std::fs::rename(&inner, &dest).map_err(|e| Error::io(&dest, e))?;
    std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    Ok(())
}

/// The lock file of a dataset's cache folder.
pub const LOCK: &str = crate::lockfile::LOCK;

/// Holds the lock of the cache folder `dir` until dropped, waiting for
/// another process or thread that holds it (saying so when `progress`).
fn lock(dir: &Path, name: &str, progress: bool) -> Result<std::fs::File> {
    match crate::lockfile::try_lock(dir)? {
        Attempt::Taken(file) => Ok(file),
        Attempt::Held(file) => {
            if progress {
                eprintln!(
                    "waiting for another dlp process downloading {name} into {}",
                    dir.display()
                );
            }
            crate::lockfile::wait(dir, file)
        }
    }
}

/// Makes sure the dataset is in the cache and returns its data folder.
/// `mirror` replaces the base URL (env `DLP_MIRROR`).
pub fn ensure(spec: &Spec, cache: &Path, mirror: Option<&str>, progress: bool) -> Result<PathBuf> {
    if spec.ready(cache) {
        return Ok(spec.data_dir(cache));
    }
    let dir = cache.join(&spec.name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    // One download of a dataset at a time: the trials of a sweep or the
    // seeds run side by side (`--jobs`), and separate dlp processes, would
    // otherwise append to the same `.part` file. The others wait here and
    // then find the dataset ready.
    let _lock = lock(&dir, &spec.name, progress)?;
    if spec.ready(cache) {
        return Ok(spec.data_dir(cache));
    }
    let agent = agent();
    for r in &spec.resources {
        if dir.join(&r.file).is_file() {
            continue;
        }
        let url = spec.url(mirror, &r.file);
        match download(&agent, &url, r, &dir, progress) {
            Ok(()) => {}
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Network(msg)) => {
                return Err(Error::Runtime(format!(
                    "cannot download {}: {msg}\n{}",
                    spec.name,
                    spec.offline_hint(cache, mirror)
                )));
            }
        }
    }
    if let (Some(folder), [archive]) = (&spec.extracts_to, spec.resources.as_slice()) {
        let path = dir.join(&archive.file);
        extract(&path, &dir, folder)?;
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    }
    if !spec.ready(cache) {
        return Err(Error::file(
            spec.data_dir(cache),
            format!(
                "incomplete after download: expected {}",
                spec.data_files.join(", ")
            ),
        ));
    }
    Ok(spec.data_dir(cache))
}

//! Built-in dataset downloads against a loopback HTTP server (never the
//! internet): download and extract, checksum failure, resume after a
//! partial download, offline use of the cache, offline without a cache,
//! one download at a time.

use dlp::data::download::{Spec, ensure, md5_file};
use dlp::data::{cifar, synth};
use dlp::plan::Builtin;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A CIFAR-10-format archive, as `cifar-10-binary.tar.gz` is laid out.
fn cifar_archive(dir: &Path) -> Vec<u8> {
    let src = dir.join("src");
    synth::write_cifar10(&src, 30, 10, 7).unwrap();
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(enc);
    tar.append_dir_all("cifar-10-batches-bin", src.join("cifar-10-batches-bin"))
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

/// Serves `files` (name → bytes) on 127.0.0.1, honouring `Range: bytes=N-`;
/// records each request's Range header. Returns the base URL.
fn serve(files: Vec<(String, Vec<u8>)>) -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    serve_with(files, true)
}

/// `serve`, optionally ignoring `Range` (answering 200 with the whole file).
fn serve_with(
    files: Vec<(String, Vec<u8>)>,
    honour_range: bool,
) -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let name = req.url().trim_start_matches('/').to_string();
            let range = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Range"))
                .map(|h| h.value.as_str().to_string());
            seen.lock().unwrap().push(range.clone());
            let Some((_, body)) = files.iter().find(|(n, _)| *n == name) else {
                let _ = req.respond(tiny_http::Response::empty(404));
                continue;
            };
            let start: usize = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.trim_end_matches('-').parse().ok())
                .unwrap_or(0);
            let resp = if start > 0 && honour_range {
                let h = tiny_http::Header::from_bytes(
                    "Content-Range",
                    format!("bytes {start}-{}/{}", body.len() - 1, body.len()),
                )
                .unwrap();
                tiny_http::Response::from_data(body[start..].to_vec())
                    .with_status_code(206)
                    .with_header(h)
            } else {
                tiny_http::Response::from_data(body.clone())
            };
            let _ = req.respond(resp);
        }
    });
    (format!("http://{addr}/"), log)
}

fn cifar_spec(md5: &str) -> Spec {
    let mut spec = Spec::builtin(Builtin::Cifar10);
    spec.resources[0].md5 = md5.to_string();
    spec
}

fn digest(bytes: &[u8], dir: &Path) -> String {
    let p = dir.join("digest.tmp");
    std::fs::write(&p, bytes).unwrap();
    md5_file(&p).unwrap()
}

/// A closed port: nothing listens on 127.0.0.1:1.
const OFFLINE: &str = "http://127.0.0.1:1/";

#[test]
fn downloads_verifies_extracts_then_works_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = cifar_archive(tmp.path());
    let spec = cifar_spec(&digest(&archive, tmp.path()));
    let (url, log) = serve(vec![("cifar-10-binary.tar.gz".into(), archive)]);
    let cache = tmp.path().join("cache");
    let dir = ensure(&spec, &cache, Some(&url), false).unwrap();
    assert_eq!(dir, cache.join("cifar10").join("cifar-10-batches-bin"));
    let set = cifar::load(&dir).unwrap();
    assert_eq!(
        (set.train.len(), set.test.as_ref().unwrap().len()),
        (30, 10)
    );
    // The archive and any partial file are gone; only the folder remains.
    assert!(!cache.join("cifar10/cifar-10-binary.tar.gz").exists());
    assert!(!cache.join("cifar10/cifar-10-binary.tar.gz.part").exists());
    assert_eq!(log.lock().unwrap().len(), 1);
    // Offline with the cache: no request, same folder.
    assert_eq!(ensure(&spec, &cache, Some(OFFLINE), false).unwrap(), dir);
}

#[test]
fn checksum_mismatch_is_never_used() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = cifar_archive(tmp.path());
    let spec = cifar_spec("00000000000000000000000000000000");
    let (url, _) = serve(vec![("cifar-10-binary.tar.gz".into(), archive)]);
    let cache = tmp.path().join("cache");
    let err = ensure(&spec, &cache, Some(&url), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(
        err.contains("expected 00000000000000000000000000000000"),
        "{err}"
    );
    assert!(!cache.join("cifar10/cifar-10-binary.tar.gz").exists());
    assert!(!cache.join("cifar10/cifar-10-binary.tar.gz.part").exists());
    assert!(!cache.join("cifar10/cifar-10-batches-bin").exists());
}

#[test]
fn resumes_a_partial_download_with_a_range_request() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = cifar_archive(tmp.path());
    let half = archive.len() / 2;
    let spec = cifar_spec(&digest(&archive, tmp.path()));
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(cache.join("cifar10")).unwrap();
    std::fs::write(
        cache.join("cifar10/cifar-10-binary.tar.gz.part"),
        &archive[..half],
    )
    .unwrap();
    let (url, log) = serve(vec![("cifar-10-binary.tar.gz".into(), archive)]);
    let dir = ensure(&spec, &cache, Some(&url), false).unwrap();
    assert_eq!(*log.lock().unwrap(), vec![Some(format!("bytes={half}-"))]);
    assert_eq!(cifar::load(&dir).unwrap().train.len(), 30);
}

#[test]
fn a_corrupt_partial_download_is_retried_from_scratch() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = cifar_archive(tmp.path());
    let spec = cifar_spec(&digest(&archive, tmp.path()));
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(cache.join("cifar10")).unwrap();
    std::fs::write(
        cache.join("cifar10/cifar-10-binary.tar.gz.part"),
        [7u8; 100],
    )
    .unwrap();
    let (url, log) = serve(vec![("cifar-10-binary.tar.gz".into(), archive)]);
    ensure(&spec, &cache, Some(&url), false).unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        vec![Some("bytes=100-".to_string()), None]
    );
}

#[test]
fn offline_without_cache_says_what_to_place_where() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let spec = Spec::builtin(Builtin::Cifar10);
    let err = ensure(&spec, &cache, Some(OFFLINE), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot download cifar10: http://127.0.0.1:1/cifar-10-binary.tar.gz"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "place these files in {}/:\n  cifar-10-binary.tar.gz (md5 c32a1d4ab5d03f1284b67883add8ad77)",
            cache.join("cifar10").display()
        )),
        "{err}"
    );
    assert!(err.contains("cifar-10-batches-bin/"), "{err}");
}

#[test]
fn mnist_files_download_and_load_gzipped() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    synth::write_mnist(&src, 20, 5, 3, true).unwrap();
    let mut spec = Spec::builtin(Builtin::Mnist);
    let mut files = Vec::new();
    for r in &mut spec.resources {
        let bytes = std::fs::read(src.join(&r.file)).unwrap();
        r.md5 = md5_file(&src.join(&r.file)).unwrap();
        files.push((r.file.clone(), bytes));
    }
    let (url, log) = serve(files);
    let cache = tmp.path().join("cache");
    let dir = ensure(&spec, &cache, Some(&url), false).unwrap();
    assert_eq!(log.lock().unwrap().len(), 4);
    let (t, shape) = dlp::data::idx::read_pair(
        &dir.join("train-images-idx3-ubyte.gz"),
        &dir.join("train-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!((t.len(), shape.numel()), (20, 784));
}

#[test]
fn a_server_that_ignores_range_restarts_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = cifar_archive(tmp.path());
    let spec = cifar_spec(&digest(&archive, tmp.path()));
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(cache.join("cifar10")).unwrap();
    std::fs::write(
        cache.join("cifar10/cifar-10-binary.tar.gz.part"),
        &archive[..10],
    )
    .unwrap();
    let (url, log) = serve_with(vec![("cifar-10-binary.tar.gz".into(), archive)], false);
    let dir = ensure(&spec, &cache, Some(&url), false).unwrap();
    assert_eq!(*log.lock().unwrap(), vec![Some("bytes=10-".to_string())]);
    assert_eq!(cifar::load(&dir).unwrap().train.len(), 30);
}

#[test]
fn gunzipped_mnist_in_the_cache_is_used_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    synth::write_mnist(&cache.join("mnist"), 6, 2, 1, false).unwrap();
    let spec = Spec::builtin(Builtin::Mnist);
    let dir = ensure(&spec, &cache, Some(OFFLINE), false).unwrap();
    assert_eq!(
        dlp::data::download::locate(&dir, "t10k-labels-idx1-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte")
    );
}

/// While another process (here: this test) holds the dataset's cache lock,
/// `ensure` waits, then finds the dataset that process put there: no
/// request (the mirror is a closed port), no second download.
#[test]
fn a_download_in_progress_elsewhere_is_waited_for() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let folder = cache.join("cifar10");
    std::fs::create_dir_all(&folder).unwrap();
    let held = std::fs::File::create(folder.join(dlp::data::download::LOCK)).unwrap();
    held.lock().unwrap();
    let spec = cifar_spec("00000000000000000000000000000000");
    let waiter = {
        let cache = cache.clone();
        std::thread::spawn(move || ensure(&spec, &cache, Some(OFFLINE), false))
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!waiter.is_finished(), "ensure did not wait for the lock");
    synth::write_cifar10(&folder, 30, 10, 7).unwrap();
    drop(held);
    let dir = waiter.join().unwrap().unwrap();
    assert_eq!(dir, folder.join("cifar-10-batches-bin"));
}

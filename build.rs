//! Exports the version of candle-core this build links, read from
//! `Cargo.lock` (the resolved version, vendored or not), as
//! `DLP_CANDLE_VERSION`: `run.yaml` records it instead of a string kept by
//! hand next to the dependency.

use std::path::Path;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let lock = Path::new(&dir).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    println!("cargo:rerun-if-changed=build.rs");
    let text = match std::fs::read_to_string(&lock) {
        Ok(t) => t,
        Err(e) => fail(&format!("{}: {e}", lock.display())),
    };
    let versions = package_versions(&text, "candle-core");
    match versions.as_slice() {
        [v] => println!("cargo:rustc-env=DLP_CANDLE_VERSION={v}"),
        [] => fail(&format!("{}: no candle-core package", lock.display())),
        many => fail(&format!(
            "{}: candle-core is locked at several versions ({}); run.yaml can record one",
            lock.display(),
            many.join(", ")
        )),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}

/// The `version` of every `[[package]]` named `name` in a Cargo.lock.
fn package_versions(lock: &str, name: &str) -> Vec<String> {
    lock.split("[[package]]")
        .skip(1)
        .filter_map(|pkg| {
            let field = |key: &str| {
                pkg.lines().find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
                })
            };
            (field("name")? == name).then(|| field("version")).flatten()
        })
        .collect()
}

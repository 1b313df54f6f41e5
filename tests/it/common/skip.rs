//! Tests that need an external tool (a real MLflow server, TensorBoard's
//! reader, dvc): they fail when it is missing, unless the environment
//! variable `DLP_ALLOW_SKIP` names the tool (comma-separated:
//! `DLP_ALLOW_SKIP=mlflow,tensorboard,dvc`); then they pass with a note.

/// Whether the test may go on: `found` is `Err(why)` when `name` is
/// missing. Panics (the test fails) unless the skip was asked for.
pub fn require_tool(name: &str, found: Result<(), String>) -> bool {
    let Err(why) = found else {
        return true;
    };
    let allowed = std::env::var("DLP_ALLOW_SKIP").unwrap_or_default();
    if allowed.split(',').any(|n| n.trim() == name) {
        eprintln!("note: skipped: {name} is missing ({why}) and DLP_ALLOW_SKIP names it");
        false
    } else {
        panic!("{name} is missing: {why} (set DLP_ALLOW_SKIP={name} to skip this test)");
    }
}

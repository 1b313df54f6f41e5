//! Tests that need an external tool: a missing tool fails the test unless
//! the skip is asked for by name, `DLP_ALLOW_SKIP=name,other`.

/// Whether `DLP_ALLOW_SKIP` (comma-separated names) names `name`.
pub fn allowed(name: &str) -> bool {
    std::env::var("DLP_ALLOW_SKIP").is_ok_and(|v| v.split(',').any(|n| n.trim() == name))
}

/// For a test whose tool `name` is missing (`why` says what and how to get
/// it): returns when `DLP_ALLOW_SKIP` names it, after a note on stderr
/// (the caller then returns), and fails the test otherwise.
pub fn missing(name: &str, why: &str) {
    if allowed(name) {
        eprintln!("note: skipped ({name} in DLP_ALLOW_SKIP): {why}");
        return;
    }
    panic!("{why}\n(set DLP_ALLOW_SKIP={name} to skip this test on purpose)");
}

//! Inputs that used to give a wrong answer silently, or to end a process
//! that should go on: each is now refused (or answered) with a message
//! naming what is wrong, asserted word for word.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Stdio;

fn s(p: impl AsRef<Path>) -> String {
    p.as_ref().to_string_lossy().into_owned()
}

const CSV_PIPELINE: &str = "data {\n  source csv \"data.csv\" label=y\n  split train=4 test=2 shuffle=false\n}\n\
     model { dense 2 activation=softmax }\ntrain {\n  loss cross_entropy\n  epochs 2\n}\n";

/// Two columns of one name: the model would train on both under one name
/// and `dlp predict` would feed the first twice. Refused at load, by
/// `dlp check` and `dlp run` alike, naming the file and both columns.
#[test]
fn a_csv_with_two_columns_of_one_name_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let csv = write(
        d,
        "data.csv",
        "x,z,x,y\n0,1,0,a\n0,1,1,a\n5,1,5,b\n5,1,6,b\n0,1,0,a\n5,1,5,b\n",
    );
    let p = write(d, "p.dlp", CSV_PIPELINE);
    let want = format!(
        "error: cannot read the source: {}: columns 1 and 3 are both named \"x\"; \
         column names must differ\n --> {}:2:3\n",
        csv.display(),
        p.display()
    );
    for args in [
        vec!["check".to_string(), s(&p)],
        vec![
            "run".into(),
            s(&p),
            "--quiet".into(),
            "--out".into(),
            s(d.join("run")),
        ],
    ] {
        let o = dlp().args(&args).current_dir(d).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with(&want), "{args:?}: {}", stderr(&o));
    }
    assert!(!d.join("run").exists(), "nothing is written");
}

/// The same in a file given to `dlp predict`: that file is refused (the
/// others are predicted), naming it and both columns.
#[test]
fn predict_refuses_a_csv_with_two_columns_of_one_name() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "data.csv",
        "x1,x2,y\n0,0,a\n0,1,a\n5,5,b\n5,6,b\n0,0.5,a\n5,5.5,b\n",
    );
    let p = write(d, "p.dlp", CSV_PIPELINE);
    let o = run_quiet(&p, &d.join("run"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let twice = write(d, "twice.csv", "x1,x2,x1\n5,5,0\n");
    let good = write(d, "good.csv", "x1,x2\n5,5\n");
    let o = run(&["predict", &s(d.join("run")), &s(&twice), &s(&good)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: columns 1 and 3 are both named \"x1\"; column names must differ\n\
             error: 1 input could not be predicted (1 were)\n",
            twice.display()
        )
    );
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("{}:2,", good.display()))
    );
}

/// `augment { crop 8 padding=4000000000 }`: a bound, not an allocation of
/// the padded image (or a crop that is all padding).
#[test]
fn crop_padding_beyond_the_crop_size_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    colour_folder(&d.join("imgs"), 2, 1);
    let text = "data {\n  source images \"imgs/\"\n  split train=1.0 test=official\n}\n\
         augment { crop 8 padding=4000000000 }\n\
         model {\n  flatten\n  dense 3 activation=softmax\n}\ntrain {\n  loss cross_entropy\n  epochs 1\n}\n";
    let p = write(d, "p.dlp", text);
    let o = run(&["check", &s(&p)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "error: crop padding must be ≤ the crop size (8), got 4000000000\n --> {}:5:26\n",
            p.display()
        )),
        "{err}"
    );
    // At the bound it is accepted.
    let p = write(d, "p.dlp", &text.replace("4000000000", "8"));
    let o = run(&["check", &s(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A seed beyond 64 bits in a file is a range error headed by what is
/// wrong, as `--set` says it, not "invalid syntax".
#[test]
fn a_seed_beyond_64_bits_says_so_in_a_file_as_with_set() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = write(
        d,
        "p.dlp",
        &small_blobs("").replace("seed 7", "seed 9223372036854775808"),
    );
    let o = run(&["check", &s(&p)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "error: integer 9223372036854775808 is too large\n --> {}:1:6\n",
            p.display()
        )),
        "{err}"
    );
    assert!(!err.contains("invalid syntax"), "{err}");
    let p = write(d, "q.dlp", &small_blobs(""));
    let o = run(&["check", &s(&p), "--set", "seed=9223372036854775808"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "error: --set seed=9223372036854775808: integer 9223372036854775808 is too large\n"
    );
}

/// The test hooks are live in release builds and inherited by the
/// processes a run starts: armed, each says so on stderr, and a value it
/// does not understand is ignored with a warning.
#[test]
fn an_armed_test_hook_says_so_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = write(
        d,
        "p.dlp",
        &small_blobs("").replace("epochs 12", "epochs 1"),
    );
    for (var, value, want) in [
        (
            "DLP_FAULT",
            "kill:never-written.csv:1",
            "warning: DLP_FAULT=kill:never-written.csv:1 is set: a test hook that kills \
             this process during write 1 of never-written.csv\n",
        ),
        (
            "DLP_FAULT",
            "nonsense",
            "warning: DLP_FAULT=nonsense is set but not understood (kill:FILE:N), so it \
             is ignored\n",
        ),
        (
            "DLP_INTERRUPT_AFTER_STEPS",
            "soon",
            "warning: DLP_INTERRUPT_AFTER_STEPS=soon is set but is not a number of steps, \
             so it is ignored\n",
        ),
    ] {
        let out = d.join(format!("run-{}", value.len()));
        let o = dlp()
            .args(["run", &s(&p), "--quiet", "--out", &s(&out)])
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{var}={value}: {}", stderr(&o));
        assert_eq!(stderr(&o), want, "{var}={value}");
    }
}

// --- The language server and malformed messages ---------------------------

/// Writes one LSP frame.
fn frame(w: &mut impl Write, body: &[u8]) {
    write!(w, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
    w.write_all(body).unwrap();
    w.flush().unwrap();
}

/// Reads one LSP frame's JSON.
fn read_frame(r: &mut impl BufRead) -> serde_json::Value {
    let mut length = None;
    loop {
        let mut line = String::new();
        assert!(
            r.read_line(&mut line).unwrap() > 0,
            "dlp lsp closed its output"
        );
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = Some(n.parse::<usize>().unwrap());
        }
    }
    let mut body = vec![0; length.expect("a Content-Length")];
    r.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// The next response (notifications in between are skipped).
fn response(r: &mut impl BufRead) -> serde_json::Value {
    loop {
        let m = read_frame(r);
        if m.get("method").is_none() {
            return m;
        }
    }
}

/// JSON-RPC asks a server to answer a message it cannot parse with a parse
/// error (-32700, id null) and JSON that is no message with an invalid
/// request (-32600), and to go on: `dlp lsp` does, and the document it
/// holds is unchanged (hover still answers from it), before a clean
/// shutdown.
#[test]
fn the_language_server_answers_malformed_messages_and_goes_on() {
    let mut child = dlp()
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = child.stdin.take().unwrap();
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let msg = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();
    frame(
        &mut w,
        &msg(
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        ),
    );
    assert!(response(&mut r)["result"]["capabilities"].is_object());
    frame(
        &mut w,
        &msg(serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}})),
    );
    let uri = "file:///tmp/p.dlp";
    frame(
        &mut w,
        &msg(
            serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "dlp", "version": 1, "text": small_blobs("")}}}),
        ),
    );
    let hover = |id: i64| {
        msg(
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/hover", "params": {
            "textDocument": {"uri": uri}, "position": {"line": 7, "character": 3}}}),
        )
    };
    frame(&mut w, &hover(2));
    let before = response(&mut r);
    assert_eq!(before["id"], 2);
    assert!(!before["result"].is_null(), "{before}");

    // Not JSON; a header that is no header; JSON that is no message.
    frame(&mut w, b"{not json");
    let e = response(&mut r);
    assert_eq!(
        (&e["id"], &e["error"]["code"]),
        (&serde_json::Value::Null, &serde_json::json!(-32700)),
        "{e}"
    );
    w.write_all(b"garbage\r\n\r\n").unwrap();
    let e = response(&mut r);
    assert_eq!(e["error"]["code"], -32700, "{e}");
    assert_eq!(
        e["error"]["message"],
        "parse error: \"garbage\" is not a header line"
    );
    frame(&mut w, br#"{"jsonrpc": "2.0", "id": 9, "params": []}"#);
    let e = response(&mut r);
    assert_eq!(
        (&e["id"], &e["error"]["code"]),
        (&serde_json::json!(9), &serde_json::json!(-32600)),
        "{e}"
    );

    // Still serving, the document as it was.
    frame(&mut w, &hover(3));
    let after = response(&mut r);
    assert_eq!(after["id"], 3);
    assert_eq!(after["result"], before["result"]);
    frame(
        &mut w,
        &msg(serde_json::json!({"jsonrpc": "2.0", "id": 4, "method": "shutdown"})),
    );
    assert_eq!(response(&mut r)["id"], 4);
    frame(
        &mut w,
        &msg(serde_json::json!({"jsonrpc": "2.0", "method": "exit"})),
    );
    drop(w);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
}

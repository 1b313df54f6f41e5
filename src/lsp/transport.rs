//! The language server's stdio transport: `lsp-server`'s, except that a
//! malformed message does not end the server. `lsp-server`'s reader thread
//! stops at the first message that is not JSON (and the server with it);
//! JSON-RPC asks for an error response instead, and to go on serving:
//!
//! - a frame whose header cannot be read, or whose body is not JSON, is
//!   answered with a parse error (-32700) with `id: null`;
//! - JSON that is not a request, response or notification is answered with
//!   an invalid request (-32600), with its `id` when it has one it names.
//!
//! Either way the next frame is read as usual, and no document changes.

use crossbeam_channel::{Receiver, Sender, bounded};
use lsp_server::{Connection, Message};
use std::io::{self, BufRead, Read, Write};
use std::thread::JoinHandle;

/// JSON-RPC's "Parse error": the message is not JSON.
pub(crate) const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's "Invalid Request": JSON, but not a message.
pub(crate) const INVALID_REQUEST: i32 = -32600;

/// The longest body read into memory (a pipeline is a few kilobytes): a
/// longer one is read past and answered with a parse error.
const MAX_BODY: usize = 64 << 20;

/// One frame of the stream, as read.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame {
    /// A message's JSON text.
    Body(Vec<u8>),
    /// A frame that cannot be used, and why; the stream goes on after it.
    Bad(String),
}

/// The two I/O threads; [`Threads::join`] after the connection is dropped.
pub(crate) struct Threads {
    reader: JoinHandle<io::Result<()>>,
    writer: JoinHandle<io::Result<()>>,
}

impl Threads {
    pub(crate) fn join(self) -> io::Result<()> {
        let reader = self
            .reader
            .join()
            .map_err(|_| io::Error::other("the LSP reader thread panicked"))?;
        let writer = self
            .writer
            .join()
            .map_err(|_| io::Error::other("the LSP writer thread panicked"))?;
        reader.and(writer)
    }
}

/// A connection over standard input and output.
pub(crate) fn stdio() -> (Connection, Threads) {
    let (to_server, from_client) = bounded::<Message>(0);
    let (to_client, outgoing) = bounded::<Outgoing>(0);
    let errors = to_client.clone();
    let (server_out, from_server) = bounded::<Message>(0);
    // The server's messages join the transport's own error answers.
    let forward = std::thread::spawn(move || {
        for m in from_server {
            if to_client.send(Outgoing::Message(m)).is_err() {
                break;
            }
        }
    });
    let writer = std::thread::spawn(move || {
        let mut stdout = io::stdout().lock();
        let written = write_all(&mut stdout, outgoing);
        let _ = forward.join();
        written
    });
    let reader = std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        read_all(&mut stdin, &to_server, &errors)
    });
    (
        Connection {
            sender: server_out,
            receiver: from_client,
        },
        Threads { reader, writer },
    )
}

/// What the writer thread writes: the server's messages, and the
/// transport's answers to what could not be read (whose `id` may be null,
/// which `lsp_server::Response` cannot hold).
pub(crate) enum Outgoing {
    Message(Message),
    Error {
        id: serde_json::Value,
        code: i32,
        message: String,
    },
}

fn write_all(w: &mut impl Write, outgoing: Receiver<Outgoing>) -> io::Result<()> {
    for o in outgoing {
        match o {
            Outgoing::Message(m) => m.write(w)?,
            Outgoing::Error { id, code, message } => {
                let text = serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": {"code": code, "message": message},
                })
                .to_string();
                write!(w, "Content-Length: {}\r\n\r\n{text}", text.len())?;
                w.flush()?;
            }
        }
    }
    Ok(())
}

/// Reads frames until end of input or the `exit` notification, handing
/// messages to the server and answering the rest on `errors`.
pub(crate) fn read_all(
    r: &mut impl BufRead,
    to_server: &Sender<Message>,
    errors: &Sender<Outgoing>,
) -> io::Result<()> {
    let gone = |_| io::Error::other("the server stopped reading");
    while let Some(frame) = read_frame(r)? {
        match classify(frame) {
            Ok(msg) => {
                let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                to_server.send(msg).map_err(gone)?;
                if exit {
                    break;
                }
            }
            Err(e) => errors.send(e).map_err(|_| io::Error::other("closed"))?,
        }
    }
    Ok(())
}

/// A frame as a message for the server, or the error answering it.
pub(crate) fn classify(frame: Frame) -> Result<Message, Outgoing> {
    let parse_error = |message: String| Outgoing::Error {
        id: serde_json::Value::Null,
        code: PARSE_ERROR,
        message,
    };
    let body = match frame {
        Frame::Body(b) => b,
        Frame::Bad(why) => return Err(parse_error(why)),
    };
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| parse_error(format!("parse error: the message is not JSON ({e})")))?;
    let id = match value.get("id") {
        Some(id @ (serde_json::Value::Number(_) | serde_json::Value::String(_))) => id.clone(),
        _ => serde_json::Value::Null,
    };
    serde_json::from_value::<Message>(value).map_err(|e| Outgoing::Error {
        id,
        code: INVALID_REQUEST,
        message: format!("invalid request: not a JSON-RPC request, response or notification ({e})"),
    })
}

/// The next frame: a header block (`Content-Length: N`, other headers
/// ignored, a blank line) and N bytes; `None` at the end of input.
pub(crate) fn read_frame(r: &mut impl BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut bad: Option<String> = None;
    let mut line = String::new();
    let mut seen = false;
    loop {
        line.clear();
        // Bytes, not UTF-8: a header that is not text is a bad header.
        let mut raw = Vec::new();
        if r.read_until(b'\n', &mut raw)? == 0 {
            return Ok(if seen {
                Some(Frame::Bad(
                    "parse error: the input ended inside a header".into(),
                ))
            } else {
                None
            });
        }
        seen = true;
        line.push_str(&String::from_utf8_lossy(&raw));
        let text = line.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("Content-Length") => {
                length = Some(value.trim().parse::<usize>().map_err(|_| {
                    format!(
                        "parse error: Content-Length {:?} is not a length",
                        value.trim()
                    )
                }));
            }
            Some(_) => {}
            None => {
                bad.get_or_insert_with(|| {
                    format!("parse error: {:?} is not a header line", truncate(text))
                });
            }
        }
    }
    if let Some(why) = bad {
        return Ok(Some(Frame::Bad(why)));
    }
    let n = match length {
        None => {
            return Ok(Some(Frame::Bad(
                "parse error: no Content-Length header".into(),
            )));
        }
        Some(Err(why)) => return Ok(Some(Frame::Bad(why))),
        Some(Ok(n)) => n,
    };
    if n > MAX_BODY {
        io::copy(&mut r.take(n as u64), &mut io::sink())?;
        return Ok(Some(Frame::Bad(format!(
            "parse error: a body of {n} bytes is over the limit of {MAX_BODY}"
        ))));
    }
    let mut body = vec![0; n];
    r.read_exact(&mut body)?;
    Ok(Some(Frame::Body(body)))
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut r = io::Cursor::new(input);
        std::iter::from_fn(|| read_frame(&mut r).unwrap()).collect()
    }

    #[test]
    fn bad_frames_are_reported_and_the_stream_goes_on() {
        let input = b"Content-Length: 9\r\n\r\n{not jsonContent-Length: x\r\n\r\n\
                      garbage\r\n\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(
            frames(input),
            [
                Frame::Body(b"{not json".to_vec()),
                Frame::Bad("parse error: Content-Length \"x\" is not a length".into()),
                Frame::Bad("parse error: \"garbage\" is not a header line".into()),
                Frame::Body(b"{}".to_vec()),
            ]
        );
    }

    #[test]
    fn malformed_json_is_a_parse_error_and_a_non_message_an_invalid_request() {
        let code = |f: Frame| match classify(f) {
            Err(Outgoing::Error { id, code, .. }) => (id, code),
            _ => panic!("accepted"),
        };
        assert_eq!(
            code(Frame::Body(b"{not json".to_vec())),
            (serde_json::Value::Null, PARSE_ERROR)
        );
        assert_eq!(
            code(Frame::Body(br#"{"id": 4, "params": 1}"#.to_vec())),
            (serde_json::json!(4), INVALID_REQUEST)
        );
        assert!(classify(Frame::Body(br#"{"method": "exit"}"#.to_vec())).is_ok());
    }
}

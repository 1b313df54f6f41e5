//! The terminal: standard output that ends quietly on a closed pipe
//! ([`out`]), standard error ([`errln!`]), the progress bars and epoch
//! lines of training ([`progress`]), and the log and Chrome-trace layers
//! ([`trace`]).
//!
//! Text from the user's files (paths, class names, CSV cells, pipeline
//! lines) reaches the terminal inside messages, so a control character in
//! it would be obeyed by the terminal (an escape sequence that recolours,
//! rewrites the line or retitles the window): [`printable`] shows such
//! characters as escapes instead, on standard error always and on standard
//! output when it is a terminal (piped, the bytes stay exact).

pub(crate) mod progress;
pub mod trace;

pub(crate) use progress::Progress;

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::io::{IsTerminal, Write};

/// `text` with every character a terminal would act on written as a
/// Rust-style escape (`\u{1b}`): C0 and C1 controls but line feeds, tabs
/// and the carriage return of a CRLF, DEL, and the bidirectional
/// overrides and isolates that reorder what is shown (CVE-2021-42574).
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    let acts = |(i, c): (usize, char)| match c {
        '\n' | '\t' => false,
        '\r' => !text[i + 1..].starts_with('\n'),
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    };
    if !text.char_indices().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.char_indices() {
        if acts((i, c)) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `text` to standard error, through [`printable`]. Standard error
/// is for people, so its text is never data to keep byte for byte.
pub(crate) fn write_err(text: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(printable(text).as_bytes());
}

/// `eprint!` through [`printable`].
macro_rules! err {
    ($($t:tt)*) => {
        $crate::terminal::write_err(&format!($($t)*))
    };
}

/// `eprintln!` through [`printable`].
macro_rules! errln {
    ($($t:tt)*) => {
        $crate::terminal::write_err(&format!("{}\n", format_args!($($t)*)))
    };
}

pub(crate) use {err, errln};

/// Writes `text` to standard output (through [`printable`] when standard
/// output is a terminal). A closed pipe (`dlp plan … | head`) becomes
/// [`Error::Stdout`], which ends the command quietly.
pub(crate) fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    let text = if stdout.is_terminal() {
        printable(text)
    } else {
        Cow::Borrowed(text)
    };
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn what_a_terminal_would_obey_is_shown_escaped() {
        assert_eq!(printable("plain\ttext\nnext\r\n"), "plain\ttext\nnext\r\n");
        assert_eq!(printable("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(printable("over\rwrite"), "over\\u{d}write");
        assert_eq!(
            printable("bell\u{7}\u{7f}\u{9b}"),
            "bell\\u{7}\\u{7f}\\u{9b}"
        );
        assert_eq!(printable("cat\u{202e}gpj.exe"), "cat\\u{202e}gpj.exe");
        assert_eq!(printable("été 猫"), "été 猫");
    }
}

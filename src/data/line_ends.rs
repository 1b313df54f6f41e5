//! CSV text with its CRLF line ends read as LF.
//!
//! The csv reader dates a record from where the previous one stopped, and
//! with CRLF ends that is before the `\n`: every line number it gives
//! (errors, `dlp predict`'s row names) would be one too low. Reading the
//! file through [`Lf`] makes a CRLF file's lines count as an LF file's.
//! A lone `\r` (not before `\n`) is kept.

use std::io::{self, Read};

/// A reader that drops each `\r` that comes right before a `\n`.
pub(crate) struct Lf<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// A `\r` read but not yet passed on: the next byte decides.
    held_cr: bool,
    eof: bool,
}

impl<R: Read> Lf<R> {
    pub(crate) fn new(inner: R) -> Lf<R> {
        Lf {
            inner,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            held_cr: false,
            eof: false,
        }
    }
}

/// Opens `path` for the csv reader, CRLF read as LF.
pub(crate) fn open(path: &std::path::Path) -> io::Result<Lf<std::fs::File>> {
    std::fs::File::open(path).map(Lf::new)
}

impl<R: Read> Read for Lf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut w = 0;
        while w < out.len() {
            if self.pos == self.len {
                if self.eof || w > 0 {
                    break;
                }
                self.len = self.inner.read(&mut self.buf)?;
                self.pos = 0;
                if self.len == 0 {
                    self.eof = true;
                    if self.held_cr {
                        self.held_cr = false;
                        out[w] = b'\r';
                        w += 1;
                    }
                    break;
                }
                continue;
            }
            let b = self.buf[self.pos];
            self.pos += 1;
            if self.held_cr {
                self.held_cr = false;
                if b != b'\n' {
                    out[w] = b'\r';
                    w += 1;
                    if w == out.len() {
                        self.pos -= 1;
                        break;
                    }
                }
            }
            if b == b'\r' {
                self.held_cr = true;
                continue;
            }
            out[w] = b;
            w += 1;
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads through [`Lf`] with reads of `chunk` bytes at a time.
    fn through(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut r = Lf::new(input);
        r.buf = vec![0; 3].into_boxed_slice();
        let mut out = Vec::new();
        let mut piece = vec![0; chunk];
        loop {
            let n = r.read(&mut piece).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&piece[..n]);
        }
    }

    #[test]
    fn crlf_becomes_lf_and_lone_cr_stays() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"a,b\r\n1,2\r\n", b"a,b\n1,2\n"),
            (b"a,b\n1,2\n", b"a,b\n1,2\n"),
            (b"a\rb\r\n", b"a\rb\n"),
            (b"x\r", b"x\r"),
            (b"\r\r\n\r", b"\r\n\r"),
            (b"", b""),
        ];
        for chunk in 1..6 {
            for (input, want) in cases {
                assert_eq!(through(input, chunk), want, "{input:?} by {chunk}");
            }
        }
    }
}

//! Byte offsets ⇄ protocol positions (line, UTF-16 code unit).

use crate::syntax::Span;
use lsp_types::{Position, Range};

pub(crate) struct LineIndex {
    /// Byte offset of each line's start.
    starts: Vec<usize>,
    text: String,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            text: text.to_string(),
        }
    }

    /// The position of byte `at` (clamped to the text).
    pub(crate) fn position(&self, at: usize) -> Position {
        let at = at.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= at) - 1;
        let start = self.starts[line];
        let col: usize = self
            .text
            .get(start..at)
            .unwrap_or("")
            .chars()
            .map(char::len_utf16)
            .sum();
        Position::new(line as u32, col as u32)
    }

    pub(crate) fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The byte offset of a position; past the end of a line is its end,
    /// past the last line is the end of the text.
    pub(crate) fn offset(&self, p: Position) -> usize {
        let Some(&start) = self.starts.get(p.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(p.line as usize + 1)
            .map_or(self.text.len(), |&e| e);
        let line = &self.text[start..end];
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= p.character as usize || c == '\n' || c == '\r' {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        let text = "a é𝄞b\r\nx\n";
        let ix = LineIndex::new(text);
        // 'b' is after a, space, é (1 unit), 𝄞 (2 units).
        let b = text.find('b').unwrap_or(0);
        assert_eq!(ix.position(b), Position::new(0, 5));
        assert_eq!(ix.offset(Position::new(0, 5)), b);
        assert_eq!(ix.offset(Position::new(0, 99)), b + 1);
        assert_eq!(
            ix.position(text.find('x').unwrap_or(0)),
            Position::new(1, 0)
        );
        assert_eq!(ix.offset(Position::new(9, 0)), text.len());
        assert_eq!(ix.position(text.len()), Position::new(2, 0));
    }
}

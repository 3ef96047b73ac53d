//! Places in the files a graph was made from (BuildKit's `pb.SourceInfo`
//! and `pb.Range`), so errors and warnings can show the line they are
//! about, as the Dockerfile frontend does.

use std::ops::Range;
use std::sync::Arc;

use crate::proto::pb;

/// A place in a text: 1-based line, 0-based character within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// A stretch of a text, both ends included in what is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceRange {
    pub start: Position,
    pub end: Position,
}

impl SourceRange {
    /// The stretch `span` (byte offsets, clamped) of `text`.
    pub fn of_span(text: &str, span: Range<usize>) -> SourceRange {
        let position = |offset: usize| {
            let mut at = offset.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            Position {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                character: u32::try_from(before[line_start..].chars().count()).unwrap_or(u32::MAX),
            }
        };
        SourceRange {
            start: position(span.start),
            end: position(span.end.max(span.start)),
        }
    }

    /// The whole of line `line` (1-based).
    pub fn line(line: u32) -> SourceRange {
        let at = Position { line, character: 0 };
        SourceRange { start: at, end: at }
    }

    pub fn to_pb(self) -> pb::Range {
        let position = |p: Position| pb::Position {
            line: i32::try_from(p.line).unwrap_or(i32::MAX),
            character: i32::try_from(p.character).unwrap_or(i32::MAX),
        };
        pb::Range {
            start: Some(position(self.start)),
            end: Some(position(self.end)),
        }
    }
}

/// A file a build was described in, for showing excerpts of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub filename: String,
    /// `Dockerfile` for files BuildKit should present as one.
    pub language: String,
    pub data: Vec<u8>,
}

impl SourceFile {
    pub fn to_pb(&self) -> pb::SourceInfo {
        pb::SourceInfo {
            filename: self.filename.clone(),
            data: self.data.clone(),
            definition: None,
            language: self.language.clone(),
        }
    }
}

/// Where in one source file an op comes from: BuildKit shows these lines
/// when the op fails, and provenance records them (`pb.Location`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLocation {
    pub file: Arc<SourceFile>,
    pub ranges: Vec<SourceRange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_become_lines_and_characters() {
        let text = "# syntax=x\n[tailscale]\nversion = \"vé\"\n";
        let start = text.find("version").unwrap_or(0);
        let r = SourceRange::of_span(text, start..text.len() - 1);
        assert_eq!(
            r.start,
            Position {
                line: 3,
                character: 0
            }
        );
        assert_eq!(
            r.end,
            Position {
                line: 3,
                character: 14
            }
        );
        let past = SourceRange::of_span(text, 1000..2000);
        assert_eq!(past.start.line, 4);
        let pb = SourceRange::line(2).to_pb();
        assert_eq!(pb.start.map(|p| p.line), Some(2));
    }
}

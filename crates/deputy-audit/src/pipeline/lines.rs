//! Reading input lines of bounded length: a line longer than [`MAX_LINE_BYTES`] is consumed
//! and reported, never held in memory (a hostile or broken exporter cannot make the reader
//! allocate without limit).

use std::io::{self, BufRead};
/// The longest input line kept (an OTLP/JSON export of a large batch fits many times over);
/// a longer one is skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// How a line was read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum LineRead {
    /// Whole, in the buffer.
    Kept,
    /// Too long: consumed, not kept.
    TooLong,
}

/// Reads one line into `buffer` (newline included), keeping at most [`MAX_LINE_BYTES`]: the
/// rest of a longer line is consumed and dropped. `None` at the end of the input.
pub(super) fn read_bounded_line(
    reader: &mut impl BufRead,
    buffer: &mut Vec<u8>,
) -> io::Result<Option<LineRead>> {
    let mut seen = false;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(seen.then_some(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Kept
            }));
        }
        seen = true;
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (&available[..=at], true),
            None => (available, false),
        };
        let used = chunk.len();
        if !too_long {
            if buffer.len() + used > MAX_LINE_BYTES {
                too_long = true;
                buffer.clear();
            } else {
                buffer.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        if done {
            return Ok(Some(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Kept
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{JsonLinesSink, Pipeline, run_lines};

    #[test]
    fn an_oversized_line_is_skipped_without_being_kept_and_the_next_is_read() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\nnext\nlast");
        let mut reader = io::BufReader::with_capacity(64 * 1024, &input[..]);
        let mut buffer = Vec::new();
        assert_eq!(
            read_bounded_line(&mut reader, &mut buffer).ok(),
            Some(Some(LineRead::TooLong))
        );
        assert!(
            buffer.capacity() <= MAX_LINE_BYTES + 64 * 1024,
            "{}",
            buffer.capacity()
        );
        buffer.clear();
        assert_eq!(
            read_bounded_line(&mut reader, &mut buffer).ok(),
            Some(Some(LineRead::Kept))
        );
        assert_eq!(buffer, b"next\n");
        buffer.clear();
        assert_eq!(
            read_bounded_line(&mut reader, &mut buffer).ok(),
            Some(Some(LineRead::Kept))
        );
        assert_eq!(buffer, b"last");
        buffer.clear();
        assert_eq!(read_bounded_line(&mut reader, &mut buffer).ok(), Some(None));
    }

    #[test]
    fn run_lines_reports_the_oversized_line_and_reads_on() {
        let mut input = vec![b' '; MAX_LINE_BYTES + 1];
        input.extend_from_slice(b"\nnot json\n");
        let mut sink = JsonLinesSink::new(Vec::new(), Vec::new());
        let mut pipeline = Pipeline::default();
        assert!(run_lines(&mut pipeline, &input[..], &mut sink).is_ok());
        assert_eq!(pipeline.stats.lines, 2);
        assert_eq!(pipeline.stats.errors, 2, "the long line, then the bad one");
    }
}

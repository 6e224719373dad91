//! Newline framing with a bounded line length.

use core::fmt;

/// Default longest line accepted from a device: 16 KiB, far above any request firmware sends
/// (a submit is under 200 bytes).
pub const DEFAULT_MAX_LINE: usize = 16 * 1024;

/// A line longer than the decoder's maximum. Sticky: the stream cannot be resynchronised
/// safely, so the connection should close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    /// The maximum that was exceeded.
    pub max: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line longer than {} bytes", self.max)
    }
}

impl std::error::Error for LineTooLong {}

/// Splits a byte stream into lines (`\n`, with an optional `\r` before it), in any chunking.
/// Empty lines are skipped. A line over the maximum is refused as soon as its first
/// `max + 1` bytes are seen: the rest of it is never copied.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    buf: Vec<u8>,
    /// Start of the first line not yet returned.
    start: usize,
    /// Where in `buf` scanning for a newline resumes.
    scanned: usize,
    /// Start of the partial (not yet newline-terminated) line at the end of `buf`.
    partial_start: usize,
    max_line: usize,
    /// Set once a line exceeded the maximum: bytes up to it are still returned as lines.
    overflow: bool,
}

impl Default for LineDecoder {
    fn default() -> Self {
        LineDecoder::new(DEFAULT_MAX_LINE)
    }
}

impl LineDecoder {
    /// A decoder refusing lines longer than `max_line` bytes (not counting the line end).
    pub fn new(max_line: usize) -> Self {
        LineDecoder { buf: Vec::new(), start: 0, scanned: 0, partial_start: 0, max_line, overflow: false }
    }

    /// The maximum line length.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Bytes held: complete lines not yet taken and the partial line.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Adds bytes from the peer. Fails (and keeps failing) once a line exceeds the maximum;
    /// lines completed before it are still returned by [`Self::next_line`] first.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), LineTooLong> {
        if self.overflow {
            return Err(LineTooLong { max: self.max_line });
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.partial_start -= self.start;
            self.start = 0;
        }
        // Copy line by line, so that no segment longer than max + 1 (+1 for a '\r') is copied.
        let limit = self.max_line.saturating_add(1);
        while !bytes.is_empty() {
            let partial = self.buf.len() - self.partial_start;
            let (segment, complete) = match bytes.iter().position(|b| *b == b'\n') {
                Some(p) => (&bytes[..=p], true),
                None => (bytes, false),
            };
            let content = segment.len() - usize::from(complete);
            if partial + content > limit {
                self.buf.extend_from_slice(&segment[..limit.saturating_sub(partial).min(segment.len())]);
                self.overflow = true;
                return Err(LineTooLong { max: self.max_line });
            }
            self.buf.extend_from_slice(segment);
            if complete {
                self.partial_start = self.buf.len();
            }
            bytes = &bytes[segment.len()..];
        }
        Ok(())
    }

    /// The next complete line without its line end, or None when none is complete yet; after
    /// an overlong line, the error once the lines before it are taken.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, LineTooLong> {
        loop {
            let Some(rel) = self.buf[self.scanned..].iter().position(|b| *b == b'\n') else {
                self.scanned = self.buf.len();
                return if self.overflow { Err(LineTooLong { max: self.max_line }) } else { Ok(None) };
            };
            let end = self.scanned + rel;
            let begin = self.start;
            self.start = end + 1;
            self.scanned = self.start;
            let mut line = &self.buf[begin..end];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if line.len() > self.max_line {
                // Only a '\r'-less line of exactly max + 1 bytes gets here. Drop what follows
                // it, so that the error stays the last thing returned.
                self.overflow = true;
                self.buf.truncate(self.start);
                self.partial_start = self.start;
                return Err(LineTooLong { max: self.max_line });
            }
            if !line.is_empty() {
                let (b, e) = (begin, begin + line.len());
                return Ok(Some(&self.buf[b..e]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(d: &mut LineDecoder) -> (Vec<Vec<u8>>, Option<LineTooLong>) {
        let mut out = Vec::new();
        loop {
            match d.next_line() {
                Ok(Some(l)) => out.push(l.to_vec()),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn splits_in_any_chunking_and_strips_cr() {
        let stream = b"{\"a\":1}\r\n\n{\"b\":2}\n{\"c\"";
        for split in 0..stream.len() {
            let mut d = LineDecoder::new(16);
            d.push(&stream[..split]).unwrap();
            let (mut got, _) = lines(&mut d);
            d.push(&stream[split..]).unwrap();
            got.extend(lines(&mut d).0);
            assert_eq!(got, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()], "split {split}");
            assert_eq!(d.buffered(), 4);
        }
    }

    #[test]
    fn overlong_line_is_refused_without_buffering_it() {
        let mut d = LineDecoder::new(8);
        let mut input = b"12345678\n".to_vec();
        input.extend_from_slice(&[b'x'; 1 << 20]);
        assert_eq!(d.push(&input), Err(LineTooLong { max: 8 }));
        assert!(d.buffered() <= 8 + 1 + 9, "{}", d.buffered());
        assert_eq!(d.next_line(), Ok(Some(&b"12345678"[..])));
        assert_eq!(d.next_line(), Err(LineTooLong { max: 8 }));
        assert_eq!(d.push(b"\n"), Err(LineTooLong { max: 8 }));
        // Byte by byte: same verdict, same bound.
        let mut d = LineDecoder::new(8);
        let mut failed = false;
        for b in &input {
            if d.push(&[*b]).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed && d.buffered() <= 8 + 1 + 9);
    }

    #[test]
    fn a_line_of_exactly_the_maximum_passes() {
        let mut d = LineDecoder::new(4);
        d.push(b"abcd\r\nabcde\nok\n").unwrap();
        assert_eq!(d.next_line(), Ok(Some(&b"abcd"[..])));
        assert!(d.next_line().is_err());
        assert!(d.next_line().is_err(), "sticky: the line after it is not returned");
    }
}

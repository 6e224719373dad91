//! Stratum V1 from a device or a server: arbitrary bytes through the line decoder, whole and
//! in input-chosen chunks, then every line through both parsers. Never panics; the same lines
//! and the same error however the bytes are split; no line over the maximum; whatever parses
//! re-encodes to one line that parses back to the same message.
//!
//! Input: `config` (bit 0: small `max_line` = `limit × 4`), `limit`, chunking seed, stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv2::sv1::client::ClientMessage;
use sv2::sv1::framing::{LineDecoder, LineTooLong};
use sv2::sv1::server::ServerMessage;
use sv2_fuzz::{bound_allocations, seed_corpus_dir, Chunks, Input};

fn decoder(config: u8, limit: u8) -> LineDecoder {
    if config & 1 == 1 {
        LineDecoder::new(usize::from(limit) * 4)
    } else {
        LineDecoder::default()
    }
}

/// Takes every complete line; the error, if the decoder has failed.
fn drain(d: &mut LineDecoder, lines: &mut Vec<Vec<u8>>) -> Result<(), LineTooLong> {
    while let Some(line) = d.next_line()? {
        lines.push(line.to_vec());
    }
    Ok(())
}

fn check_line(line: &[u8]) {
    if let Ok(m) = ClientMessage::parse(line) {
        let mut out = Vec::new();
        m.write_line(&mut out);
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(ClientMessage::parse(&out[..out.len() - 1]).as_ref(), Ok(&m), "{}", String::from_utf8_lossy(&out));
    }
    if let Ok(m) = ServerMessage::parse(line) {
        let mut out = Vec::new();
        m.write_line(&mut out);
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(ServerMessage::parse(&out[..out.len() - 1]).as_ref(), Ok(&m), "{}", String::from_utf8_lossy(&out));
    }
}

fuzz_target!(init: seed_corpus_dir("sv1_lines"), |data: &[u8]| {
    bound_allocations(data.len());
    let mut input = Input::new(data);
    let (config, limit, seed) = (input.u8(), input.u8(), input.u8());
    let stream = input.rest();

    let mut whole = decoder(config, limit);
    let pushed = whole.push(stream);
    let mut lines_whole = Vec::new();
    let end_whole = drain(&mut whole, &mut lines_whole).and(pushed);

    let mut chunked = decoder(config, limit);
    let mut lines_chunked = Vec::new();
    let mut end_chunked = Ok(());
    for chunk in Chunks::new(stream, seed) {
        let pushed = chunked.push(chunk);
        end_chunked = drain(&mut chunked, &mut lines_chunked).and(pushed);
        if end_chunked.is_err() {
            break;
        }
    }
    assert_eq!(lines_whole, lines_chunked);
    assert_eq!(end_whole, end_chunked);
    let max = whole.max_line();
    assert!(lines_whole.iter().all(|l| !l.is_empty() && l.len() <= max));
    if end_whole.is_ok() {
        // Only the unterminated tail is held.
        assert!(whole.buffered() <= max + 1);
    } else {
        assert!(whole.next_line().is_err(), "the error is sticky");
    }
    for line in &lines_whole {
        check_line(line);
    }
});

//! The streaming frame decoder fed arbitrary bytes in arbitrary chunkings: never panics,
//! allocates only in proportion to what it was given, and returns exactly the same frames and
//! the same error however the bytes are split.
//!
//! Input: `config` (bit 0: small `max_payload` = `limit × 8`), `limit`, chunking seed, stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv2::codec::{CodecError, FrameDecoder, HEADER_LEN};
use sv2_fuzz::{bound_allocations, drain_decoder, seed_corpus_dir, Chunks, Input, OwnedFrame};

fn decoder(config: u8, limit: u8) -> FrameDecoder {
    if config & 1 == 1 {
        FrameDecoder::new(usize::from(limit) * 8)
    } else {
        FrameDecoder::default()
    }
}

fuzz_target!(init: seed_corpus_dir("frame_decoder"), |data: &[u8]| {
    bound_allocations(data.len());
    let mut input = Input::new(data);
    let (config, limit, seed) = (input.u8(), input.u8(), input.u8());
    let stream = input.rest();

    // All at once.
    let mut whole = decoder(config, limit);
    whole.push(stream);
    assert_eq!(whole.buffered(), stream.len());
    let mut frames_whole: Vec<OwnedFrame> = Vec::new();
    let end_whole = drain_decoder(&mut whole, &mut frames_whole);

    // In chunks, taking frames after every push.
    let mut chunked = decoder(config, limit);
    let mut frames_chunked = Vec::new();
    let mut pushed = 0;
    let mut end_chunked: Result<(), CodecError> = Ok(());
    for chunk in Chunks::new(stream, seed) {
        chunked.push(chunk);
        pushed += chunk.len();
        end_chunked = drain_decoder(&mut chunked, &mut frames_chunked);
        if end_chunked.is_err() {
            break;
        }
    }

    assert_eq!(frames_whole, frames_chunked);
    assert_eq!(end_whole, end_chunked);
    let used: usize = frames_whole.iter().map(|f| HEADER_LEN + f.payload.len()).sum();
    match end_whole {
        Ok(()) => {
            // Nothing lost, nothing invented: every byte is in a frame or still buffered, and
            // what is buffered is less than one whole frame.
            assert_eq!(used + whole.buffered(), stream.len());
            assert_eq!(used + chunked.buffered(), pushed);
            assert_eq!(pushed, stream.len());
        }
        Err(e) => {
            assert!(matches!(e, CodecError::FrameTooLarge { len, max } if len > max && max == whole.max_payload()));
            // The error is sticky: the stream cannot be resynchronised.
            assert_eq!(whole.next_frame().map(|f| f.is_some()), Err(e));
        }
    }
});

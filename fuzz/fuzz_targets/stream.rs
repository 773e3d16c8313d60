//! Feeds arbitrary bytes, as profile.proto, to the streaming decoder in chunks whose
//! size the input picks, and compares it with the whole-buffer decoder: whatever the
//! streaming decoder accepts, the whole decoder must accept and decode to the same
//! profile, whether the frames are packed on a thread of their own or not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&chunk, data)) = input.split_first() else {
        return;
    };
    let mut d = profile::proto::StreamDecoder::new();
    // Frames packed on a thread of their own or not, as the input's first byte says.
    d.pack_frames_elsewhere(chunk & 1 == 1);
    let chunk = chunk as usize + 1;
    for c in data.chunks(chunk) {
        if d.feed(c).is_err() {
            return;
        }
    }
    let Ok(streamed) = d.finish() else {
        return;
    };
    let whole = profile::proto::decode(data).expect("the stream decoder accepted what decode rejects");
    assert_eq!(streamed.samples, whole.samples);
    assert_eq!(streamed.locations, whole.locations);
    assert_eq!(streamed.functions, whole.functions);
    assert_eq!(streamed.mappings, whole.mappings);
    assert_eq!(streamed.strings, whole.strings);
    assert_eq!(streamed.sample_types, whole.sample_types);
    assert_eq!(streamed.comments, whole.comments);
    assert_eq!(streamed.debug_string(), whole.debug_string());
});

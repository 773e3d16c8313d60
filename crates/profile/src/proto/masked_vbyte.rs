//! Packed varints of up to three bytes decoded four at a time with SSSE3 byte
//! shuffles, the "masked VByte" method (Plaisance, Kurz and Lemire, *Vectorized VByte
//! Decoding*, 2015).
//!
//! The location ids of a profile's samples are most of its bytes, and nearly all of
//! them take one to three bytes (ids below 2,097,152). Sixteen bytes are loaded at
//! once; the continuation bits of the first twelve, gathered into a 12-bit number,
//! select a precomputed shuffle that moves each of the next (up to four) varints into
//! a 32-bit lane of its own, where a few shifts and masks close up its 7-bit groups.
//! A varint of four bytes or more, or bytes too near the end of the input, stop it:
//! the caller decodes those one word at a time.

/// What the varints starting at some byte are, given the continuation bits of the
/// twelve bytes from it: how many of them (up to four, each of one to three bytes and
/// ending within the twelve bytes) a shuffle moves into lanes, and how many bytes they
/// take.
#[derive(Clone, Copy)]
struct Pattern {
    /// Byte `4k + j` of the shuffled vector is input byte `shuffle[4k + j]`, or zero
    /// where that has its high bit set: lane `k` holds varint `k`, least significant
    /// byte first.
    shuffle: [u8; 16],
    /// Number of varints decoded (0: the first varint is longer than three bytes or
    /// does not end within the twelve).
    count: u8,
    /// Bytes those varints take.
    bytes: u8,
}

/// The pattern of each value of the twelve continuation bits.
static PATTERNS: [Pattern; 1 << 12] = patterns();

const fn patterns() -> [Pattern; 1 << 12] {
    let mut table = [Pattern {
        shuffle: [0x80; 16],
        count: 0,
        bytes: 0,
    }; 1 << 12];
    let mut mask = 0;
    while mask < 1 << 12 {
        let p = &mut table[mask];
        let mut start = 0;
        while p.count < 4 {
            // The varint from `start` ends at the first byte whose continuation bit is
            // clear.
            let mut len = 1;
            while start + len <= 12 && (mask >> (start + len - 1)) & 1 == 1 {
                len += 1;
            }
            if len > 3 || start + len > 12 {
                break;
            }
            let mut j = 0;
            while j < len {
                p.shuffle[4 * p.count as usize + j] = (start + j) as u8;
                j += 1;
            }
            p.count += 1;
            start += len;
        }
        p.bytes = start as u8;
        mask += 1;
    }
    table
}

/// Whether this processor has the instructions [`decode`] needs.
#[inline]
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("ssse3")
}

/// Decodes the varints of `data[pos..end]` into `out[n..]` as values minus one, four
/// at a time, while `n` is at most `limit` (which leaves `out` room for eight more) and
/// sixteen bytes can be loaded at `pos`. Stops before a varint of more than three bytes
/// or one that does not end by `end`. Returns the new `pos` and `n`; `out` past the new
/// `n` may have been written.
///
/// # Safety
/// The processor must have SSSE3 ([`available`]).
#[target_feature(enable = "ssse3")]
pub(super) unsafe fn decode(
    data: &[u8],
    mut pos: usize,
    end: usize,
    out: &mut [u32; 64],
    mut n: usize,
    limit: usize,
) -> (usize, usize) {
    use std::arch::x86_64::*;
    let limit = limit.min(out.len() - 8);
    let end = end.min(data.len());
    // Two blocks a step while 32 bytes can be loaded: the continuation bits of both
    // come from one pair of loads, so that where the second block starts is known from
    // the first's pattern without waiting for a load from there.
    while n <= limit && pos < end && data.len() - pos >= 32 {
        // SAFETY: `pos + 32 <= data.len()`, checked above; unaligned loads.
        let (low, high) = unsafe {
            let at = data.as_ptr().add(pos);
            (
                _mm_loadu_si128(at.cast()),
                _mm_loadu_si128(at.add(16).cast()),
            )
        };
        let mut cont = _mm_movemask_epi8(low) as u32 | (_mm_movemask_epi8(high) as u32) << 16;
        // Bytes at or past `end` count as continuations: no varint ends there.
        let room = end - pos;
        if room < 32 {
            cont |= !((1 << room) - 1);
        }
        let first = &PATTERNS[(cont & 0xfff) as usize];
        if first.count == 0 {
            break;
        }
        let skip = first.bytes as usize;
        let second = &PATTERNS[((cont >> skip) & 0xfff) as usize];
        // SAFETY: `skip <= 12`, so `pos + skip + 16 <= data.len()`; an unaligned load.
        let next = unsafe { _mm_loadu_si128(data.as_ptr().add(pos + skip).cast()) };
        // SAFETY: `n + 8 <= out.len()`: both blocks' four lanes fit.
        unsafe {
            let at = out.as_mut_ptr().add(n);
            _mm_storeu_si128(at.cast(), ids(low, first));
            _mm_storeu_si128(at.add(first.count as usize).cast(), ids(next, second));
        }
        n += first.count as usize + second.count as usize;
        pos += skip + second.bytes as usize;
    }
    while n <= limit && pos < end && data.len() - pos >= 16 {
        // SAFETY: `pos + 16 <= data.len()`, checked above; an unaligned load.
        let bytes = unsafe { _mm_loadu_si128(data.as_ptr().add(pos).cast()) };
        let mut cont = _mm_movemask_epi8(bytes) as u32 & 0xfff;
        let room = end - pos;
        if room < 12 {
            cont |= 0xfff & !((1 << room) - 1);
        }
        let pattern = &PATTERNS[cont as usize];
        if pattern.count == 0 {
            break;
        }
        // SAFETY: `n + 4 <= out.len()`: four lanes fit.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().add(n).cast(), ids(bytes, pattern)) };
        n += pattern.count as usize;
        pos += pattern.bytes as usize;
    }
    (pos, n)
}

/// The varints of `bytes` that `pattern` finds, one a lane, minus one (lanes past its
/// count hold garbage).
#[target_feature(enable = "ssse3")]
#[inline]
fn ids(bytes: std::arch::x86_64::__m128i, pattern: &Pattern) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    // SAFETY: `shuffle` is 16 bytes; an unaligned load.
    let shuffle = unsafe { _mm_loadu_si128(pattern.shuffle.as_ptr().cast()) };
    let lanes = _mm_shuffle_epi8(bytes, shuffle);
    // Lane bytes b0, b1, b2 (continuation bits and all) to b0 | b1 << 7 | b2 << 14.
    let values = _mm_or_si128(
        _mm_or_si128(
            _mm_and_si128(lanes, _mm_set1_epi32(0x7f)),
            _mm_srli_epi32::<1>(_mm_and_si128(lanes, _mm_set1_epi32(0x7f00))),
        ),
        _mm_srli_epi32::<2>(_mm_and_si128(lanes, _mm_set1_epi32(0x7f_0000))),
    );
    _mm_sub_epi32(values, _mm_set1_epi32(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_take_up_to_four_varints_of_up_to_three_bytes_within_twelve() {
        // All single bytes: four of them.
        assert_eq!((PATTERNS[0].count, PATTERNS[0].bytes), (4, 4));
        // Three bytes each (continuation on bytes 0, 1, 3, 4, 6, 7, 9, 10).
        let threes = 0b0110_1101_1011;
        assert_eq!((PATTERNS[threes].count, PATTERNS[threes].bytes), (4, 12));
        assert_eq!(
            &PATTERNS[threes].shuffle[..8],
            &[0, 1, 2, 0x80, 3, 4, 5, 0x80]
        );
        // A four-byte varint first: none; after a one-byte varint: one.
        assert_eq!(PATTERNS[0b0111].count, 0);
        assert_eq!((PATTERNS[0b1110].count, PATTERNS[0b1110].bytes), (1, 1));
        // Every byte a continuation: nothing ends.
        assert_eq!(PATTERNS[0xfff].count, 0);
    }

    #[test]
    fn decodes_like_one_varint_at_a_time_and_stops_at_the_field_end() {
        if !available() {
            return;
        }
        // Ids of one to five bytes, in runs and mixed.
        let ids: Vec<u64> = (0..2000u64)
            .map(|i| match i % 13 {
                0..=3 => 1 + i % 127,
                4..=7 => 128 + i * 31 % 16_000,
                8..=10 => 16_384 + i * 7919 % 2_000_000,
                11 => 2_097_152 + i,
                _ => 1 << 30,
            })
            .collect();
        let mut w = crate::proto::wire::Writer::default();
        let mut ends = Vec::new();
        for &id in &ids {
            w.varint(id);
            ends.push(w.buf.len());
        }
        // Bytes past the field end that look like one-byte ids, as many as the two
        // blocks of a step need, as one needs, or fewer.
        let field_end = ends[1500];
        w.buf.truncate(field_end);
        for padding in [32, 20, 5, 0] {
            let mut data = w.buf.clone();
            data.extend(std::iter::repeat_n(5, padding));
            let mut pos = 0;
            let mut got = Vec::new();
            while pos < field_end {
                let mut out = [0u32; 64];
                // SAFETY: checked by `available`.
                let (next, n) = unsafe { decode(&data, pos, field_end, &mut out, 0, 56) };
                got.extend(out[..n].iter().map(|&v| v.wrapping_add(1) as u64));
                if n == 0 {
                    // Where the caller decodes one varint itself.
                    let i = ends.iter().position(|&e| e > pos).unwrap();
                    got.push(ids[i]);
                    pos = ends[i];
                } else {
                    assert!(ends.contains(&next), "stops between varints");
                    pos = next;
                }
            }
            assert_eq!(pos, field_end);
            assert_eq!(got, ids[..=1500], "{padding} bytes past the field");
        }
    }
}

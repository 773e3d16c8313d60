//! Inflating a gzip file a piece at a time for the streaming decoder, with fdeflate,
//! which inflates profiles about 1.4 times as fast as zlib-rs.
//!
//! fdeflate reads zlib streams, so the gzip framing is read here: each member's header
//! is skipped, a fresh fdeflate is given a zlib header and then the member's deflate
//! stream, and the member's trailer (the CRC-32 and size of its inflated bytes) is
//! checked here. fdeflate reads ahead of the end of a deflate stream and does not say
//! how far, so the end of each member must be known before it is inflated:
//! - a member whose header gives the length of its deflate stream (the subfield
//!   [`DEFLATE_LENGTH_ID`], which profkit writes into the members of its outputs) is
//!   given exactly that many bytes, which must be its whole deflate stream; members of
//!   that kind may follow one another. Their bytes follow one another in the pieces,
//!   but fdeflate sees none of the member before, so that no match can reach into it
//!   (as flate2's reader of members, the whole-buffer path, refuses such matches);
//! - any other member must end where the input does: the last 8 bytes are its trailer.
//!
//! [`inflate_pieces`] gives up on anything else. A member that ends before the input,
//! or its declared length, says it does leaves the file to flate2's streaming reader
//! of members ([`Stopped::SeveralMembers`]); anything else (a header checksum, any
//! error) to the whole-buffer reader, which words the error.

use std::io::BufRead;

use super::{Pieces, Stopped};
use crate::proto::DEFLATE_LENGTH_ID;

/// Bytes a piece carries before its new bytes once the stream is that long: the
/// farthest back a deflate match reaches.
pub(super) const HISTORY: usize = 32 << 10;

/// Header flag bits: a header checksum, extra fields, a name, a comment, and the three
/// reserved bits.
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED: u8 = 0xe0;

/// The two bytes of a zlib header (deflate, 32 KiB window, no dictionary) that
/// fdeflate is given before the deflate stream.
const ZLIB_HEADER: [u8; 2] = [0x78, 0x01];

/// Inflates the gzip stream `input` (from its magic bytes on) into `pieces`. Fails
/// with [`Stopped::SeveralMembers`] when a member ends before the input, or the
/// length its header gives, says it does, and with [`Stopped::Unreadable`] when the
/// stream is not one this reader accepts (see the module documentation), when it is
/// invalid, when reading fails, or when `pieces` refuses a piece.
pub(super) fn inflate_pieces(mut input: impl BufRead, pieces: &mut Pieces) -> Result<(), Stopped> {
    let mut inflater = Inflater::new(pieces);
    loop {
        let deflate_length = read_header(&mut input).ok_or(Stopped::Unreadable)?;
        inflater.start_member()?;
        match deflate_length {
            Some(length) => inflater.member_of_length(&mut input, length)?,
            None => {
                inflater.last_member(input)?;
                return inflater.finish();
            }
        }
        if input
            .fill_buf()
            .map_err(|_| Stopped::Unreadable)?
            .is_empty()
        {
            return inflater.finish();
        }
    }
}

/// Reads a gzip member header up to its deflate stream; returns the length of the
/// deflate stream if the header gives it. `None` if it is not a header, or has a
/// header checksum or reserved flags (left to the whole-buffer reader).
fn read_header(input: &mut impl BufRead) -> Option<Option<u64>> {
    let mut fixed = [0u8; 10];
    input.read_exact(&mut fixed).ok()?;
    let flags = fixed[3];
    if fixed[..3] != [0x1f, 0x8b, 8] || flags & (FHCRC | RESERVED) != 0 {
        return None;
    }
    let mut deflate_length = None;
    if flags & FEXTRA != 0 {
        let mut len = [0u8; 2];
        input.read_exact(&mut len).ok()?;
        let mut extra = vec![0; u16::from_le_bytes(len) as usize];
        input.read_exact(&mut extra).ok()?;
        deflate_length = deflate_length_in(&extra);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            // Through the terminating zero (without one, no trailer is left either).
            input.skip_until(0).ok()?;
        }
    }
    Some(deflate_length)
}

/// The length of the deflate stream that the extra field `extra` gives in a
/// [`DEFLATE_LENGTH_ID`] subfield, if its subfields are well formed and one is that.
fn deflate_length_in(mut extra: &[u8]) -> Option<u64> {
    let mut found = None;
    while !extra.is_empty() {
        let (&[id0, id1, len0, len1], rest) = extra.split_first_chunk::<4>()?;
        let len = u16::from_le_bytes([len0, len1]) as usize;
        let data = rest.get(..len)?;
        if [id0, id1] == DEFLATE_LENGTH_ID {
            found = Some(u32::from_le_bytes(data.try_into().ok()?) as u64);
        }
        extra = &rest[len..];
    }
    found
}

/// fdeflate inflating into the pieces handed to the decoder: each piece's buffer
/// starts with the last [`HISTORY`] bytes of the one before (but the first), which
/// matches may reach back into. Members follow one another in the pieces, but
/// fdeflate sees only the current member's bytes before its position: a match cannot
/// reach into the member before.
struct Inflater<'p, 'd> {
    fdeflate: fdeflate::Decompressor,
    /// The piece being filled.
    buf: Vec<u8>,
    /// Where its new bytes start.
    start: usize,
    /// Where they end so far.
    pos: usize,
    /// Where the current member's bytes start in `buf` (0 if before it).
    member_start: usize,
    /// CRC-32 of the member's bytes so far.
    crc: crc32fast::Hasher,
    /// Number of the member's bytes so far.
    member_len: u64,
    /// Where the pieces go.
    pieces: &'p mut Pieces<'d>,
}

impl<'p, 'd> Inflater<'p, 'd> {
    fn new(pieces: &'p mut Pieces<'d>) -> Inflater<'p, 'd> {
        Inflater {
            fdeflate: fdeflate::Decompressor::new(),
            buf: pieces.buffer(),
            start: 0,
            pos: 0,
            member_start: 0,
            crc: crc32fast::Hasher::new(),
            member_len: 0,
            pieces,
        }
    }

    /// Starts a member where the last one ended: a fresh fdeflate, given the zlib
    /// header.
    fn start_member(&mut self) -> Result<(), Stopped> {
        self.fdeflate = fdeflate::Decompressor::new();
        // The "checksum" after the deflate stream is the start of the gzip trailer.
        self.fdeflate.ignore_adler32();
        self.member_start = self.pos;
        self.crc = crc32fast::Hasher::new();
        self.member_len = 0;
        self.feed(&ZLIB_HEADER)
    }

    /// Inflates a member whose deflate stream is the next `length` bytes of `input`,
    /// and checks its trailer after them. A stream that ends first is reported as
    /// [`Stopped::SeveralMembers`]: the length given is wrong, and the file is one
    /// for a reader that does not trust it.
    fn member_of_length(
        &mut self,
        input: &mut impl BufRead,
        mut length: u64,
    ) -> Result<(), Stopped> {
        while length > 0 {
            let block = input.fill_buf().map_err(|_| Stopped::Unreadable)?;
            if block.is_empty() {
                return Err(Stopped::Unreadable);
            }
            let n = block
                .len()
                .min(usize::try_from(length).unwrap_or(usize::MAX));
            self.feed(&block[..n])?;
            input.consume(n);
            length -= n as u64;
        }
        let mut trailer = [0u8; 8];
        input
            .read_exact(&mut trailer)
            .map_err(|_| Stopped::Unreadable)?;
        self.end_member(trailer)
    }

    /// Inflates a member that ends where `input` does: the last 8 bytes are its
    /// trailer.
    fn last_member(&mut self, mut input: impl BufRead) -> Result<(), Stopped> {
        // The last 8 bytes read are held back: they are the trailer if the input ends
        // there.
        let mut held = [0u8; 8];
        let mut held_len = 0;
        loop {
            let block = input.fill_buf().map_err(|_| Stopped::Unreadable)?;
            let n = block.len();
            if n == 0 {
                break;
            }
            if n >= 8 {
                self.feed(&held[..held_len])?;
                self.feed(&block[..n - 8])?;
                held.copy_from_slice(&block[n - 8..]);
                held_len = 8;
            } else {
                let mut joined = [0u8; 16];
                joined[..held_len].copy_from_slice(&held[..held_len]);
                joined[held_len..held_len + n].copy_from_slice(block);
                let len = held_len + n;
                let spill = len.saturating_sub(8);
                self.feed(&joined[..spill])?;
                held_len = len - spill;
                held[..held_len].copy_from_slice(&joined[spill..len]);
            }
            input.consume(n);
        }
        if held_len != 8 {
            return Err(Stopped::Unreadable);
        }
        self.end_member(held)
    }

    /// Inflates `input`, all of which precedes the member's trailer. Fails on an
    /// error, and when fdeflate's stream (the deflate stream and 4 more bytes) ends
    /// within it: then the member ends before its trailer does.
    fn feed(&mut self, mut input: &[u8]) -> Result<(), Stopped> {
        while !input.is_empty() {
            let used = self.step(input)?;
            if self.fdeflate.is_done() {
                return Err(Stopped::SeveralMembers);
            }
            input = &input[used..];
        }
        Ok(())
    }

    /// Ends a member: its deflate stream must end exactly before `trailer`, whose
    /// CRC-32 and size must be those of the member's bytes.
    fn end_member(&mut self, trailer: [u8; 8]) -> Result<(), Stopped> {
        // fdeflate ends its stream after 4 bytes of checksum (ignored) that follow the
        // deflate stream, reading the bits it holds first (every byte it took counts
        // as used, those it holds too), so given 4 bytes one at a time, it must take
        // all of them: it ends after fewer if the deflate stream ended before the
        // trailer.
        let mut taken = 0;
        while !self.fdeflate.is_done() {
            if taken == 4 {
                return Err(Stopped::Unreadable);
            }
            taken += self.step(&[0])?;
        }
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        let crc_of_bytes = std::mem::take(&mut self.crc).finalize();
        if taken != 4 || crc_of_bytes != crc || self.member_len as u32 != size {
            return Err(Stopped::Unreadable);
        }
        Ok(())
    }

    /// Hands the last piece over, once every member has ended.
    fn finish(self) -> Result<(), Stopped> {
        let last = self.start..self.pos;
        if last.is_empty() || self.pieces.send(self.buf, last) {
            Ok(())
        } else {
            Err(Stopped::Unreadable)
        }
    }

    /// Runs fdeflate once on `input`, keeping what it made and handing the piece over
    /// when it is full; returns how many bytes of `input` it took. Fails on an error,
    /// and when fdeflate neither took input, filled the piece nor ended: it is stuck.
    fn step(&mut self, input: &[u8]) -> Result<usize, Stopped> {
        // Near the end of the input a piece is handed over after fewer new bytes; the
        // end is the same for every step of a piece, as the bytes handed over are.
        let end = if self.pieces.near_end() {
            (self.start + Pieces::LAST_PIECE).min(self.buf.len())
        } else {
            self.buf.len()
        };
        let member = &mut self.buf[self.member_start..end];
        let at = self.pos - self.member_start;
        let (used, made) = self
            .fdeflate
            .read(input, member, at, false)
            .map_err(|_| Stopped::Unreadable)?;
        self.crc.update(&member[at..at + made]);
        self.member_len += made as u64;
        self.pos += made;
        if self.pos == end {
            if !self.hand_over() {
                return Err(Stopped::Unreadable);
            }
        } else if used == 0 && !self.fdeflate.is_done() {
            return Err(Stopped::Unreadable);
        }
        Ok(used)
    }

    /// Hands the full piece over and starts the next with the bytes matches may reach.
    fn hand_over(&mut self) -> bool {
        let new = self.start..self.pos;
        let mut next = self.pieces.buffer();
        let kept = self.pos - HISTORY;
        next[..HISTORY].copy_from_slice(&self.buf[kept..self.pos]);
        let full = std::mem::replace(&mut self.buf, next);
        self.member_start = self.member_start.saturating_sub(kept);
        self.start = HISTORY;
        self.pos = HISTORY;
        self.pieces.send(full, new)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Write};

    use flate2::{Compression, GzBuilder};

    use super::super::{Decoding, Pieces, Stopped};
    use super::{inflate_pieces, HISTORY};
    use crate::parse::gunzip;
    use crate::proto::DEFLATE_LENGTH_ID;

    /// Bytes that inflate through every kind of block and match: runs, text that
    /// repeats with changes, random bytes, and a random stretch repeated at a distance
    /// just short of the farthest a match reaches, so that matches cross pieces.
    fn data() -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out = Vec::new();
        let stretch: Vec<u8> = (0..HISTORY - 100).map(|_| random() as u8).collect();
        for round in 0..24 {
            out.extend(std::iter::repeat_n(b'a' + round as u8, 1000 + round * 37));
            for line in 0..300 {
                let _ = writeln!(out, "sample {line} of round {round}: {}", random() % 97);
            }
            out.extend((0..5000).map(|_| random() as u8));
            out.extend_from_slice(&stretch);
        }
        out
    }

    fn gzip(data: &[u8], level: u32) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::new(level));
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    /// Pieces handed over: each buffer and the range of its new bytes.
    type Handed = Vec<(Vec<u8>, std::ops::Range<usize>)>;

    /// The pieces [`inflate_pieces`] hands over for `gz` read `block` bytes at a
    /// time, and whether it gave up.
    fn handed_over(gz: &[u8], block: usize, limit: u64) -> (Result<(), Stopped>, Handed) {
        handed_over_expecting(gz, block, limit, None)
    }

    /// [`handed_over`] with the number of new bytes the pieces expect.
    fn handed_over_expecting(
        gz: &[u8],
        block: usize,
        limit: u64,
        expected: Option<u64>,
    ) -> (Result<(), Stopped>, Handed) {
        let (full, full_rx) = std::sync::mpsc::sync_channel(1 << 12);
        let (_spent_tx, spent) = std::sync::mpsc::sync_channel(1);
        let mut pieces = Pieces {
            to: Decoding::Elsewhere { full, spent },
            total: 0,
            limit,
            expected,
        };
        let read = inflate_pieces(BufReader::with_capacity(block, gz), &mut pieces);
        drop(pieces);
        (read, full_rx.iter().collect())
    }

    /// Inflates `gz` read `block` bytes at a time; the bytes, or why
    /// [`inflate_pieces`] gave up.
    fn inflate(gz: &[u8], block: usize, limit: u64) -> Result<Vec<u8>, Stopped> {
        let (read, pieces) = handed_over(gz, block, limit);
        read.map(|()| {
            pieces
                .into_iter()
                .flat_map(|(buf, new)| buf[new].to_vec())
                .collect()
        })
    }

    #[test]
    fn inflates_every_level_and_header_as_the_input_comes_in_any_blocks() {
        let data = data();
        assert!(data.len() > 3 * Pieces::BUFFER);
        let named = {
            let mut gz = GzBuilder::new()
                .filename("profile.pb")
                .comment("a comment")
                .extra(vec![7; 300])
                .write(Vec::new(), Compression::default());
            gz.write_all(&data).unwrap();
            gz.finish().unwrap()
        };
        let inputs = [
            gzip(&data, 0),
            gzip(&data, 1),
            gzip(&data, 6),
            gzip(&data, 9),
            named,
        ];
        for (i, gz) in inputs.iter().enumerate() {
            for block in [1, 3, 7, 8, 9, 4096, 1 << 18] {
                let got = inflate(gz, block, u64::MAX);
                assert!(
                    got.as_deref() == Ok(&data[..]),
                    "input {i}, blocks of {block}"
                );
            }
        }
        assert_eq!(inflate(&gzip(&[], 6), 7, u64::MAX), Ok(Vec::new()));
    }

    #[test]
    fn the_last_piece_of_the_bytes_expected_is_handed_over_in_small_pieces() {
        use crate::parse::STREAM_CHUNK;
        let data = data();
        let small = &data[..100_000];
        for (input, expected) in [
            (&data[..], data.len()),
            // Fewer bytes than there are, as a size wrapped modulo 4 GiB gives.
            (&data[..], data.len() / 2 + 12_345),
            (small, small.len()),
        ] {
            let gz = gzip(input, 6);
            for block in [7, 1 << 18] {
                let (read, pieces) =
                    handed_over_expecting(&gz, block, u64::MAX, Some(expected as u64));
                assert_eq!(read, Ok(()));
                let mut inflated = Vec::new();
                for (i, (buf, new)) in pieces.iter().enumerate() {
                    let before = inflated.len();
                    let near_end = before < expected && expected - before <= STREAM_CHUNK;
                    let last = i + 1 == pieces.len();
                    if near_end {
                        assert!(new.len() <= Pieces::LAST_PIECE, "piece {i} of {expected}");
                    } else if !last {
                        // The first piece has no bytes before its new ones.
                        let whole = if i == 0 { Pieces::BUFFER } else { STREAM_CHUNK };
                        assert_eq!(new.len(), whole, "piece {i} of {expected}");
                    }
                    inflated.extend_from_slice(&buf[new.clone()]);
                }
                assert!(inflated == input, "{expected} expected, blocks of {block}");
                let last = pieces.last().map(|(_, new)| new.len());
                if expected == input.len() {
                    assert!(last.is_some_and(|n| n <= Pieces::LAST_PIECE));
                }
            }
        }
    }

    #[test]
    fn gives_up_on_what_the_whole_buffer_reader_reads_otherwise_or_refuses() {
        let data = data();
        let gz = gzip(&data, 6);
        let trailer = gz.len() - 8;
        let with = |at: usize, bytes: &[u8]| {
            let mut v = gz.clone();
            v.splice(at..at, bytes.iter().copied());
            v
        };
        let flipped = |at: usize| {
            let mut v = gz.clone();
            v[at] ^= 1;
            v
        };
        let mut header_checksum = gz.clone();
        header_checksum[3] |= 0x02;
        // A first member that ends before the input does is left to flate2's reader of
        // members, which reads the rest exactly (or refuses it).
        let two = [gz.clone(), gzip(b"more", 6)].concat();
        for block in [5, 1 << 18] {
            let got = inflate(&two, block, u64::MAX);
            assert_eq!(
                got.err(),
                Some(Stopped::SeveralMembers),
                "blocks of {block}"
            );
        }
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("two members", two),
            ("a byte after the trailer", with(gz.len(), &[0])),
            ("a byte before the trailer", with(trailer, &[0])),
            ("three bytes before the trailer", with(trailer, &[0; 3])),
            ("four bytes before the trailer", with(trailer, &[0; 4])),
            ("nine bytes before the trailer", with(trailer, &[0; 9])),
            ("a wrong checksum", flipped(trailer)),
            ("a wrong size", flipped(gz.len() - 1)),
            ("a corrupt deflate stream", flipped(gz.len() / 2)),
            ("a header checksum", header_checksum),
            ("no deflate stream", gz[..10].to_vec()),
            ("not gzip", data[..1000].to_vec()),
            ("empty", Vec::new()),
        ];
        for (what, input) in &cases {
            for block in [5, 1 << 18] {
                let got = inflate(input, block, u64::MAX);
                assert!(got.is_err(), "{what}, blocks of {block}: inflated");
            }
        }
        for cut in (0..gz.len())
            .step_by(gz.len() / 97)
            .chain(trailer..gz.len())
        {
            let got = inflate(&gz[..cut], 1 << 18, u64::MAX);
            assert!(got.is_err(), "cut at {cut}: inflated");
        }
        let limit = data.len() as u64;
        assert!(inflate(&gz, 1 << 18, limit).is_ok());
        assert!(inflate(&gz, 1 << 18, limit - 1).is_err(), "past the limit");
    }

    /// The gzip member `member` (with a header of 10 bytes) with a header that gives
    /// the length of its deflate stream, `declared` if given, else the true one.
    fn with_length(member: &[u8], declared: Option<u32>) -> Vec<u8> {
        assert_eq!(member[3], 0, "a header of 10 bytes");
        let deflated = &member[10..member.len() - 8];
        let length = declared.unwrap_or(deflated.len() as u32);
        let mut out = member[..10].to_vec();
        out[3] = 0x04;
        out.extend([8, 0]);
        out.extend(DEFLATE_LENGTH_ID);
        out.extend([4, 0]);
        out.extend(length.to_le_bytes());
        out.extend_from_slice(&member[10..]);
        out
    }

    #[test]
    fn inflates_members_that_give_their_length_one_after_another_in_any_blocks() {
        let data = data();
        let large = data.repeat(4);
        let written = crate::proto::gzip(&large);
        let tail = gzip(b"the last member", 6);
        let cases = [
            ("written in pieces", written.clone(), large.clone()),
            (
                "then a member without a length",
                [&written[..], &tail].concat(),
                [&large[..], b"the last member"].concat(),
            ),
            (
                "members of every level, one empty",
                [
                    with_length(&gzip(&data, 0), None),
                    with_length(&gzip(&[], 6), None),
                    with_length(&gzip(&data, 9), None),
                ]
                .concat(),
                data.repeat(2),
            ),
        ];
        for (what, gz, want) in &cases {
            for block in [3, 8, 9, 4096, 1 << 18] {
                let got = inflate(gz, block, u64::MAX);
                assert!(got.as_deref() == Ok(&want[..]), "{what}, blocks of {block}");
            }
            assert!(gunzip(gz, u64::MAX).unwrap() == *want, "{what}: read whole");
        }
        // A member that does not give its length must be the last.
        let first_unknown = [&tail[..], &written].concat();
        assert_eq!(
            inflate(&first_unknown, 1 << 18, u64::MAX),
            Err(Stopped::SeveralMembers)
        );
    }

    #[test]
    fn members_whose_length_or_trailer_is_wrong_are_given_up() {
        let data = data();
        let member = gzip(&data, 6);
        let deflated = (member.len() - 18) as u32;
        let good = with_length(&member, None);
        let mut bad_crc = good.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 1;
        let cases = [
            (
                "a length too short",
                with_length(&member, Some(deflated - 1)),
            ),
            (
                "a length too long",
                with_length(&member, Some(deflated + 1)),
            ),
            (
                "a length past the input",
                with_length(&member, Some(u32::MAX)),
            ),
            ("a wrong checksum", [&bad_crc[..], &good].concat()),
            (
                "a cut trailer",
                [&good[..], &good[..good.len() - 3]].concat(),
            ),
            ("junk after", [&good[..], b"junk"].concat()),
        ];
        for (what, gz) in &cases {
            for block in [5, 1 << 18] {
                assert!(
                    inflate(gz, block, u64::MAX).is_err(),
                    "{what}, blocks of {block}"
                );
            }
        }
    }

    /// A gzip member whose deflate stream, in one block of fixed codes, holds
    /// `literals` (bytes below 144), then copies three bytes from `distance` (from 25
    /// to 32) bytes back, with the trailer of what it would make were `before` the
    /// bytes before it.
    fn member_reaching_back(literals: &[u8], distance: usize, before: &[u8]) -> Vec<u8> {
        assert!((25..=32).contains(&distance) && literals.iter().all(|&b| b < 144));
        // Bits go into bytes from the lowest; Huffman codes from their highest bit.
        let mut bits: Vec<bool> = Vec::new();
        let mut put = |value: u32, count: u32, huffman: bool| {
            for i in 0..count {
                let bit = if huffman { count - 1 - i } else { i };
                bits.push(value >> bit & 1 == 1);
            }
        };
        put(1, 1, false); // the final block
        put(1, 2, false); // of fixed Huffman codes
        for &b in literals {
            put(0x30 + b as u32, 8, true);
        }
        put(1, 7, true); // length symbol 257: 3 bytes
        put(9, 5, true); // distance symbol 9: 25 to 32 bytes back
        put(distance as u32 - 25, 3, false);
        put(0, 7, true); // end of block
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        out.extend(bits.chunks(8).map(|byte| {
            byte.iter()
                .enumerate()
                .fold(0u8, |b, (i, &bit)| b | (bit as u8) << i)
        }));
        let mut made = [before, literals].concat();
        for _ in 0..3 {
            made.push(made[made.len() - distance]);
        }
        let made = &made[before.len()..];
        out.extend(crc32fast::hash(made).to_le_bytes());
        out.extend((made.len() as u32).to_le_bytes());
        out
    }

    #[test]
    fn a_member_cannot_reach_into_the_bytes_of_the_member_before() {
        // The second member starts 10 bytes before the end of the first piece: its
        // match reaches back into the first member across the hand-over, or within
        // the piece.
        let first = data()[..Pieces::BUFFER - 10].to_vec();
        let literals = b"0123456789abcdefghij";
        for (first, distance) in [(first, 25), (b"abc".repeat(20), 32)] {
            let reaching = member_reaching_back(literals, distance, &first);
            let gz = [with_length(&gzip(&first, 6), None), reaching.clone()].concat();
            for block in [1, 1 << 18] {
                assert!(inflate(&gz, block, u64::MAX).is_err(), "blocks of {block}");
            }
            assert!(gunzip(&gz, u64::MAX).is_err());
            let sized = [
                with_length(&gzip(&first, 6), None),
                with_length(&reaching, None),
            ]
            .concat();
            assert!(inflate(&sized, 1 << 18, u64::MAX).is_err());
        }
        // The same match within its own member is read.
        let own = member_reaching_back(&[b'x'; 30], 25, b"");
        assert_eq!(inflate(&own, 1 << 18, u64::MAX).unwrap(), [b'x'; 33]);
    }

    #[test]
    fn many_small_members_share_pieces() {
        let member = with_length(&gzip(b"small", 6), None);
        let gz = member.repeat(10_000);
        let (read, handed) = handed_over(&gz, 1 << 16, u64::MAX);
        assert_eq!(read, Ok(()));
        assert_eq!(handed.len(), 1, "one piece for 50,000 bytes");
        assert!(handed[0].0[handed[0].1.clone()] == b"small".repeat(10_000));
    }
}

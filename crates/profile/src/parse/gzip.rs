//! Inflating a gzip file a piece at a time for the streaming decoder, with fdeflate,
//! which inflates profiles about 1.4 times as fast as zlib-rs.
//!
//! fdeflate reads zlib streams, so the gzip framing is read here: each member's header
//! is skipped, a fresh fdeflate is given a zlib header and then the member's deflate
//! stream, and the member's trailer (the CRC-32 and size of its inflated bytes) is
//! checked here. fdeflate reads ahead of the end of a deflate stream and does not say
//! how far, so the end of each member must be known before it is inflated:
//! - a member whose header gives the length of its deflate stream (the subfield
//!   [`DEFLATE_LENGTH_ID`], which profkit writes into the members of large outputs) is
//!   given exactly that many bytes, which must be its whole deflate stream; members of
//!   that kind may follow one another, each starting a piece of its own, with no bytes
//!   before it that its matches could reach (as flate2's reader of members, the
//!   whole-buffer path, reads them);
//! - any other member must end where the input does: the last 8 bytes are its trailer.
//!
//! Anything else makes [`inflate_pieces`] give up: a member of the second kind that
//! ends before the input does (more members, or bytes that are not one) for flate2's
//! streaming reader of members, anything else (a header checksum, any error) for the
//! whole-buffer reader, which words the error.

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
/// with [`Stopped::SeveralMembers`] when a member that does not give its length ends
/// before the input does, and with [`Stopped::Unreadable`] when the stream is not one
/// this reader accepts (see the module documentation), when it is invalid, when
/// reading fails, or when `pieces` refuses a piece.
pub(super) fn inflate_pieces(mut input: impl BufRead, pieces: &mut Pieces) -> Result<(), Stopped> {
    let mut inflater = Inflater::new(pieces);
    loop {
        let deflate_length = read_header(&mut input).ok_or(Stopped::Unreadable)?;
        inflater.start_member()?;
        let Some(length) = deflate_length else {
            return inflater.last_member(input);
        };
        inflater.member_of_length(&mut input, length)?;
        if input
            .fill_buf()
            .map_err(|_| Stopped::Unreadable)?
            .is_empty()
        {
            return Ok(());
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
/// starts with the last [`HISTORY`] bytes of the one before in the same member (but
/// a member's first), which matches may reach back into.
struct Inflater<'p> {
    fdeflate: fdeflate::Decompressor,
    /// The piece being filled.
    buf: Vec<u8>,
    /// Where its new bytes start.
    start: usize,
    /// Where they end so far.
    pos: usize,
    /// CRC-32 of the member's bytes handed over.
    crc: crc32fast::Hasher,
    /// The bytes handed over before the member began.
    member_start: u64,
    /// Where the pieces go; it counts the bytes handed over.
    pieces: &'p mut Pieces,
}

impl<'p> Inflater<'p> {
    fn new(pieces: &'p mut Pieces) -> Inflater<'p> {
        Inflater {
            fdeflate: fdeflate::Decompressor::new(),
            buf: Vec::new(),
            start: 0,
            pos: 0,
            crc: crc32fast::Hasher::new(),
            member_start: 0,
            pieces,
        }
    }

    /// Starts a member: a fresh fdeflate, given the zlib header, and a piece of its
    /// own.
    fn start_member(&mut self) -> Result<(), Stopped> {
        if self.buf.is_empty() {
            self.buf = self.pieces.buffer();
        }
        self.fdeflate = fdeflate::Decompressor::new();
        // The "checksum" after the deflate stream is the start of the gzip trailer.
        self.fdeflate.ignore_adler32();
        self.crc = crc32fast::Hasher::new();
        self.member_start = self.pieces.total;
        self.feed(&ZLIB_HEADER)
    }

    /// Inflates a member whose deflate stream is the next `length` bytes of `input`,
    /// and checks its trailer after them.
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
    /// CRC-32 and size must be those of the member's bytes. Hands the last of them
    /// over: the next member starts a piece of its own.
    fn end_member(&mut self, trailer: [u8; 8]) -> Result<(), Stopped> {
        // fdeflate ends its stream after 4 bytes of checksum (ignored) that follow the
        // deflate stream, so given 4 bytes one at a time, it must take all of them: it
        // ends after fewer if the deflate stream ended before the trailer.
        let mut taken = 0;
        while !self.fdeflate.is_done() {
            if taken == 4 {
                return Err(Stopped::Unreadable);
            }
            taken += self.step(&[0])?;
        }
        if taken != 4 {
            return Err(Stopped::Unreadable);
        }
        let last = self.start..self.pos;
        self.crc.update(&self.buf[last.clone()]);
        let inflated = self.pieces.total + last.len() as u64 - self.member_start;
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if std::mem::take(&mut self.crc).finalize() != crc || inflated as u32 != size {
            return Err(Stopped::Unreadable);
        }
        if !last.is_empty() && !self.pieces.send(std::mem::take(&mut self.buf), last) {
            return Err(Stopped::Unreadable);
        }
        self.start = 0;
        self.pos = 0;
        Ok(())
    }

    /// Runs fdeflate once on `input`, keeping what it made and handing the piece over
    /// when it is full; returns how many bytes of `input` it took. Fails on an error,
    /// and when fdeflate neither took input, filled the piece nor ended: it is stuck.
    fn step(&mut self, input: &[u8]) -> Result<usize, Stopped> {
        let (used, made) = self
            .fdeflate
            .read(input, &mut self.buf, self.pos, false)
            .map_err(|_| Stopped::Unreadable)?;
        self.pos += made;
        if self.pos == self.buf.len() {
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
        self.crc.update(&self.buf[new.clone()]);
        let mut next = self.pieces.buffer();
        next[..HISTORY].copy_from_slice(&self.buf[self.pos - HISTORY..self.pos]);
        let full = std::mem::replace(&mut self.buf, next);
        self.start = HISTORY;
        self.pos = HISTORY;
        self.pieces.send(full, new)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Write};

    use flate2::{Compression, GzBuilder};

    use super::super::{Pieces, Stopped};
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

    /// Inflates `gz` read `block` bytes at a time; the bytes, or why
    /// [`inflate_pieces`] gave up.
    fn inflate(gz: &[u8], block: usize, limit: u64) -> Result<Vec<u8>, Stopped> {
        let (full, full_rx) = std::sync::mpsc::sync_channel(1 << 12);
        let (_spent_tx, spent) = std::sync::mpsc::sync_channel(1);
        let mut pieces = Pieces {
            full,
            spent,
            total: 0,
            limit,
        };
        let read = inflate_pieces(BufReader::with_capacity(block, gz), &mut pieces);
        drop(pieces);
        let mut out = Vec::new();
        for (buf, new) in full_rx {
            out.extend_from_slice(&buf[new]);
        }
        read.map(|()| out)
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

    /// A gzip member whose deflate stream copies three bytes from one byte back, with
    /// the trailer of what it would make after `before`: `before` three times.
    fn member_reaching_back(before: u8) -> Vec<u8> {
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
        put(1, 7, true); // length symbol 257: 3 bytes
        put(0, 5, true); // distance symbol 0: 1 byte back
        put(0, 7, true); // end of block
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        out.extend(bits.chunks(8).map(|byte| {
            byte.iter()
                .enumerate()
                .fold(0u8, |b, (i, &bit)| b | (bit as u8) << i)
        }));
        out.extend(crc32fast::hash(&[before; 3]).to_le_bytes());
        out.extend(3u32.to_le_bytes());
        out
    }

    #[test]
    fn a_member_cannot_reach_into_the_bytes_of_the_member_before() {
        let first = with_length(&gzip(b"abc", 6), None);
        let gz = [first, member_reaching_back(b'c')].concat();
        for block in [1, 1 << 18] {
            assert!(inflate(&gz, block, u64::MAX).is_err(), "blocks of {block}");
        }
        assert!(gunzip(&gz, u64::MAX).is_err());
        assert!(inflate(&member_reaching_back(0), 1 << 18, u64::MAX).is_err());
    }
}

//! Encoding a [`Profile`] as profile.proto, the way pprof writes it: fields in number
//! order, zero scalars omitted, repeated numbers packed, unused strings dropped.

use super::wire::{varint_len, Writer, LEN};
use crate::model::Profile;
use crate::strings::StrId;

/// Bytes of a length-delimited field with a one-byte key and `len` bytes of payload,
/// omitted when empty (as packed fields are).
#[inline]
fn packed_field_len(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        1 + varint_len(len as u64) + len
    }
}

/// Each location id's varint, made once: stacks repeat them millions of times.
struct EncodedIds {
    /// Whether each location's id is its index plus one, as pprof numbers them (and
    /// ids under 2^28): each varint is then made from the index as it is written,
    /// which is faster than looking it up in a table too large for the nearest cache.
    dense: bool,
    /// The varint of each location's id in the low bytes of a little-endian word, and
    /// its length in bytes above them (ids of 2^28 and more, whose varints take five
    /// bytes or more, are written from `long`); empty when `dense`.
    varints: Vec<u64>,
    /// Varints longer than four bytes, by location index.
    long: std::collections::HashMap<u32, Vec<u8>>,
}

/// The varint of `v` (under 2^28) in the low bytes of a little-endian word, and its
/// length in bytes.
#[inline(always)]
fn short_varint(v: u32) -> (u32, usize) {
    debug_assert!(v < 1 << 28);
    let n = 1 + (v >= 1 << 7) as usize + (v >= 1 << 14) as usize + (v >= 1 << 21) as usize;
    let groups = (v & 0x7f) | (v << 1) & 0x7f00 | (v << 2) & 0x7f_0000 | (v << 3) & 0x7f00_0000;
    // Every byte but the last says another follows.
    let more = 0x0080_8080u32 >> (8 * (4 - n));
    (groups | more, n)
}

impl EncodedIds {
    fn of(p: &Profile) -> EncodedIds {
        let dense = p.locations.len() < 1 << 28
            && p.locations
                .iter()
                .enumerate()
                .all(|(i, l)| l.id == i as u64 + 1);
        let mut ids = EncodedIds {
            dense,
            varints: Vec::new(),
            long: Default::default(),
        };
        if dense {
            return ids;
        }
        ids.varints.reserve(p.locations.len());
        let mut w = Writer::default();
        for (i, l) in p.locations.iter().enumerate() {
            w.buf.clear();
            w.varint(l.id);
            let mut word = [0u8; 4];
            let n = w.buf.len().min(4);
            word[..n].copy_from_slice(&w.buf[..n]);
            ids.varints
                .push(u32::from_le_bytes(word) as u64 | (w.buf.len() as u64) << 32);
            if w.buf.len() > 4 {
                ids.long.insert(i as u32, w.buf.clone());
            }
        }
        ids
    }

    /// Replaces `out` with the varints of the ids of the frames of `stack` (location
    /// indices), in one pass.
    #[inline]
    fn encode(&self, stack: crate::Stack<'_>, out: &mut Vec<u8>) {
        // Each id is stored as a whole word and the position advanced by its length:
        // no call per id. The room past the end is cut off again.
        let most = if self.long.is_empty() { 4 } else { 10 };
        out.clear();
        out.resize(stack.len() * most + 4, 0);
        let mut pos = 0;
        if self.dense {
            for l in stack.iter() {
                debug_assert!((l as usize) < 1 << 28, "a location index");
                let (word, n) = short_varint(l + 1);
                out[pos..pos + 4].copy_from_slice(&word.to_le_bytes());
                pos += n;
            }
        } else {
            for l in stack.iter() {
                let v = self.varints[l as usize];
                let n = (v >> 32) as usize;
                if n <= 4 {
                    out[pos..pos + 4].copy_from_slice(&(v as u32).to_le_bytes());
                } else {
                    out[pos..pos + n].copy_from_slice(&self.long[&l]);
                }
                pos += n;
            }
        }
        out.truncate(pos);
    }
}

/// Writes every sample. Each part of a sample's message is made once, in a buffer of
/// its own, so that its length is known before the message's is written and no body
/// moves; each location id is encoded once, not once per frame.
fn write_samples(
    w: &mut Writer,
    p: &Profile,
    s: &impl Fn(StrId) -> u64,
    sink: &mut dyn FnMut(&mut Writer),
) {
    let ids = EncodedIds::of(p);
    let samples = &p.samples;
    // The varints of one sample's frames; of its values; its labels, as fields.
    let mut frames: Vec<u8> = Vec::new();
    let mut values = Writer::default();
    let mut labels = Writer::default();
    let mut label = Writer::default();
    for i in 0..samples.len() {
        ids.encode(samples.locations(i), &mut frames);
        values.buf.clear();
        for v in samples.values(i) {
            values.varint(v as u64);
        }
        labels.buf.clear();
        // A label is written even when all its fields are zero.
        for l in samples.labels(i) {
            label.buf.clear();
            label.int_opt(1, s(l.key));
            label.int_opt(2, s(l.str));
            label.int_opt(3, l.num as u64);
            label.int_opt(4, s(l.num_unit));
            labels.key(3, LEN);
            labels.varint(label.buf.len() as u64);
            labels.buf.extend_from_slice(&label.buf);
        }
        let body =
            packed_field_len(frames.len()) + packed_field_len(values.buf.len()) + labels.buf.len();
        w.key(2, LEN);
        w.varint(body as u64);
        if !frames.is_empty() {
            w.key(1, LEN);
            w.varint(frames.len() as u64);
            w.buf.extend_from_slice(&frames);
        }
        if !values.buf.is_empty() {
            w.key(2, LEN);
            w.varint(values.buf.len() as u64);
            w.buf.extend_from_slice(&values.buf);
        }
        w.buf.extend_from_slice(&labels.buf);
        sink(w);
    }
}

/// Bytes the encoder gathers before handing them to its sink.
const ENCODE_CHUNK: usize = 1 << 20;

/// Encodes `p` as an uncompressed profile.proto message.
pub fn encode(p: &Profile) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(p.samples.len() * p.width() * 2 + p.samples.frame_count() * 2 + 1024);
    encode_into(p, &mut |bytes| out.extend_from_slice(bytes));
    out
}

/// Encodes `p` as uncompressed profile.proto, handing the bytes to `sink` a piece of
/// about a megabyte at a time, so that no copy of the whole message is ever made.
pub fn encode_into(p: &Profile, sink: &mut dyn FnMut(&[u8])) {
    encode_remapped(p, &StringRemap::new(p), sink)
}

/// [`encode_into`] with the strings `remap` keeps.
fn encode_remapped(p: &Profile, remap: &StringRemap, sink: &mut dyn FnMut(&[u8])) {
    let s = |id: StrId| remap.get(id);
    let mut w = Writer::default();
    let mut flush = |w: &mut Writer| {
        if w.buf.len() >= ENCODE_CHUNK {
            sink(&w.buf);
            w.buf.clear();
        }
    };

    for vt in &p.sample_types {
        w.message(1, |w| {
            w.int_opt(1, s(vt.ty));
            w.int_opt(2, s(vt.unit));
        });
    }
    write_samples(&mut w, p, &s, &mut flush);
    for m in &p.mappings {
        w.message(3, |w| {
            w.int_opt(1, m.id);
            w.int_opt(2, m.memory_start);
            w.int_opt(3, m.memory_limit);
            w.int_opt(4, m.file_offset);
            w.int_opt(5, s(m.filename));
            w.int_opt(6, s(m.build_id));
            w.bool_opt(7, m.has_functions);
            w.bool_opt(8, m.has_filenames);
            w.bool_opt(9, m.has_line_numbers);
            w.bool_opt(10, m.has_inline_frames);
        });
        flush(&mut w);
    }
    for l in &p.locations {
        w.message(4, |w| {
            w.int_opt(1, l.id);
            w.int_opt(2, l.mapping.map_or(0, |m| p.mappings[m.index()].id));
            w.int_opt(3, l.address);
            for line in &l.lines {
                w.message(4, |w| {
                    w.int_opt(1, p.functions[line.function as usize].id);
                    w.int_opt(2, line.line as u64);
                    w.int_opt(3, line.column as u64);
                });
            }
            w.bool_opt(5, l.is_folded);
        });
        flush(&mut w);
    }
    for f in &p.functions {
        w.message(5, |w| {
            w.int_opt(1, f.id);
            w.int_opt(2, s(f.name));
            w.int_opt(3, s(f.system_name));
            w.int_opt(4, s(f.filename));
            w.int_opt(5, f.start_line as u64);
        });
        flush(&mut w);
    }
    for text in remap.kept.iter().map(|&id| p.str(id)) {
        w.bytes(6, text.as_bytes());
        flush(&mut w);
    }
    w.int_opt(7, s(p.drop_frames));
    w.int_opt(8, s(p.keep_frames));
    w.int_opt(9, p.time_nanos as u64);
    w.int_opt(10, p.duration_nanos as u64);
    w.message(11, |w| {
        w.int_opt(1, s(p.period_type.ty));
        w.int_opt(2, s(p.period_type.unit));
    });
    w.int_opt(12, p.period as u64);
    w.packed(13, p.comments.iter().map(|&c| s(c)));
    w.int_opt(14, s(p.default_sample_type));
    w.int_opt(15, s(p.doc_url));
    let _ = LEN;
    sink(&w.buf);
}

/// New string ids for the strings a profile still uses, in their old order.
struct StringRemap {
    new_ids: Vec<u32>,
    kept: Vec<StrId>,
}

impl StringRemap {
    fn new(p: &Profile) -> StringRemap {
        let mut used = vec![false; p.strings.len()];
        let mut mark = |id: StrId| {
            if let Some(u) = used.get_mut(id.index()) {
                *u = true;
            }
        };
        mark(StrId::EMPTY);
        for vt in p.sample_types.iter().chain(std::iter::once(&p.period_type)) {
            mark(vt.ty);
            mark(vt.unit);
        }
        for l in p.samples.distinct_label_sets().flatten() {
            mark(l.key);
            mark(l.str);
            mark(l.num_unit);
        }
        for m in &p.mappings {
            mark(m.filename);
            mark(m.build_id);
        }
        for f in &p.functions {
            mark(f.name);
            mark(f.system_name);
            mark(f.filename);
        }
        for &id in [
            p.drop_frames,
            p.keep_frames,
            p.default_sample_type,
            p.doc_url,
        ]
        .iter()
        .chain(&p.comments)
        {
            mark(id);
        }
        let mut new_ids = vec![0u32; used.len()];
        let mut kept = Vec::new();
        for (old, &u) in used.iter().enumerate() {
            if u {
                new_ids[old] = kept.len() as u32;
                kept.push(StrId(old as u32));
            }
        }
        StringRemap { new_ids, kept }
    }

    fn get(&self, id: StrId) -> u64 {
        self.new_ids.get(id.index()).copied().unwrap_or(0) as u64
    }
}

/// Encodes `p` as gzipped profile.proto, as pprof writes profile files, compressing
/// as it encodes (see [`write_gzip`]).
pub fn encode_gzip(p: &Profile) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_gzip(p, &mut out);
    out
}

/// Encodes `p` as gzipped profile.proto into `out`, compressing as it encodes: no
/// copy of the whole message is made. The bytes are cut into pieces of a megabyte
/// compressed apart on every core, a gzip member each: thoroughly when they are under
/// 4 MB in all, for speed above.
pub fn write_gzip(p: &Profile, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let remap = StringRemap::new(p);
    // An output known to be large is compressed for speed from its first piece on,
    // on every core, rather than held until it is.
    let fast_from = if encoded_len_at_least(p, &remap) >= LARGE_OUTPUT {
        0
    } else {
        LARGE_OUTPUT
    };
    gzip_pieces(out, fast_from, |sink| encode_remapped(p, &remap, sink))
}

/// A lower bound on the length of `p` encoded (keeping the strings `remap` keeps),
/// found without encoding it: each sample takes a field key and length and a byte per
/// value and per frame; each location a field key and length, a key and a byte for
/// its id, and four bytes per line (a message with its function); each function a
/// field key and length and a key and a byte for its id; each string kept a field key
/// and length and its bytes. (Fields that may be zero, and so left out, are not
/// counted.)
fn encoded_len_at_least(p: &Profile, remap: &StringRemap) -> usize {
    let samples = p.samples.len() * (2 + p.width()) + p.samples.frame_count();
    let lines: usize = p.locations.iter().map(|l| l.lines.len()).sum();
    let locations = p.locations.len() * 4 + lines * 4;
    let functions = p.functions.len() * 4;
    let strings: usize = remap.kept.iter().map(|&id| 2 + p.str(id).len()).sum();
    samples + locations + functions + strings
}

/// Encodes `p` as gzipped profile.proto compressed for speed whatever its size (as
/// [`write_gzip`] compresses large outputs), as Go's runtime compresses the profiles a
/// program serves about itself (at its fastest level): there the compressing takes CPU
/// from the program being profiled. The output is larger than [`encode_gzip`]'s when
/// that is under 4 MB.
pub fn encode_gzip_fast(p: &Profile) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = gzip_pieces(&mut out, 0, |sink| encode_into(p, sink));
    out
}

/// Outputs at least this large are compressed [`Effort::Fast`], smaller ones
/// [`Effort::Thorough`].
const LARGE_OUTPUT: usize = 4 << 20;

/// Gzips `raw` as [`write_gzip`] compresses a profile's bytes.
pub fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() / 4 + 64);
    // Writing into a Vec cannot fail.
    let _ = gzip_pieces(&mut out, LARGE_OUTPUT, |sink| {
        for chunk in raw.chunks(GZIP_PIECE) {
            sink(chunk);
        }
    });
    out
}

/// Bytes of input per piece of an output.
const GZIP_PIECE: usize = 1 << 20;

/// How hard the pieces of an output are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effort {
    /// For large outputs: a piece of which matching covers under half the bytes (most
    /// bytes are literals, as in profiles of many distinct addresses and stacks) by
    /// profkit's own deflater, about twice as fast as libdeflate's fastest level there,
    /// to 2 to 3 % more bytes; any other piece by libdeflate's fastest level, which on
    /// such bytes is as fast as profkit's deflater, or a little slower, for 5 to 12 %
    /// fewer bytes.
    Fast,
    /// libdeflate's default level (6), for smaller outputs, whose size is then about
    /// that of pprof's (which compresses at Go's default level).
    Thorough,
}

/// libdeflate's level for [`Effort::Thorough`].
const THOROUGH_LEVEL: i32 = 6;

/// libdeflate's level for the pieces that [`Effort::Fast`] does not give profkit's own
/// deflater: its fastest that compresses.
const FAST_LEVEL: i32 = 1;

/// The bytes at the start of a piece that [`Effort::Fast`] matches to judge it (a
/// thirtieth of a piece, about a hundredth of the time to compress it).
const PROBE: usize = 32 << 10;

/// The share of a piece's probe that matches must cover for [`Effort::Fast`] to give
/// it to libdeflate. Measured on 1 MiB pieces: 0.20 to 0.25 on the samples of the
/// generated profiles, 0.55 to 0.58 on those of a hundred CPU profiles merged, 0.79 to
/// 1 on a real heap profile, 0.6 to 0.94 on the tables (locations, functions, strings)
/// of any profile.
const MOSTLY_MATCHED: f64 = 0.5;

/// The id of the subfield of a gzip member's extra field that gives the length of the
/// member's deflate stream, which ends where the member's trailer starts. Every member
/// profkit writes carries it, so that a reader can find where each ends before
/// inflating it; other readers skip it.
pub(crate) const DEFLATE_LENGTH_ID: [u8; 2] = *b"pk";

/// Length of the header of a member.
const MEMBER_HEADER_LEN: usize = 20;

/// The header of a member whose deflate stream takes `deflated` bytes, compressed
/// with `effort`: flags FEXTRA only; no time; extra flags 4 (the fastest algorithm)
/// for [`Effort::Fast`], else 0; operating system unknown; an extra field of one
/// subfield, [`DEFLATE_LENGTH_ID`], of 4 bytes.
fn member_header(deflated: u32, effort: Effort) -> [u8; MEMBER_HEADER_LEN] {
    let mut header = [
        0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 255, 8, 0, 0, 0, 4, 0, 0, 0, 0, 0,
    ];
    if effort == Effort::Fast {
        header[8] = 4;
    }
    header[12..14].copy_from_slice(&DEFLATE_LENGTH_ID);
    header[16..].copy_from_slice(&deflated.to_le_bytes());
    header
}

/// A thread's compressor of pieces into gzip members.
#[derive(Default)]
struct MemberDeflater {
    /// The compressors, made when first needed (each allocates its tables): profkit's
    /// own, and libdeflate's at each level asked for so far.
    own: Option<profkit_deflate::Compressor>,
    libdeflate: Vec<(i32, libdeflater::Compressor)>,
    /// Room for libdeflate's deflate stream of any piece, filled with zeros once:
    /// deflating into it and copying out only what was made touches as much memory as
    /// the output takes, not the whole bound.
    scratch: Vec<u8>,
}

impl MemberDeflater {
    /// `piece` as one gzip member, compressed with `effort`, whose header gives the
    /// length of its deflate stream; made in `out`, whose bytes are replaced and whose
    /// room is reused.
    fn member(&mut self, piece: &[u8], effort: Effort, mut out: Vec<u8>) -> Vec<u8> {
        out.clear();
        out.extend_from_slice(&member_header(0, effort));
        let level = match effort {
            Effort::Thorough => THOROUGH_LEVEL,
            Effort::Fast => {
                let own = self.own.get_or_insert_with(Default::default);
                if own.matched_share(&piece[..piece.len().min(PROBE)]) < MOSTLY_MATCHED {
                    own.compress(piece, &mut out);
                    return Self::finish(piece, out);
                }
                FAST_LEVEL
            }
        };
        let at = match self.libdeflate.iter().position(|(l, _)| *l == level) {
            Some(at) => at,
            None => {
                let lvl = libdeflater::CompressionLvl::new(level).unwrap_or_default();
                self.libdeflate
                    .push((level, libdeflater::Compressor::new(lvl)));
                self.libdeflate.len() - 1
            }
        };
        let deflater = &mut self.libdeflate[at].1;
        let bound = deflater.deflate_compress_bound(piece.len());
        if self.scratch.len() < bound {
            self.scratch.resize(bound, 0);
        }
        match deflater.deflate_compress(piece, &mut self.scratch) {
            Ok(n) => out.extend_from_slice(&self.scratch[..n]),
            // The bound is room enough; were it not, the piece is stored.
            Err(_) => out.extend_from_slice(&stored_blocks(piece)),
        }
        Self::finish(piece, out)
    }

    /// `out`, a member's header and the deflate stream of `piece`, with the stream's
    /// length set in the header and the trailer appended.
    fn finish(piece: &[u8], mut out: Vec<u8>) -> Vec<u8> {
        let deflated = (out.len() - MEMBER_HEADER_LEN) as u32;
        out[16..MEMBER_HEADER_LEN].copy_from_slice(&deflated.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(piece).to_le_bytes());
        out.extend_from_slice(&(piece.len() as u32).to_le_bytes());
        out
    }
}

/// `piece` as a deflate stream of stored blocks.
fn stored_blocks(piece: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(piece.len() + piece.len() / 65535 * 5 + 5);
    let mut chunks = piece.chunks(u16::MAX as usize).peekable();
    if chunks.peek().is_none() {
        // One empty final block.
        return vec![1, 0, 0, 0xff, 0xff];
    }
    while let Some(chunk) = chunks.next() {
        let len = chunk.len() as u16;
        out.push(chunks.peek().is_none() as u8);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// Gzips the bytes `produce` hands its sink into `out`: cut into pieces of
/// [`GZIP_PIECE`] bytes, each made a member (see [`MemberDeflater::member`]) on one
/// thread per core and written in order as they are done, [`Effort::Thorough`] when
/// they are less than `fast_from` bytes in all, else [`Effort::Fast`]. The
/// first pieces are held until that is known; a single piece is compressed on the
/// calling thread, which starts no worker then, and so is any piece handed over while
/// every worker is busy (the queue is full), rather than waiting for room.
///
/// Pieces waiting to be compressed are bounded (one per thread in the queue, one in
/// each worker's hands and one in the calling thread's) and their buffers reused, and
/// the members' too, so memory stays a few megabytes whatever the size (and fresh
/// memory, slow to touch first, is not taken for each piece).
fn gzip_pieces(
    out: &mut dyn std::io::Write,
    fast_from: usize,
    produce: impl FnOnce(&mut dyn FnMut(&[u8])),
) -> std::io::Result<()> {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::mpsc;
    use std::sync::Mutex;

    /// A piece made a member: its sequence number, the member, and its buffer.
    type Done = (u64, Vec<u8>, Vec<u8>);
    /// A piece to make a member: its sequence number, its bytes, and the effort.
    type Piece = (u64, Vec<u8>, Effort);

    let threads = crate::parallel::cores();
    let (piece_tx, piece_rx) = mpsc::sync_channel::<Piece>(threads);
    // Each worker holds the receiving end: once they are all gone (a panic, resumed
    // below), sending fails instead of waiting for room.
    let piece_rx = std::sync::Arc::new(Mutex::new(piece_rx));
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    // Buffers of members written, for the next members.
    let spare_members: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        // The workers start when the first piece is handed over: an output of one piece
        // starts no thread.
        let mut unstarted = Some((piece_rx, done_tx));
        let spare = &spare_members;
        let mut start_workers = move || {
            let Some((piece_rx, done_tx)) = unstarted.take() else {
                return;
            };
            for _ in 0..threads {
                let (piece_rx, done_tx) = (piece_rx.clone(), done_tx.clone());
                scope.spawn(move || {
                    // One compressor for all the thread's pieces: making one allocates
                    // its tables.
                    let mut deflater = MemberDeflater::default();
                    loop {
                        let next = match piece_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((seq, piece, effort)) = next else {
                            return;
                        };
                        let room = spare.lock().ok().and_then(|mut s| s.pop());
                        let member = deflater.member(&piece, effort, room.unwrap_or_default());
                        if done_tx.send((seq, member, piece)).is_err() {
                            return;
                        }
                    }
                });
            }
            // The originals go: the workers hold the only receiving ends, and the
            // only sending ends of what they are done with.
        };

        /// The members, written in order, and the piece buffers to reuse.
        struct Writer<'o> {
            out: &'o mut dyn Write,
            next: u64,
            waiting: BTreeMap<u64, Vec<u8>>,
            spare: Vec<Vec<u8>>,
            spare_members: &'o Mutex<Vec<Vec<u8>>>,
            failed: Option<std::io::Error>,
        }
        impl Writer<'_> {
            fn write(&mut self, bytes: &[u8]) {
                if self.failed.is_none() {
                    self.failed = self.out.write_all(bytes).err();
                }
            }

            fn take(&mut self, (seq, member, mut piece): Done) {
                self.waiting.insert(seq, member);
                piece.clear();
                self.spare.push(piece);
                while let Some(member) = self.waiting.remove(&self.next) {
                    self.write(&member);
                    if let Ok(mut spare) = self.spare_members.lock() {
                        spare.push(member);
                    }
                    self.next += 1;
                }
            }
        }
        let mut w = Writer {
            out,
            next: 0,
            waiting: BTreeMap::new(),
            spare: Vec::new(),
            spare_members: &spare_members,
            failed: None,
        };
        let mut sent = 0u64;
        // This thread's own compressor, for the pieces no worker has room for.
        let mut own = MemberDeflater::default();
        let mut dispatch = |pieces: &mut Vec<Vec<u8>>, effort: Effort, w: &mut Writer| {
            start_workers();
            for piece in pieces.drain(..) {
                match piece_tx.try_send((sent, piece, effort)) {
                    // Every worker is busy: rather than wait, this thread compresses
                    // the piece. Waiting would leave a core idle whenever the
                    // scheduler puts this thread and a worker on one core.
                    Err(mpsc::TrySendError::Full((seq, piece, effort))) => {
                        let room = spare_members.lock().ok().and_then(|mut s| s.pop());
                        let member = own.member(&piece, effort, room.unwrap_or_default());
                        w.take((seq, member, piece));
                    }
                    // Every worker is gone (a panic, resumed below).
                    Err(mpsc::TrySendError::Disconnected(_)) | Ok(()) => {}
                }
                sent += 1;
            }
            while let Ok(done) = done_rx.try_recv() {
                w.take(done);
            }
        };
        // The first pieces are held until the output is known to be large, or ends.
        let mut held: Vec<Vec<u8>> = Vec::new();
        let mut held_bytes = 0;
        let mut large = false;
        let mut add = |piece: Vec<u8>, w: &mut Writer| {
            if w.failed.is_some() {
                // The destination failed: the rest is not compressed.
                return;
            }
            held_bytes += piece.len();
            held.push(piece);
            if large || held_bytes >= fast_from {
                large = true;
                dispatch(&mut held, Effort::Fast, w);
            }
        };
        let mut piece = Vec::with_capacity(GZIP_PIECE);
        produce(&mut |mut bytes: &[u8]| {
            while !bytes.is_empty() {
                let n = (GZIP_PIECE - piece.len()).min(bytes.len());
                piece.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                if piece.len() == GZIP_PIECE {
                    let fresh = w
                        .spare
                        .pop()
                        .unwrap_or_else(|| Vec::with_capacity(GZIP_PIECE));
                    add(std::mem::replace(&mut piece, fresh), &mut w);
                }
            }
        });
        if !piece.is_empty() {
            add(piece, &mut w);
        }
        if !large {
            if held.len() <= 1 {
                // One piece, or none (one empty member): no thread to hand it to.
                let one = held.pop().unwrap_or_default();
                let member = MemberDeflater::default().member(&one, Effort::Thorough, Vec::new());
                w.write(&member);
            } else {
                dispatch(&mut held, Effort::Thorough, &mut w);
            }
        }
        drop(piece_tx);
        while w.next < sent {
            match done_rx.recv() {
                Ok(done) => w.take(done),
                Err(_) => break,
            }
        }
        match w.failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Bytes that do not compress: deflate's output is then longer than its input.
    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// The members of `gz`, each split into its header, deflate stream and trailer by
    /// the length its header gives.
    fn members(mut gz: &[u8]) -> Vec<(&[u8], &[u8], &[u8])> {
        let mut out = Vec::new();
        while !gz.is_empty() {
            let header = &gz[..MEMBER_HEADER_LEN];
            assert_eq!(&header[12..14], &DEFLATE_LENGTH_ID);
            let len = u32::from_le_bytes(header[16..20].try_into().unwrap()) as usize;
            let (deflated, rest) = gz[MEMBER_HEADER_LEN..].split_at(len);
            out.push((header, deflated, &rest[..8]));
            gz = &rest[8..];
        }
        out
    }

    /// Checks that `gz` is a member per piece of `pieces`, each giving the length of
    /// its deflate stream, with extra flags `xfl`, and that gzip readers read it.
    fn check_members(gz: &[u8], pieces: &[Vec<u8>], xfl: u8) {
        let members = members(gz);
        assert_eq!(members.len(), pieces.len());
        for ((header, deflated, trailer), piece) in members.iter().zip(pieces) {
            let mut back = Vec::new();
            // The deflate stream ends exactly at the length given: nothing is left.
            let mut inflate = flate2::read::DeflateDecoder::new(*deflated);
            inflate.read_to_end(&mut back).unwrap();
            assert!(inflate.into_inner().is_empty());
            assert!(back == *piece);
            assert_eq!(trailer[..4], crc32fast::hash(piece).to_le_bytes());
            assert_eq!(trailer[4..], (piece.len() as u32).to_le_bytes());
            assert_eq!(header[8], xfl, "the effort in the extra flags");
        }
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(gz)
            .read_to_end(&mut back)
            .unwrap();
        assert!(
            back == pieces.concat(),
            "the members read one after another"
        );
    }

    #[test]
    fn each_member_of_a_large_output_gives_the_length_of_its_deflate_stream() {
        let pieces = [
            b"profile".repeat(GZIP_PIECE / 7 + 1)[..GZIP_PIECE].to_vec(),
            noise(GZIP_PIECE),
            noise(GZIP_PIECE)[..GZIP_PIECE / 2].repeat(2),
            vec![7; GZIP_PIECE],
            b"again".repeat(1_000),
        ];
        let all = pieces.concat();
        assert!(all.len() > LARGE_OUTPUT, "large");
        check_members(&gzip(&all), &pieces, 4);
    }

    #[test]
    fn large_outputs_give_mostly_matched_pieces_to_libdeflate_and_the_others_to_profkits_deflater()
    {
        let matched = b"profile ".repeat(GZIP_PIECE / 8);
        let literals = noise(GZIP_PIECE);
        let pieces = [&matched, &literals, &matched, &literals, &literals];
        let gz = gzip(
            &pieces
                .iter()
                .copied()
                .flatten()
                .copied()
                .collect::<Vec<u8>>(),
        );
        let mut libdeflate =
            libdeflater::Compressor::new(libdeflater::CompressionLvl::new(FAST_LEVEL).unwrap());
        let mut own = profkit_deflate::Compressor::new();
        for (piece, (_, deflated, _)) in pieces.iter().zip(members(&gz)) {
            let mut want = vec![0; libdeflate.deflate_compress_bound(piece.len())];
            if *piece == &matched {
                let n = libdeflate.deflate_compress(piece, &mut want).unwrap();
                want.truncate(n);
            } else {
                want.clear();
                own.compress(piece, &mut want);
            }
            assert!(deflated == want, "{} bytes", piece.len());
        }
    }

    #[test]
    fn smaller_outputs_are_members_compressed_thoroughly_one_alone() {
        let text = b"a profile of some size ".repeat(GZIP_PIECE / 8);
        assert!(text.len() < LARGE_OUTPUT);
        let pieces: Vec<Vec<u8>> = text.chunks(GZIP_PIECE).map(<[u8]>::to_vec).collect();
        assert_eq!(pieces.len(), 3);
        check_members(&gzip(&text), &pieces, 0);
        // Smaller than compressed fast.
        let fast = MemberDeflater::default().member(&pieces[0], Effort::Fast, Vec::new());
        let small = MemberDeflater::default().member(&pieces[0], Effort::Thorough, Vec::new());
        assert!(
            small.len() < fast.len(),
            "{} against {}",
            small.len(),
            fast.len()
        );
        for one in [b"profile".to_vec(), Vec::new()] {
            check_members(&gzip(&one), std::slice::from_ref(&one), 0);
        }
    }

    #[test]
    fn varints_made_in_a_word_are_those_the_writer_writes() {
        for v in [
            0u32,
            1,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            (1 << 28) - 1,
        ] {
            let mut w = Writer::default();
            w.varint(v as u64);
            let (word, n) = short_varint(v);
            assert_eq!(n, w.buf.len(), "{v}");
            assert_eq!(&word.to_le_bytes()[..n], &w.buf[..], "{v}");
        }
    }

    #[test]
    fn location_ids_that_are_not_positions_are_encoded_from_a_table() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/conformance/differential/inputs/cpu.pb.gz"
        ))
        .unwrap();
        let mut p = crate::parse(&data).unwrap();
        assert!(
            EncodedIds::of(&p).dense,
            "pprof numbers locations by position"
        );
        // Sparse ids, that of the first sample's leaf with a varint longer than a word.
        let leaf = p.samples.locations(0).first().unwrap() as usize;
        for (i, l) in p.locations.iter_mut().enumerate() {
            l.id = if i == leaf {
                1 << 40
            } else {
                7 + 300 * i as u64
            };
        }
        assert!(!EncodedIds::of(&p).dense);
        let back = super::super::decode(&encode(&p)).unwrap();
        let ids = |q: &Profile, i: usize| -> Vec<u64> {
            q.samples
                .locations(i)
                .iter()
                .map(|l| q.locations[l as usize].id)
                .collect()
        };
        assert_eq!(p.samples.len(), back.samples.len());
        for i in 0..p.samples.len() {
            assert_eq!(ids(&p, i), ids(&back, i), "sample {i}");
        }
        assert_eq!(ids(&back, 0)[0], 1 << 40);
    }

    #[test]
    fn profiles_compressed_for_speed_are_fast_members_at_any_size() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/conformance/differential/inputs/heap.pb.gz"
        ))
        .unwrap();
        let p = crate::parse(&data).unwrap();
        let raw = encode(&p);
        assert!(raw.len() < GZIP_PIECE);
        let fast = encode_gzip_fast(&p);
        check_members(&fast, std::slice::from_ref(&raw), 4);
        check_members(&encode_gzip(&p), std::slice::from_ref(&raw), 0);
    }

    #[test]
    fn the_length_known_before_encoding_is_at_most_the_encoded_length() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/conformance/differential/inputs"
        );
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let Ok(mut p) = crate::parse(&data) else {
                continue;
            };
            for p in [p.clone(), {
                // Zero addresses and line numbers, which are left out when encoded.
                for l in &mut p.locations {
                    l.address = 0;
                    for line in l.lines.iter_mut() {
                        line.line = 0;
                    }
                }
                p
            }] {
                let bound = encoded_len_at_least(&p, &StringRemap::new(&p));
                let len = encode(&p).len();
                assert!(bound <= len, "{bound} > {len}");
                assert!(bound * 4 >= len, "{bound} is far under {len}");
            }
            checked += 1;
        }
        assert!(checked >= 10, "{checked} profiles");
    }

    #[test]
    fn stored_blocks_hold_a_piece_of_any_length() {
        for len in [0, 1, 65_535, 65_536, 200_000] {
            let piece = noise(len);
            let mut back = Vec::new();
            let stored = stored_blocks(&piece);
            let mut inflate = flate2::read::DeflateDecoder::new(&stored[..]);
            inflate.read_to_end(&mut back).unwrap();
            assert!(
                inflate.into_inner().is_empty(),
                "{len} bytes: the stream ends"
            );
            assert!(back == piece, "{len} bytes");
        }
    }
}

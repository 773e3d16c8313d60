//! Encoding a [`Profile`] as profile.proto, the way pprof writes it: fields in number
//! order, zero scalars omitted, repeated numbers packed, unused strings dropped.

use super::wire::{varint_len, Writer, LEN};
use crate::model::{Label, Profile};
use crate::strings::StrId;

/// Bytes of an integer field with a one-byte key, omitted when zero.
#[inline]
fn int_field_len(v: u64) -> usize {
    if v == 0 {
        0
    } else {
        1 + varint_len(v)
    }
}

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
    /// The varint of each location's id, in the low bytes of a little-endian word
    /// (ids of 2^28 and more, whose varints take five bytes or more, are written from
    /// `long`).
    words: Vec<u32>,
    /// Its length in bytes (5 to 10 for the ids in `long`).
    lens: Vec<u8>,
    /// Varints longer than a word, by location index.
    long: std::collections::HashMap<u32, Vec<u8>>,
}

impl EncodedIds {
    fn of(p: &Profile) -> EncodedIds {
        let mut ids = EncodedIds {
            words: Vec::with_capacity(p.locations.len()),
            lens: Vec::with_capacity(p.locations.len()),
            long: Default::default(),
        };
        let mut w = Writer::default();
        for (i, l) in p.locations.iter().enumerate() {
            w.buf.clear();
            w.varint(l.id);
            let mut word = [0u8; 4];
            let n = w.buf.len().min(4);
            word[..n].copy_from_slice(&w.buf[..n]);
            ids.words.push(u32::from_le_bytes(word));
            ids.lens.push(w.buf.len() as u8);
            if w.buf.len() > 4 {
                ids.long.insert(i as u32, w.buf.clone());
            }
        }
        ids
    }

    /// Appends the varints of `frames` (location indices), `len` bytes in all.
    #[inline]
    fn append(&self, frames: &[u32], len: usize, out: &mut Vec<u8>) {
        let start = out.len();
        // Each id is stored as a whole word and the position advanced by its length:
        // no call per id. The spare 3 bytes at the end are cut off again.
        out.resize(start + len + 3, 0);
        let mut pos = start;
        for &l in frames {
            let l = l as usize;
            let n = self.lens[l] as usize;
            if n <= 4 {
                out[pos..pos + 4].copy_from_slice(&self.words[l].to_le_bytes());
            } else {
                out[pos..pos + n].copy_from_slice(&self.long[&(l as u32)]);
            }
            pos += n;
        }
        out.truncate(start + len);
    }
}

/// Writes every sample. Each message's length is computed before its body is written,
/// so no body moves, and each location id is encoded once, not once per frame.
fn write_samples(
    w: &mut Writer,
    p: &Profile,
    s: &impl Fn(StrId) -> u64,
    sink: &mut dyn FnMut(&mut Writer),
) {
    let ids = EncodedIds::of(p);
    let label_len = |l: &Label| {
        int_field_len(s(l.key))
            + int_field_len(s(l.str))
            + int_field_len(l.num as u64)
            + int_field_len(s(l.num_unit))
    };
    let samples = &p.samples;
    // The frames of one sample, unpacked once.
    let mut frames: Vec<u32> = Vec::new();
    for i in 0..samples.len() {
        frames.clear();
        frames.extend(samples.locations(i).iter());
        let values = samples.values(i);
        let labels = samples.labels(i);
        let frames_len: usize = frames.iter().map(|&l| ids.lens[l as usize] as usize).sum();
        let values_len: usize = values.iter().map(|v| varint_len(v as u64)).sum();
        // A label is written even when all its fields are zero.
        let labels_len: usize = labels
            .iter()
            .map(|l| {
                let n = label_len(l);
                1 + varint_len(n as u64) + n
            })
            .sum();
        let body = packed_field_len(frames_len) + packed_field_len(values_len) + labels_len;
        w.key(2, LEN);
        w.varint(body as u64);
        if frames_len > 0 {
            w.key(1, LEN);
            w.varint(frames_len as u64);
            ids.append(&frames, frames_len, &mut w.buf);
        }
        if values_len > 0 {
            w.key(2, LEN);
            w.varint(values_len as u64);
            for v in values {
                w.varint(v as u64);
            }
        }
        for l in labels {
            w.key(3, LEN);
            w.varint(label_len(l) as u64);
            w.int_opt(1, s(l.key));
            w.int_opt(2, s(l.str));
            w.int_opt(3, l.num as u64);
            w.int_opt(4, s(l.num_unit));
        }
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
    let remap = StringRemap::new(p);
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

/// Encodes `p` as gzipped profile.proto into `out`, compressing as it encodes (one
/// gzip member; the fast level for large profiles), so that memory holds the
/// compressed bytes only.
pub fn encode_gzip_to(p: &Profile, out: &mut Vec<u8>) {
    use std::io::Write;
    let large = p.samples.frame_count() + p.samples.len() * p.width() > PARALLEL_GZIP_MIN / 2;
    let level = if large {
        flate2::Compression::fast()
    } else {
        flate2::Compression::default()
    };
    let mut gz = flate2::write::GzEncoder::new(out, level);
    // Writing into a Vec cannot fail.
    encode_into(p, &mut |bytes| {
        let _ = gz.write_all(bytes);
    });
    let _ = gz.finish();
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

/// Encodes `p` as gzipped profile.proto, as pprof writes profile files.
pub fn encode_gzip(p: &Profile) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_gzip(p, &mut out);
    out
}

/// Encodes `p` as gzipped profile.proto into `out`, compressing as it encodes: no
/// copy of the whole message is made. A small profile is compressed at the default
/// level; a large one is cut into pieces compressed apart at the fast level on every
/// core. Either way the output is one gzip member.
pub fn write_gzip(p: &Profile, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    gzip_pieces(out, |sink| encode_into(p, sink))
}

/// Inputs at least this large are compressed fast and on every core.
const PARALLEL_GZIP_MIN: usize = 4 << 20;

/// Gzips `raw`. Small inputs become one member at the default level; large ones are
/// compressed as [`write_gzip`] compresses a large profile.
pub fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() / 4 + 64);
    // Writing into a Vec cannot fail.
    let _ = gzip_pieces(&mut out, |sink| {
        for chunk in raw.chunks(GZIP_PIECE) {
            sink(chunk);
        }
    });
    out
}

/// Bytes of input per piece of a large output.
const GZIP_PIECE: usize = 1 << 20;

/// The header of the gzip member of a large output: no flags or time; extra flags 4
/// (the fastest level); operating system unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255];

/// The last block of the deflate stream of a large output: an empty final block with
/// the fixed codes.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// `piece` deflated by `deflate` (raw deflate at the fast level, reset first) into
/// blocks that are not the last and end on a byte boundary, so that such pieces put
/// one after another make one deflate stream.
fn deflate_piece(deflate: &mut flate2::Compress, piece: &[u8]) -> Vec<u8> {
    deflate.reset();
    let mut out = Vec::with_capacity(piece.len() / 3 + 64);
    loop {
        let consumed = deflate.total_in() as usize;
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity() / 2);
        }
        let rest = piece.get(consumed..).unwrap_or_default();
        // A sync flush ends the blocks with an empty stored one, on a byte boundary.
        match deflate.compress_vec(rest, &mut out, flate2::FlushCompress::Sync) {
            // Room left over: everything is in, and flushed.
            Ok(_) if deflate.total_in() as usize == piece.len() && out.len() < out.capacity() => {
                return out;
            }
            Ok(_) => {}
            // Deflating into memory does not fail; were it to, the piece is stored.
            Err(_) => return stored_blocks(piece),
        }
    }
}

/// `piece` as stored deflate blocks that are not the last, starting on a byte boundary.
fn stored_blocks(piece: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(piece.len() + piece.len() / 65535 * 5 + 5);
    for chunk in piece.chunks(u16::MAX as usize) {
        let len = chunk.len() as u16;
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// Gzips the bytes `produce` hands its sink into `out`, as one gzip member. Output of
/// less than [`PARALLEL_GZIP_MIN`] bytes in all is compressed at the default level;
/// more is cut into pieces of [`GZIP_PIECE`] bytes, deflated apart at the fast level
/// on one thread per core, and written in order as they are done, between one header
/// and one trailer (the CRC-32s of the pieces combined). Pieces in flight are bounded
/// (two per thread) and their buffers reused, so memory stays a few megabytes
/// whatever the size.
fn gzip_pieces(
    out: &mut dyn std::io::Write,
    produce: impl FnOnce(&mut dyn FnMut(&[u8])),
) -> std::io::Result<()> {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::mpsc;
    use std::sync::Mutex;

    /// A piece deflated: its sequence number, deflated bytes, CRC-32, and its buffer.
    type Done = (u64, Vec<u8>, crc32fast::Hasher, Vec<u8>);

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (piece_tx, piece_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads);
    let piece_rx = Mutex::new(piece_rx);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (piece_rx, done_tx) = (&piece_rx, done_tx.clone());
            scope.spawn(move || {
                // One compressor for all the thread's pieces: making one allocates and
                // clears a few hundred kilobytes of tables.
                let mut deflate = flate2::Compress::new(flate2::Compression::fast(), false);
                loop {
                    let next = match piece_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, piece)) = next else { return };
                    let deflated = deflate_piece(&mut deflate, &piece);
                    let mut crc = crc32fast::Hasher::new();
                    crc.update(&piece);
                    if done_tx.send((seq, deflated, crc, piece)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);

        /// The pieces deflated, written in order after the header, the CRC-32 and size
        /// of those written, and the piece buffers to reuse.
        struct Writer<'o> {
            out: &'o mut dyn Write,
            next: u64,
            waiting: BTreeMap<u64, (Vec<u8>, crc32fast::Hasher, usize)>,
            crc: crc32fast::Hasher,
            size: u64,
            spare: Vec<Vec<u8>>,
            failed: Option<std::io::Error>,
        }
        impl Writer<'_> {
            fn write(&mut self, bytes: &[u8]) {
                if self.failed.is_none() {
                    self.failed = self.out.write_all(bytes).err();
                }
            }

            fn take(&mut self, (seq, deflated, crc, mut piece): Done) {
                self.waiting.insert(seq, (deflated, crc, piece.len()));
                piece.clear();
                self.spare.push(piece);
                while let Some((deflated, crc, len)) = self.waiting.remove(&self.next) {
                    if self.next == 0 {
                        self.write(&GZIP_HEADER);
                    }
                    self.write(&deflated);
                    self.crc.combine(&crc);
                    self.size += len as u64;
                    self.next += 1;
                }
            }

            /// Ends the deflate stream and writes the trailer.
            fn finish(&mut self) {
                self.write(&FINAL_BLOCK);
                let crc = self.crc.clone().finalize();
                self.write(&crc.to_le_bytes());
                self.write(&(self.size as u32).to_le_bytes());
            }
        }
        let mut w = Writer {
            out,
            next: 0,
            waiting: BTreeMap::new(),
            crc: crc32fast::Hasher::new(),
            size: 0,
            spare: Vec::new(),
            failed: None,
        };
        let mut sent = 0u64;
        let mut piece = Vec::with_capacity(GZIP_PIECE);
        // The first pieces are held until there are enough of them for compressing
        // them apart to be worth it; a smaller output is compressed whole below.
        let mut held: Vec<Vec<u8>> = Vec::new();
        let mut held_bytes = 0;
        let mut send = |piece: Vec<u8>, w: &mut Writer, held: &mut Vec<Vec<u8>>| {
            if sent == 0 && held_bytes + piece.len() < PARALLEL_GZIP_MIN {
                held_bytes += piece.len();
                held.push(piece);
                return;
            }
            for piece in held.drain(..).chain(std::iter::once(piece)) {
                // A send fails only when every worker is gone (a panic, resumed below).
                let _ = piece_tx.send((sent, piece));
                sent += 1;
            }
            while let Ok(done) = done_rx.try_recv() {
                w.take(done);
            }
        };
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
                    send(std::mem::replace(&mut piece, fresh), &mut w, &mut held);
                }
            }
        });
        if !piece.is_empty() {
            send(piece, &mut w, &mut held);
        }
        drop(piece_tx);
        if sent == 0 {
            let mut gz = flate2::write::GzEncoder::new(w.out, flate2::Compression::default());
            for piece in &held {
                gz.write_all(piece)?;
            }
            return gz.finish().map(drop);
        }
        while w.next < sent {
            match done_rx.recv() {
                Ok(done) => w.take(done),
                Err(_) => break,
            }
        }
        if w.next == sent {
            w.finish();
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

    #[test]
    fn pieces_deflated_apart_by_one_reused_compressor_make_one_stream() {
        let pieces = [
            b"profile".repeat(50_000),
            noise(GZIP_PIECE),
            Vec::new(),
            b"again".repeat(1_000),
        ];
        let mut deflate = flate2::Compress::new(flate2::Compression::fast(), false);
        let mut stream = Vec::new();
        for piece in &pieces {
            stream.extend_from_slice(&deflate_piece(&mut deflate, piece));
        }
        stream.extend_from_slice(&FINAL_BLOCK);
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&stream[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == pieces.concat(), "the pieces read as one stream");
    }

    #[test]
    fn stored_blocks_hold_a_piece_of_any_length() {
        for len in [0, 1, 65_535, 65_536, 200_000] {
            let piece = noise(len);
            let mut stream = stored_blocks(&piece);
            stream.extend_from_slice(&FINAL_BLOCK);
            let mut back = Vec::new();
            flate2::read::DeflateDecoder::new(&stream[..])
                .read_to_end(&mut back)
                .unwrap();
            assert!(back == piece, "{len} bytes");
        }
    }
}

//! Reading a profile from bytes in any format pprof reads: profile.proto, gzipped or
//! not, and the legacy text and binary formats, told apart by content.

use std::io::Read;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};
use crate::model::Profile;
use crate::{legacy, merge, proto};

mod gzip;

/// Default limit on the decompressed size of a gzipped profile: 4 GiB.
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 4 << 30;

/// How many times its size a gzipped input may inflate to beyond the default limit.
/// Profiles inflate to a few times their size (up to 5 times among the shipped ones);
/// a decompression bomb to about a thousand times.
const MAX_INFLATION: u64 = 64;

/// The decompression limit for a gzipped input of `compressed` bytes: the default
/// limit, or 64 times its size when that is more. A large profile is read whatever
/// its size; a small input cannot inflate without bound.
pub fn decompression_limit(compressed: u64) -> u64 {
    DEFAULT_MAX_DECOMPRESSED.max(compressed.saturating_mul(MAX_INFLATION))
}

/// How [`parse_with`] reads its input.
#[derive(Clone, Copy, Debug)]
pub struct ParseOptions {
    /// Largest decompressed size accepted from a gzipped input, in bytes; a larger
    /// stream is refused as a likely decompression bomb.
    pub max_decompressed: u64,
    /// Keep the samples' labels. A report that never reads them (`-top`, `-peek`,
    /// `-list`, flame graphs) can leave them out of a profile.proto input, which saves
    /// their memory and the time to store them; the keys and units of numeric labels
    /// are still recorded in [`Profile::dropped_label_units`]. Only the streaming
    /// decoder leaves labels out, so some inputs keep them regardless.
    pub keep_labels: bool,
    /// With `keep_labels`, keep the numeric labels too. A report that reads labels only
    /// through regular expressions on string labels (`-tagfocus=key=regexp`) can leave
    /// the numeric ones out, which on profiles with a size or count label per sample
    /// turns millions of distinct label sets into a few; their keys and units are still
    /// recorded in [`Profile::dropped_label_units`]. Only the streaming decoder leaves
    /// them out.
    pub keep_numeric_labels: bool,
    /// Keep the samples' stacks. A report that reads only values and labels (`-tags`)
    /// can leave them out of a profile.proto input, which saves their memory (the
    /// largest part of most profiles) and the time to store them; their location ids
    /// are still checked. The locations, which no stack then refers to, are checked
    /// and left out too. As with labels, only the streaming decoder leaves them out.
    pub keep_stacks: bool,
    /// Put each sample's labels in pprof's canonical order (string labels, then
    /// numeric ones, each by key), the order in which every report that shows a
    /// sample's labels prints them. A report that only sums values by label (`-tags`)
    /// can leave them in their order in the input, which saves ordering each distinct
    /// label set: a million of them on profiles with a size label per sample. Only the
    /// streaming decoder leaves them so.
    pub order_labels: bool,
    /// Read, inflate and decode on the caller's thread alone, without the threads
    /// the streaming decoder otherwise starts (to read ahead, to inflate, to pack the
    /// stacks). For a caller that reads several inputs at once, one per core, where
    /// those threads would only take turns with the other inputs' and cost their
    /// start and their hand-overs.
    pub one_thread: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            keep_labels: true,
            keep_numeric_labels: true,
            keep_stacks: true,
            order_labels: true,
            one_thread: false,
        }
    }
}

/// Parses a profile in any supported format with the default options.
pub fn parse(data: &[u8]) -> Result<Profile> {
    parse_with(data, &ParseOptions::default())
}

/// Parses a profile in any supported format.
///
/// Gzip is detected by its magic bytes and inflated (concatenated gzip members are
/// read as one stream, as pprof does); the result is decoded as profile.proto and,
/// when it is not one, by each legacy parser in pprof's order.
pub fn parse_with(data: &[u8], options: &ParseOptions) -> Result<Profile> {
    if is_gzip(data) {
        // Inflated and decoded a piece at a time, as a file is, when the bytes allow
        // it; anything else is left to the whole-buffer path below, which words errors.
        let streamed = match stream_gzip_bytes(data, options) {
            Ok(p) => Some(p),
            Err(Stopped::SeveralMembers) => stream_members(data, options),
            Err(Stopped::Unreadable) => None,
        };
        if let Some(p) = streamed {
            return Ok(p);
        }
    }
    let inflated;
    let data = if is_gzip(data) {
        inflated = gunzip(data, options.max_decompressed)
            .map_err(|e| e.context("decompressing profile"))?;
        &inflated[..]
    } else {
        data
    };
    parse_uncompressed_with(data, options).map_err(|e| e.context("parsing profile"))
}

/// Bytes of profile handed from the reading thread to the decoder at a time.
const STREAM_CHUNK: usize = 1 << 18;

/// Parses a profile.proto from `reader`, gzipped or not, decoding it as it is read:
/// a second thread reads (and inflates) while the first decodes what has arrived, and
/// neither the input nor the samples' bytes are ever held whole.
///
/// Returns `None` when the input is not a profile.proto this path can decode exactly
/// as [`parse_with`] would (a legacy format, concatenated messages, gzip members put
/// end to end, which [`parse_stream_file`] reads, an error of any kind) or inflates to
/// more than `limit` bytes: the caller then reads the input again and calls
/// [`parse_with`], which handles every format and words every error. So the input must be one that can be read again (a file, not a pipe),
/// and one whose reads return: when decoding gives up early, the reading thread is
/// waited for.
pub fn parse_stream<R: Read + Send>(reader: R, limit: u64) -> Option<Profile> {
    parse_stream_with(
        reader,
        &ParseOptions {
            max_decompressed: limit,
            ..ParseOptions::default()
        },
    )
}

/// [`parse_stream`] with `options` (the decompression limit and whether to keep the
/// samples' labels and stacks).
pub fn parse_stream_with<R: Read + Send>(reader: R, options: &ParseOptions) -> Option<Profile> {
    stream(reader, options, false, None).ok()
}

/// [`parse_stream_with`] on the file at `path`, which is opened again when needed: a
/// gzip file of several members (files put end to end) is read again by flate2's
/// reader of members, also as it is decoded. `None` as for [`parse_stream`], and when
/// the file does not open.
pub fn parse_stream_file(path: &std::path::Path, options: &ParseOptions) -> Option<Profile> {
    let open = || {
        let file = std::fs::File::open(path).ok()?;
        Some(std::io::BufReader::with_capacity(1 << 16, file))
    };
    let trailer = gzip_trailer_of(path);
    let pack_frames_elsewhere = trailer.is_some_and(|(len, size)| inflates_far_faster(len, size));
    let expected = trailer.map(|(_, size)| u32::from_le_bytes(size) as u64);
    match stream(open()?, options, pack_frames_elsewhere, expected) {
        Ok(p) => Some(p),
        Err(Stopped::SeveralMembers) => stream_members(open()?, options),
        Err(Stopped::Unreadable) => None,
    }
}

/// The length of the file at `path` and its last 4 bytes: the size a gzip file's
/// trailer gives, modulo 4 GiB (if the file is one).
fn gzip_trailer_of(path: &std::path::Path) -> Option<(u64, [u8; 4])> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::End(-4)).ok()?;
    let mut size = [0u8; 4];
    file.read_exact(&mut size).ok()?;
    Some((len, size))
}

/// Whether a gzip stream of `len` bytes whose last 4 bytes are `trailer_size` inflates
/// to at least three times its length, by the size that trailer gives (modulo 4 GiB):
/// such bytes inflate far faster than they decode (a real Go heap profile: 1.1 GB/s
/// against 550 MB/s; the benchmark profiles, 1.3 to 1.8 times their size gzipped, 580
/// against 440 MB/s), which leaves the inflating thread's core room for packing the
/// samples' frames (see [`proto::StreamDecoder::pack_frames_elsewhere`]).
fn inflates_far_faster(len: u64, trailer_size: [u8; 4]) -> bool {
    len >= 18 && u32::from_le_bytes(trailer_size) as u64 >= 3 * len
}

/// Gzipped bytes held in memory (a profile fetched over HTTP) of this length or more
/// are inflated on a thread of their own while the caller's decodes; shorter ones on
/// the caller's thread alone, where starting a thread would cost more than it gains.
const OVERLAPPED_BYTES: usize = 1 << 20;

/// Inflates and decodes the gzipped bytes `data` a piece at a time, as
/// [`parse_stream_file`] reads a file (but with no thread to read ahead: the bytes are
/// all there), failing as [`stream`] does.
fn stream_gzip_bytes(data: &[u8], options: &ParseOptions) -> std::result::Result<Profile, Stopped> {
    let limit = options.max_decompressed;
    let inflate = |pieces: &mut Pieces| gzip::inflate_pieces(data, pieces);
    if options.one_thread || data.len() < OVERLAPPED_BYTES {
        return decode_pieces_here(limit, options, inflate);
    }
    let trailer = data.last_chunk::<4>().copied().unwrap_or_default();
    let pack_frames_elsewhere = inflates_far_faster(data.len() as u64, trailer);
    let expected = Some(u32::from_le_bytes(trailer) as u64);
    decode_pieces(limit, expected, options, pack_frames_elsewhere, inflate)
}

/// Why reading a profile as it is decoded stopped short of one.
#[derive(Debug, PartialEq)]
enum Stopped {
    /// The input is not one the streaming path reads (or not as the whole-buffer path
    /// would), or reading failed: it is to be read whole.
    Unreadable,
    /// A member of a gzip stream that does not give the length of its deflate stream
    /// ends before the input does (more members, or bytes that are not one, follow),
    /// or one that gives it ends before that: the file is one for flate2's reader of
    /// members, which reads members by their deflate streams alone.
    SeveralMembers,
}

/// Reads and decodes `reader` as [`parse_stream_with`] describes, telling why it
/// stopped short.
fn stream<R: Read + Send>(
    mut reader: R,
    options: &ParseOptions,
    pack_frames_elsewhere: bool,
    expected: Option<u64>,
) -> std::result::Result<Profile, Stopped> {
    let mut magic = [0u8; 2];
    reader
        .read_exact(&mut magic)
        .map_err(|_| Stopped::Unreadable)?;
    let input = std::io::Cursor::new(magic).chain(reader);
    if options.one_thread {
        let limit = options.max_decompressed;
        return if is_gzip(&magic) {
            let input = std::io::BufReader::with_capacity(1 << 16, input);
            decode_pieces_here(limit, options, |pieces| gzip::inflate_pieces(input, pieces))
        } else {
            decode_pieces_here(u64::MAX, options, |pieces| read_pieces(input, pieces))
        };
    }
    if !is_gzip(&magic) {
        // Reading plain bytes leaves the reading thread's core nearly idle.
        return decode_pieces(u64::MAX, None, options, true, |pieces| {
            read_pieces(input, pieces)
        });
    }
    // Inflating and decoding set the pace of reading: a third thread reads the input
    // ahead of them, so that copying the file's bytes is not part of their work.
    std::thread::scope(|scope| {
        let input = ReadAhead::spawn(scope, input).ok_or(Stopped::Unreadable)?;
        decode_pieces(
            options.max_decompressed,
            expected,
            options,
            pack_frames_elsewhere,
            |pieces| gzip::inflate_pieces(input, pieces),
        )
    })
}

/// Reads and decodes the gzip stream `reader` of any number of members, inflated by
/// flate2 (zlib-rs) a piece at a time; `None` as for [`parse_stream`].
fn stream_members<R: Read + Send>(reader: R, options: &ParseOptions) -> Option<Profile> {
    if options.one_thread {
        let members = flate2::read::MultiGzDecoder::new(reader);
        return decode_pieces_here(options.max_decompressed, options, |pieces| {
            read_pieces(members, pieces)
        })
        .ok();
    }
    std::thread::scope(|scope| {
        let input = ReadAhead::spawn(scope, reader)?;
        let members = flate2::bufread::MultiGzDecoder::new(input);
        decode_pieces(options.max_decompressed, None, options, false, |pieces| {
            read_pieces(members, pieces)
        })
        .ok()
    })
}

/// Where the bytes of a profile go as they are read (and inflated): pieces of it, each
/// a buffer with the range of its bytes that are new, and buffers to fill (new ones,
/// or ones already decoded).
struct Pieces<'d> {
    to: Decoding<'d>,
    /// New bytes handed over so far.
    total: u64,
    /// Most new bytes to hand over.
    limit: u64,
    /// New bytes the input says it holds (a gzip trailer's size, modulo 4 GiB), when
    /// it says and another thread decodes: the last of them are handed over in
    /// smaller pieces (see [`Pieces::near_end`]). Only a hint: of several members, the
    /// last trailer gives the last member's size, and a few small pieces then come
    /// early, the end whole.
    expected: Option<u64>,
}

/// Who decodes the pieces.
enum Decoding<'d> {
    /// A thread of its own, which takes filled buffers from one channel and hands them
    /// back through the other.
    Elsewhere {
        full: std::sync::mpsc::SyncSender<(Vec<u8>, std::ops::Range<usize>)>,
        spent: std::sync::mpsc::Receiver<Vec<u8>>,
    },
    /// The reading thread, each piece as it is handed over; the buffer decoded last
    /// is filled next. `failed` is set when a piece does not decode.
    Here {
        decoder: &'d mut proto::StreamDecoder,
        spare: Option<Vec<u8>>,
        failed: &'d mut bool,
    },
}

impl Pieces<'_> {
    /// Length of every buffer: a piece's new bytes, and before them, when inflating,
    /// the inflated bytes its matches may reach back into.
    const BUFFER: usize = STREAM_CHUNK + gzip::HISTORY;

    /// New bytes of a piece handed over [`near_end`](Self::near_end).
    const LAST_PIECE: usize = 64 << 10;

    /// Whether the new bytes still to come, by [`expected`](Self::expected), fit in one
    /// piece: they are then handed over [`LAST_PIECE`](Self::LAST_PIECE) bytes at a
    /// time, so that what is left to decode once the input ends is a small piece, not
    /// a whole one (a whole one takes half a millisecond). Past the expected bytes (a
    /// size wrapped modulo 4 GiB), pieces are whole again.
    fn near_end(&self) -> bool {
        self.expected.is_some_and(|expected| {
            self.total < expected && expected - self.total <= STREAM_CHUNK as u64
        })
    }

    /// A buffer of [`Pieces::BUFFER`] bytes to fill.
    fn buffer(&mut self) -> Vec<u8> {
        let reused = match &mut self.to {
            Decoding::Elsewhere { spent, .. } => spent.try_recv().ok(),
            Decoding::Here { spare, .. } => spare.take(),
        };
        reused.unwrap_or_else(|| vec![0; Self::BUFFER])
    }

    /// Hands `buf[new]` over; false when the decoder has stopped, or when the bytes
    /// handed over pass the limit.
    fn send(&mut self, buf: Vec<u8>, new: std::ops::Range<usize>) -> bool {
        self.total += new.len() as u64;
        if self.total > self.limit {
            return false;
        }
        match &mut self.to {
            Decoding::Elsewhere { full, .. } => full.send((buf, new)).is_ok(),
            Decoding::Here {
                decoder,
                spare,
                failed,
            } => {
                **failed = decoder.feed(&buf[new]).is_err();
                *spare = Some(buf);
                !**failed
            }
        }
    }
}

/// Reads `source` into pieces, whole; fails on a read error or when `pieces` refuses
/// one.
fn read_pieces(mut source: impl Read, pieces: &mut Pieces) -> std::result::Result<(), Stopped> {
    loop {
        let mut buf = pieces.buffer();
        let filled = fill(&mut source, &mut buf).map_err(|_| Stopped::Unreadable)?;
        if filled == 0 {
            return Ok(());
        }
        if !pieces.send(buf, 0..filled) {
            return Err(Stopped::Unreadable);
        }
    }
}

/// Bytes read from a source by a thread of its own, in blocks of [`ReadAhead::BLOCK`]
/// bytes, a few blocks ahead of the consumer.
struct ReadAhead {
    /// Blocks as they are read; an error ends them; the channel closes at the end.
    blocks: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    /// Consumed blocks, handed back for reuse.
    spent: std::sync::mpsc::SyncSender<Vec<u8>>,
    /// The block being consumed.
    current: Vec<u8>,
    /// Bytes of it consumed.
    pos: usize,
}

impl ReadAhead {
    /// Bytes per block.
    const BLOCK: usize = 1 << 18;

    /// Starts reading `source` on a thread of `scope`; `None` when no thread starts.
    fn spawn<'scope, R: Read + Send + 'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        mut source: R,
    ) -> Option<ReadAhead> {
        let (block_tx, blocks) = std::sync::mpsc::sync_channel(2);
        let (spent, spent_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        std::thread::Builder::new()
            .spawn_scoped(scope, move || loop {
                let mut block = spent_rx.try_recv().unwrap_or_default();
                // Only a block's unused tail (none once it has been full) is zeroed.
                block.resize(Self::BLOCK, 0);
                let filled = match fill(&mut source, &mut block) {
                    Ok(filled) => filled,
                    Err(e) => {
                        let _ = block_tx.send(Err(e));
                        return;
                    }
                };
                if filled == 0 {
                    return;
                }
                block.truncate(filled);
                if block_tx.send(Ok(block)).is_err() {
                    // The consumer stopped.
                    return;
                }
            })
            .ok()?;
        Some(ReadAhead {
            blocks,
            spent,
            current: Vec::new(),
            pos: 0,
        })
    }
}

impl std::io::BufRead for ReadAhead {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos == self.current.len() {
            // A closed channel is the end of the input.
            if let Ok(next) = self.blocks.recv() {
                let spent = std::mem::replace(&mut self.current, next?);
                let _ = self.spent.try_send(spent);
                self.pos = 0;
            }
        }
        Ok(&self.current[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.current.len());
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::BufRead;
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Decodes the pieces `produce` hands over from a second thread (up to `limit` new
/// bytes; their buffers handed back for reuse), the samples' frames packed on a third
/// when `pack_frames_elsewhere`. Fails as `produce` fails, and with
/// [`Stopped::Unreadable`] when decoding fails or past `limit` bytes.
fn decode_pieces(
    limit: u64,
    expected: Option<u64>,
    options: &ParseOptions,
    pack_frames_elsewhere: bool,
    produce: impl FnOnce(&mut Pieces) -> std::result::Result<(), Stopped> + Send,
) -> std::result::Result<Profile, Stopped> {
    let (full, full_rx) = std::sync::mpsc::sync_channel(2);
    let (empty_tx, spent) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new().spawn_scoped(scope, move || {
            produce(&mut Pieces {
                to: Decoding::Elsewhere { full, spent },
                total: 0,
                limit,
                expected,
            })
        });
        // Without a second thread, the caller reads the input whole.
        let reader = reader.map_err(|_| Stopped::Unreadable)?;
        let mut decoder = proto::StreamDecoder::with_options(options);
        decoder.pack_frames_elsewhere(pack_frames_elsewhere);
        let mut decoded = true;
        while let Ok((piece, new)) = full_rx.recv() {
            if decoder.feed(&piece[new]).is_err() {
                decoded = false;
                break;
            }
            let _ = empty_tx.try_send(piece);
        }
        // Stops the reader if decoding gave up early.
        drop(full_rx);
        // What the reader says comes first: of several members, the decoder saw the
        // first only.
        reader.join().unwrap_or(Err(Stopped::Unreadable))?;
        if !decoded {
            return Err(Stopped::Unreadable);
        }
        decoder.finish().map_err(|_| Stopped::Unreadable)
    })
}

/// [`decode_pieces`] on the caller's thread alone: each piece is decoded as soon as
/// `produce` hands it over, in a buffer that is then filled again.
fn decode_pieces_here(
    limit: u64,
    options: &ParseOptions,
    produce: impl FnOnce(&mut Pieces) -> std::result::Result<(), Stopped>,
) -> std::result::Result<Profile, Stopped> {
    let mut decoder = proto::StreamDecoder::with_options(options);
    let mut failed = false;
    let read = produce(&mut Pieces {
        to: Decoding::Here {
            decoder: &mut decoder,
            spare: None,
            failed: &mut failed,
        },
        total: 0,
        limit,
        expected: None,
    });
    // As on two threads, what the reader says comes first: of several members, the
    // decoder saw the first only.
    read?;
    if failed {
        return Err(Stopped::Unreadable);
    }
    decoder.finish().map_err(|_| Stopped::Unreadable)
}

/// Reads from `source` until `buf` is full or the input ends; returns how many bytes
/// were read.
fn fill(source: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Whether `data` starts with the gzip magic bytes.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// Inflates a gzip stream (all its members), refusing more than `limit` bytes of output
/// and a stream that ends early.
pub fn gunzip(data: &[u8], limit: u64) -> Result<Vec<u8>> {
    // A gzip trailer records the size of the last member modulo 2^32: a good first guess.
    let hint = if data.len() >= 4 {
        let t = &data[data.len() - 4..];
        u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as u64
    } else {
        0
    };
    let capacity = hint.max(data.len() as u64 * 4).min(limit).min(1 << 32) as usize;
    let mut out = Vec::with_capacity(capacity);
    let mut reader = MultiGzDecoder::new(data).take(limit.saturating_add(1));
    reader.read_to_end(&mut out).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            Error::new("gzip stream is truncated (unexpected end of file)")
        }
        _ => Error::new(format!("invalid gzip stream: {e}")),
    })?;
    if out.len() as u64 > limit {
        return Err(Error::new(format!(
            "decompressed size exceeds the limit of {limit} bytes (a decompression bomb?)"
        )));
    }
    Ok(out)
}

/// Parses uncompressed bytes: profile.proto first, then the legacy formats.
pub fn parse_uncompressed(data: &[u8]) -> Result<Profile> {
    parse_uncompressed_with(data, &ParseOptions::default())
}

/// [`parse_uncompressed`], leaving the samples' labels or stacks out of a
/// profile.proto input as `options` say (see [`ParseOptions::keep_labels`]).
fn parse_uncompressed_with(data: &[u8], options: &ParseOptions) -> Result<Profile> {
    if data.is_empty() {
        return Err(Error::new("empty input file"));
    }
    let proto_error = match parse_proto(data, options) {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    match legacy::parse(data) {
        Ok(p) => Ok(p),
        Err(legacy::LegacyError::Unrecognized) => {
            if looks_like_text(data) {
                Err(Error::new("unrecognized profile format"))
            } else {
                Err(proto_error)
            }
        }
        Err(legacy::LegacyError::Malformed(e)) => Err(e),
    }
}

/// Decodes profile.proto, merging several messages written back to back.
fn parse_proto(data: &[u8], options: &ParseOptions) -> Result<Profile> {
    // The streaming decoder is the faster one; it gives up on anything it cannot vouch
    // for (errors, concatenated messages), which the whole-buffer decoder then handles
    // and words.
    let mut streamed = proto::StreamDecoder::with_options(options);
    if streamed.feed(data).is_ok() {
        if let Ok(p) = streamed.finish() {
            return Ok(p);
        }
    }
    let parts = proto::split_concatenated(data)?;
    if parts.len() == 1 {
        return proto::decode(data);
    }
    let mut profiles = Vec::with_capacity(parts.len());
    for (start, end) in parts {
        profiles.push(proto::decode_at(&data[start..end], start)?);
    }
    merge::merge(profiles)
}

/// Whether the input reads as text (so a proto decoding error says little about it).
fn looks_like_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(512)];
    head.iter()
        .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, Read};

    use super::ReadAhead;

    /// Gives `data` a few odd-sized pieces at a time, then fails if `fail` is set.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        fail: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.data.len() && self.fail {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.data.len() - self.pos).min(77_777);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn read_ahead(data: &[u8], fail: bool) -> std::io::Result<Vec<u8>> {
        let source = Trickle {
            data: data.to_vec(),
            pos: 0,
            fail,
        };
        std::thread::scope(|scope| {
            let mut input = ReadAhead::spawn(scope, source).expect("thread");
            let mut out = Vec::new();
            input.read_to_end(&mut out)?;
            Ok(out)
        })
    }

    #[test]
    fn read_ahead_hands_over_every_byte_in_order_across_blocks() {
        let data: Vec<u8> = (0..ReadAhead::BLOCK * 5 + 12_345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        assert_eq!(read_ahead(&data, false).unwrap(), data);
        assert_eq!(read_ahead(&[], false).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn read_ahead_passes_a_read_error_on() {
        let data = vec![1u8; ReadAhead::BLOCK * 2 + 5];
        let err = read_ahead(&data, true).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
    }

    #[test]
    fn read_ahead_stops_when_its_consumer_does() {
        // A source far longer than what is consumed: dropping the consumer ends the
        // reading thread a few blocks later, and the scope returns.
        let source = Trickle {
            data: vec![9; ReadAhead::BLOCK * 64],
            pos: 0,
            fail: false,
        };
        let read = std::sync::atomic::AtomicUsize::new(0);
        struct Counted<'a>(Trickle, &'a std::sync::atomic::AtomicUsize);
        impl Read for Counted<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.read(buf)?;
                self.1.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                Ok(n)
            }
        }
        std::thread::scope(|scope| {
            let mut input = ReadAhead::spawn(scope, Counted(source, &read)).expect("thread");
            assert_eq!(input.fill_buf().unwrap()[0], 9);
        });
        let read = read.into_inner();
        assert!(read <= ReadAhead::BLOCK * 8, "read {read} bytes");
    }
}

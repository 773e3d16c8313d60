//! Writing bits low bit first into a byte buffer of known room.

/// A writer of bits into `out`, first bits in the low bits of each byte, as deflate
/// packs them. Whole bytes are stored eight at a time; `out` must keep 8 bytes of room
/// past the last byte written, which the caller sizes ahead (see [`Self::ensure`]).
pub(crate) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Where the next whole byte goes.
    pos: usize,
    /// Bits not yet stored, in the low `count` bits.
    bits: u64,
    count: u32,
}

impl<'a> BitWriter<'a> {
    /// A writer appending to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> BitWriter<'a> {
        let pos = out.len();
        BitWriter {
            out,
            pos,
            bits: 0,
            count: 0,
        }
    }

    /// Makes room for `bytes` more bytes of output, and the 8 a store may overshoot by.
    #[inline]
    pub(crate) fn ensure(&mut self, bytes: usize) {
        let need = self.pos + bytes + 16;
        if self.out.len() < need {
            self.out.resize(need.max(self.out.len() * 2), 0);
        }
    }

    /// Adds the low `n` bits of `value` (whose other bits are zero). At most 64 bits
    /// may be pending: after a [`Self::flush`] at most 7 are, so up to 57 can be added
    /// before the next.
    #[inline(always)]
    pub(crate) fn put(&mut self, value: u64, n: u32) {
        debug_assert!(n == 64 || value >> n == 0);
        self.bits |= value << self.count;
        self.count += n;
        debug_assert!(self.count <= 64);
    }

    /// Stores the whole bytes of the pending bits.
    #[inline(always)]
    pub(crate) fn flush(&mut self) {
        debug_assert!(self.pos + 8 <= self.out.len());
        self.out[self.pos..self.pos + 8].copy_from_slice(&self.bits.to_le_bytes());
        let bytes = self.count >> 3;
        self.pos += bytes as usize;
        // A shift by 64 would overflow; by 56 at most here.
        self.bits = if bytes == 8 {
            0
        } else {
            self.bits >> (bytes * 8)
        };
        self.count &= 7;
    }

    /// Pads to a byte boundary with zero bits.
    pub(crate) fn align(&mut self) {
        if self.count & 7 != 0 {
            self.count = (self.count + 7) & !7;
        }
        self.flush();
    }

    /// Appends `bytes` at a byte boundary (after [`Self::align`]).
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        debug_assert_eq!(self.count, 0);
        self.ensure(bytes.len());
        self.out[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    /// Stores the last bits, padded with zeros, and cuts `out` to what was written.
    pub(crate) fn finish(mut self) {
        self.ensure(0);
        self.align();
        self.out.truncate(self.pos);
    }
}

//! Protocol-buffer wire format: a bounds-checked reader and an appending writer.

use crate::error::{Error, Result};

/// Wire type of a varint field.
pub const VARINT: u8 = 0;
/// Wire type of a 64-bit fixed field.
pub const FIXED64: u8 = 1;
/// Wire type of a length-delimited field (bytes, strings, messages, packed numbers).
pub const LEN: u8 = 2;
/// Wire type of a 32-bit fixed field.
pub const FIXED32: u8 = 5;

/// A field's payload, as read from the wire.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// A varint (wire type 0) or a fixed-width number (types 1 and 5), widened to u64.
    Int(u64),
    /// A length-delimited payload (wire type 2), with the offset of its first byte.
    Bytes(&'a [u8], usize),
}

/// Reads fields from a message, reporting errors at absolute byte offsets.
///
/// The message is `data[pos..end]`; bytes of `data` after `end` (the rest of an
/// enclosing message) may be loaded ahead to decode varints a word at a time, but are
/// never decoded as part of this message.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
    /// Offset of `data[0]` in the whole input, for error messages.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, whose first byte is at offset `base` of the input.
    pub fn new(data: &'a [u8], base: usize) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            end: data.len(),
            base,
        }
    }

    /// A reader over the `len` bytes at input offset `at` of `outer`, a buffer whose
    /// first byte is at input offset `base` (as a field of `outer` gives them); it may
    /// read ahead into the rest of `outer`. A span outside `outer` reads as empty.
    pub fn span(outer: &'a [u8], base: usize, at: usize, len: usize) -> Reader<'a> {
        let pos = at.wrapping_sub(base);
        match pos.checked_add(len) {
            Some(end) if pos <= outer.len() && end <= outer.len() => Reader {
                data: outer,
                pos,
                end,
                base,
            },
            _ => Reader::new(&[], at),
        }
    }

    /// A reader over a length-delimited field this reader returned (its bytes and
    /// their offset), which may read ahead into the rest of this reader's buffer.
    #[inline]
    pub fn nested(&self, (bytes, at): (&[u8], usize)) -> Reader<'a> {
        Reader::span(self.data, self.base, at, bytes.len())
    }

    /// Calls `f` for each number of a repeated integer field this reader returned,
    /// packed or not.
    #[inline]
    pub fn for_each_int(&self, value: Value<'_>, mut f: impl FnMut(u64)) -> Result<()> {
        match value {
            Value::Int(v) => f(v),
            Value::Bytes(bytes, at) => {
                let mut r = self.nested((bytes, at));
                while !r.is_empty() {
                    f(r.varint()?);
                }
            }
        }
        Ok(())
    }

    /// Whether all bytes were read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Reads a varint.
    #[inline]
    pub fn varint(&mut self) -> Result<u64> {
        let pos = self.pos;
        if pos < self.end {
            if let Some(&b) = self.data.get(pos) {
                if b < 0x80 {
                    self.pos = pos + 1;
                    return Ok(b as u64);
                }
            }
        }
        if let Some((value, next)) = varint_word(self.data, pos) {
            if next <= self.end {
                self.pos = next;
                return Ok(value);
            }
        }
        self.varint_slow()
    }

    /// Reads a varint byte by byte, naming what is wrong with a malformed one.
    #[cold]
    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64> {
        let data = self.data.get(..self.end).unwrap_or(self.data);
        let start = self.pos;
        let mut pos = start;
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let Some(&b) = data.get(pos) else {
                return Err(Error::new(format!(
                    "truncated varint at byte offset {}",
                    self.base + start
                )));
            };
            pos += 1;
            if shift == 63 && b > 1 {
                return Err(Error::new(format!(
                    "varint overflows 64 bits at byte offset {}",
                    self.base + start
                )));
            }
            value |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                self.pos = pos;
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(Error::new(format!(
                    "varint longer than 10 bytes at byte offset {}",
                    self.base + start
                )));
            }
        }
    }

    fn fixed(&mut self, n: usize) -> Result<u64> {
        let bytes = match self.pos.checked_add(n) {
            Some(stop) if stop <= self.end => self.data.get(self.pos..stop),
            _ => None,
        };
        let Some(bytes) = bytes else {
            return Err(Error::new(format!(
                "truncated {}-bit field at byte offset {}",
                n * 8,
                self.offset()
            )));
        };
        self.pos += n;
        let mut v = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            v |= (*b as u64) << (8 * i);
        }
        Ok(v)
    }

    /// Reads the next field: its number, its wire type and its value.
    #[inline(always)]
    pub fn field(&mut self) -> Result<(u32, u8, Value<'a>)> {
        let at = self.pos;
        let key = self.varint()?;
        let wire = (key & 7) as u8;
        let number = key >> 3;
        if number == 0 || number > u32::MAX as u64 {
            return Err(invalid_field(number, self.base + at));
        }
        let value = match wire {
            VARINT => Value::Int(self.varint()?),
            LEN => {
                let len_at = self.pos;
                let len = self.varint()?;
                let remaining = (self.end - self.pos) as u64;
                if len > remaining {
                    return Err(too_long(
                        number,
                        self.base + at,
                        len,
                        remaining,
                        self.base + len_at,
                    ));
                }
                let start = self.pos;
                self.pos += len as usize;
                match self.data.get(start..self.pos) {
                    Some(bytes) => Value::Bytes(bytes, self.base + start),
                    None => return Err(too_long(number, self.base + at, len, 0, len_at)),
                }
            }
            FIXED64 => Value::Int(self.fixed(8)?),
            FIXED32 => Value::Int(self.fixed(4)?),
            other => return Err(bad_wire_type(other, number, self.base + at)),
        };
        Ok((number as u32, wire, value))
    }
}

#[cold]
fn invalid_field(number: u64, at: usize) -> Error {
    Error::new(format!("invalid field number {number} at byte offset {at}"))
}

#[cold]
fn too_long(number: u64, at: usize, len: u64, remaining: u64, len_at: usize) -> Error {
    Error::new(format!(
        "field {number} at byte offset {at} claims {len} bytes but only {remaining} remain (length at offset {len_at})"
    ))
}

#[cold]
fn bad_wire_type(wire: u8, number: u64, at: usize) -> Error {
    Error::new(format!(
        "unsupported wire type {wire} for field {number} at byte offset {at}"
    ))
}

/// Decodes a varint of at most 8 bytes at `data[pos..]` from one 8-byte load, without a
/// loop; `None` when fewer than 8 bytes remain or the varint is longer (the caller then
/// takes the byte-by-byte path, which also reports errors).
#[inline(always)]
pub fn varint_word(data: &[u8], pos: usize) -> Option<(u64, usize)> {
    let word: [u8; 8] = data.get(pos..pos.checked_add(8)?)?.try_into().ok()?;
    let w = u64::from_le_bytes(word);
    // High bit clear marks the last byte of the varint.
    let stops = !w & 0x8080_8080_8080_8080;
    if stops == 0 {
        return None;
    }
    let last_bit = stops.trailing_zeros();
    let len = (last_bit as usize + 1) / 8;
    // Keep the bytes of the varint, drop their continuation bits, then close the gaps:
    // 7-bit groups into 14-bit pairs, into 28-bit quads, into 56 bits.
    let mut x = w & (stops ^ (stops - 1)) & 0x7f7f_7f7f_7f7f_7f7f;
    x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
    x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
    x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
    Some((x, pos + len))
}

/// The integer of a scalar field, or an error naming the field when it is length-delimited.
#[inline]
pub fn int(value: Value<'_>, what: &str) -> Result<u64> {
    match value {
        Value::Int(v) => Ok(v),
        Value::Bytes(_, at) => Err(Error::new(format!(
            "{what}: expected a number, found a length-delimited field at byte offset {at}"
        ))),
    }
}

/// The payload of a length-delimited field, or an error naming the field.
#[inline]
pub fn bytes<'a>(value: Value<'a>, what: &str) -> Result<(&'a [u8], usize)> {
    match value {
        Value::Bytes(b, at) => Ok((b, at)),
        Value::Int(_) => Err(Error::new(format!(
            "{what}: expected a length-delimited field, found a number"
        ))),
    }
}

/// The text of a string field: its bytes when they are UTF-8, else with each invalid
/// sequence replaced by U+FFFD. Validating first takes the standard library's word-at-a-
/// time path over ASCII, several times faster than the replacing scan (which goes byte
/// by byte) over the megabytes of names a large profile holds.
#[inline]
pub fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Appends protocol-buffer fields to a byte vector.
#[derive(Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// Appends a raw varint.
    #[inline]
    pub fn varint(&mut self, mut v: u64) {
        if v < 0x80 {
            self.buf.push(v as u8);
            return;
        }
        // Made in a small array, appended at once: one check for room, not one a byte.
        let mut bytes = [0u8; 10];
        let mut n = 0;
        while v >= 0x80 {
            bytes[n] = (v as u8) | 0x80;
            v >>= 7;
            n += 1;
        }
        bytes[n] = v as u8;
        self.buf.extend_from_slice(&bytes[..n + 1]);
    }

    /// Appends a field key.
    #[inline]
    pub fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }

    /// Appends an integer field unless it is zero.
    #[inline]
    pub fn int_opt(&mut self, field: u32, v: u64) {
        if v != 0 {
            self.key(field, VARINT);
            self.varint(v);
        }
    }

    /// Appends a boolean field unless it is false.
    #[inline]
    pub fn bool_opt(&mut self, field: u32, v: bool) {
        if v {
            self.key(field, VARINT);
            self.varint(1);
        }
    }

    /// Appends a length-delimited bytes field (even when empty).
    pub fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, LEN);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    /// Appends a packed repeated integer field, or nothing when there are none.
    pub fn packed(&mut self, field: u32, values: impl Iterator<Item = u64> + Clone) {
        let len: usize = values.clone().map(varint_len).sum();
        if len == 0 {
            return;
        }
        self.key(field, LEN);
        self.varint(len as u64);
        for v in values {
            self.varint(v);
        }
    }

    /// Appends an embedded message written by `f`.
    pub fn message(&mut self, field: u32, f: impl FnOnce(&mut Writer)) {
        self.key(field, LEN);
        // Reserve one byte for the length and move the body if it needs more.
        let len_at = self.buf.len();
        self.buf.push(0);
        let start = self.buf.len();
        f(self);
        let len = self.buf.len() - start;
        if len < 0x80 {
            self.buf[len_at] = len as u8;
        } else {
            let mut tmp = Writer::default();
            tmp.varint(len as u64);
            self.buf
                .splice(len_at..start, tmp.buf.iter().copied())
                .for_each(drop);
        }
    }
}

/// Bytes a varint of `v` takes.
#[inline]
pub fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_across_lengths() {
        let values = [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX];
        let mut w = Writer::default();
        for v in values {
            w.varint(v);
        }
        let mut r = Reader::new(&w.buf, 0);
        for v in values {
            assert_eq!(r.varint().unwrap(), v);
            let mut one = Writer::default();
            one.varint(v);
            assert_eq!(one.buf.len(), varint_len(v));
        }
        assert!(r.is_empty());
    }

    #[test]
    fn word_varints_agree_with_the_byte_loop() {
        let mut values = vec![0u64, 1, 127, 128, 300, 16383, 16384, (1 << 56) - 1, 1 << 56];
        values.extend((0..64).map(|b| 1u64 << b));
        values.extend((0..64).map(|b| (1u64 << b).wrapping_sub(1) | 0x55));
        for v in values {
            let mut w = Writer::default();
            w.varint(v);
            let n = w.buf.len();
            w.buf.extend_from_slice(&[0xff; 9]);
            match varint_word(&w.buf, 0) {
                Some((got, end)) => {
                    assert_eq!((got, end), (v, n), "{v}");
                }
                None => assert!(n > 8, "{v} takes {n} bytes"),
            }
            assert_eq!(Reader::new(&w.buf[..n], 0).varint().unwrap(), v);
        }
        assert_eq!(varint_word(&[0x80; 7], 0), None);
    }

    #[test]
    fn truncated_varint_names_its_offset() {
        let mut r = Reader::new(&[0x80, 0x80], 10);
        assert_eq!(
            r.varint().unwrap_err().to_string(),
            "truncated varint at byte offset 10"
        );
    }

    #[test]
    fn overlong_varint_is_an_error() {
        let mut r = Reader::new(&[0xff; 11], 0);
        assert!(r.varint().is_err());
    }

    #[test]
    fn length_past_the_end_is_an_error() {
        let mut r = Reader::new(&[0x12, 0x05, 1, 2], 0);
        let e = r.field().unwrap_err().to_string();
        assert!(e.contains("claims 5 bytes but only 2 remain"), "{e}");
    }

    #[test]
    fn long_embedded_messages_get_multibyte_lengths() {
        let mut w = Writer::default();
        w.message(2, |w| w.bytes(1, &[7u8; 200]));
        let mut r = Reader::new(&w.buf, 0);
        let (n, _, v) = r.field().unwrap();
        assert_eq!(n, 2);
        let (body, _) = bytes(v, "x").unwrap();
        assert_eq!(body.len(), 203);
        assert!(r.is_empty());
    }
}

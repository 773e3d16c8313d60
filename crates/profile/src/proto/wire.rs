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
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of `data[0]` in the whole input, for error messages.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, whose first byte is at offset `base` of the input.
    pub fn new(data: &'a [u8], base: usize) -> Reader<'a> {
        Reader { data, pos: 0, base }
    }

    /// Whether all bytes were read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Reads a varint.
    #[inline]
    pub fn varint(&mut self) -> Result<u64> {
        let data = self.data;
        let mut pos = self.pos;
        if let Some(&b) = data.get(pos) {
            if b < 0x80 {
                self.pos = pos + 1;
                return Ok(b as u64);
            }
        }
        if let Some((value, end)) = varint_word(data, pos) {
            self.pos = end;
            return Ok(value);
        }
        let start = pos;
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
        let Some(bytes) = self.data.get(self.pos..self.pos + n) else {
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
    #[inline]
    pub fn field(&mut self) -> Result<(u32, u8, Value<'a>)> {
        let at = self.offset();
        let key = self.varint()?;
        let wire = (key & 7) as u8;
        let number = key >> 3;
        if number == 0 || number > u32::MAX as u64 {
            return Err(Error::new(format!(
                "invalid field number {number} at byte offset {at}"
            )));
        }
        let value = match wire {
            VARINT => Value::Int(self.varint()?),
            FIXED64 => Value::Int(self.fixed(8)?),
            FIXED32 => Value::Int(self.fixed(4)?),
            LEN => {
                let len_at = self.offset();
                let len = self.varint()?;
                let remaining = (self.data.len() - self.pos) as u64;
                if len > remaining {
                    return Err(Error::new(format!(
                        "field {number} at byte offset {at} claims {len} bytes but only {remaining} remain (length at offset {len_at})"
                    )));
                }
                let start = self.pos;
                self.pos += len as usize;
                Value::Bytes(&self.data[start..self.pos], self.base + start)
            }
            other => {
                return Err(Error::new(format!(
                    "unsupported wire type {other} for field {number} at byte offset {at}"
                )))
            }
        };
        Ok((number as u32, wire, value))
    }
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

/// Calls `f` for each number of a repeated integer field, packed or not.
#[inline]
pub fn for_each_int(value: Value<'_>, mut f: impl FnMut(u64)) -> Result<()> {
    match value {
        Value::Int(v) => {
            f(v);
            Ok(())
        }
        Value::Bytes(bytes, base) => {
            let mut r = Reader::new(bytes, base);
            while !r.is_empty() {
                f(r.varint()?);
            }
            Ok(())
        }
    }
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
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
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

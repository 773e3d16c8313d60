//! gperftools' binary CPU profile (also written by old Go runtimes and the Java
//! agent): a header of five words, then samples as `count, depth, pc…` words, an
//! end marker `0, 1, 0`, and a text memory map.
//!
//! Words are 32 or 64 bits, either endianness; the header tells which.

use std::collections::HashMap;

use super::builder::{drop_duplicate_leaves, drop_second_frame, Builder};
use super::text::Lines;
use super::{java, maps, Failure};
use crate::error::Error;
use crate::model::Profile;

/// The size and byte order of a profile's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Word {
    size: usize,
    big_endian: bool,
}

impl Word {
    /// Word layouts in the order pprof tries them.
    const ALL: [Word; 4] = [
        Word {
            size: 4,
            big_endian: false,
        },
        Word {
            size: 4,
            big_endian: true,
        },
        Word {
            size: 8,
            big_endian: false,
        },
        Word {
            size: 8,
            big_endian: true,
        },
    ];

    /// The word at the start of `b`, or `None` when `b` is shorter than a word.
    fn read(self, b: &[u8]) -> Option<u64> {
        let bytes = b.get(..self.size)?;
        let mut v = 0u64;
        if self.big_endian {
            for &x in bytes {
                v = v << 8 | u64::from(x);
            }
        } else {
            for &x in bytes.iter().rev() {
                v = v << 8 | u64::from(x);
            }
        }
        Some(v)
    }
}

/// A cursor over the words of the input that remembers its byte offset.
struct Words<'a> {
    data: &'a [u8],
    pos: usize,
    word: Word,
}

impl<'a> Words<'a> {
    /// The next word; `None` (and the cursor at the end) when fewer bytes remain.
    fn next(&mut self) -> Option<u64> {
        match self.word.read(&self.data[self.pos..]) {
            Some(v) => {
                self.pos += self.word.size;
                Some(v)
            }
            None => {
                self.pos = self.data.len();
                None
            }
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }
}

/// Parses a binary CPU profile (C++ or Java).
pub(super) fn parse(data: &[u8]) -> Result<Profile, Failure> {
    for word in Word::ALL {
        let mut w = Words { data, pos: 0, word };
        let header: Option<Vec<u64>> = (0..5).map(|_| w.next()).collect();
        let Some(h) = header else { continue };
        if h[0] != 0 || h[1] != 3 || h[3] == 0 || h[4] != 0 {
            continue;
        }
        let period = (h[3] as i64).wrapping_mul(1000);
        match h[2] {
            0 => return native(w, period),
            1 => return java_cpu(w, period),
            _ => {}
        }
    }
    Err(Failure::Unrecognized(None))
}

/// A C++ (or Go) CPU profile: samples, then the memory map.
fn native(mut w: Words<'_>, period: i64) -> Result<Profile, Failure> {
    let mut b = builder(period);
    read_samples(&mut w, &mut b, true)?;
    drop_signal_frames(&mut b);
    let map_text = String::from_utf8_lossy(w.rest());
    let mappings = maps::parse(&mut Lines::new(&map_text))?;
    let mut p = b.finish(mappings);
    drop_duplicate_leaves(&mut p);
    Ok(p)
}

/// A Java CPU profile: samples, then a symbol table of `0xaddr function (file:line)`.
fn java_cpu(mut w: Words<'_>, period: i64) -> Result<Profile, Failure> {
    let mut b = builder(period);
    read_samples(&mut w, &mut b, false)?;
    java::finish(b, &String::from_utf8_lossy(w.rest()))
}

fn builder(period: i64) -> Builder {
    Builder::new(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period,
    )
}

/// Reads samples up to the end marker or the end of the input. With `adjust`, every
/// frame but the leaf is moved back one byte, onto its call instruction.
fn read_samples(w: &mut Words<'_>, b: &mut Builder, adjust: bool) -> Result<(), Failure> {
    let period = b.profile.period;
    let mut addresses: Vec<u64> = Vec::new();
    while w.pos < w.data.len() {
        let at = w.pos;
        let count = w.next();
        let depth = w.next();
        let (Some(count), Some(depth)) = (count, depth) else {
            return Err(truncated(at, "sample header"));
        };
        let remaining = (w.data.len() - w.pos) / 4;
        if depth > remaining as u64 {
            return Err(Failure::Unrecognized(Some(Error::new(format!(
                "binary CPU profile: sample at byte offset {at} has {depth} frames, more than the {remaining} words left"
            )))));
        }
        addresses.clear();
        // Past the end of the input a frame reads as 0, as in pprof.
        addresses.extend((0..depth).map(|_| w.next().unwrap_or(0)));
        if count == 0 && depth == 1 && addresses[0] == 0 {
            // The end-of-data marker.
            break;
        }
        for (i, &address) in addresses.iter().enumerate() {
            b.push_frame(if adjust && i > 0 {
                address.wrapping_sub(1)
            } else {
                address
            });
        }
        let count = count as i64;
        b.push_sample(&[count, count.wrapping_mul(period)], &[]);
    }
    Ok(())
}

fn truncated(at: usize, what: &str) -> Failure {
    Failure::Unrecognized(Some(Error::new(format!(
        "binary CPU profile is truncated: {what} at byte offset {at}"
    ))))
}

/// Removes up to two frames pushed by the signal handler: a second frame shared by
/// all samples but at most one in 32 is an artifact of measurement, not a caller.
fn drop_signal_frames(b: &mut Builder) {
    let n = b.profile.samples.len();
    let margin = n / 32;
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for _ in 0..2 {
        counts.clear();
        for s in b.profile.samples.iter() {
            if let Some(second) = s.locations.get(1) {
                *counts.entry(b.address(second)).or_default() += 1;
            }
        }
        let Some((&artifact, _)) = counts.iter().find(|&(_, &c)| c >= n - margin) else {
            continue;
        };
        let mut samples = std::mem::take(&mut b.profile.samples);
        drop_second_frame(&mut samples, |_, second| b.address(second) == artifact);
        b.profile.samples = samples;
    }
}

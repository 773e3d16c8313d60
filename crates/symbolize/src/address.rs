//! From process addresses to addresses in the binary: pprof's base arithmetic for
//! executables, position-independent executables, shared libraries and kernels.

use profile::{Error, Result};

use crate::binary::{Binary, ElfType, Segment};

const PAGE_SIZE: u64 = 4096;

/// A mapping of a binary in the profiled process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProcessMapping {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub limit: u64,
    /// Offset of `start` in the file.
    pub offset: u64,
}

impl ProcessMapping {
    /// Whether pprof would read the kernel relocation symbol for this mapping of `name`.
    pub fn wants_kernel_offset(&self, name: &str) -> bool {
        let aligned = |a: u64| a.is_multiple_of(PAGE_SIZE);
        name.contains("vmlinux")
            || !aligned(self.start)
            || !aligned(self.limit)
            || !aligned(self.offset)
    }
}

/// The base to subtract from process addresses of `m` to get addresses in `bin`, given
/// the segment the mapping holds (pprof's `elfexec.GetBase`).
pub(crate) fn base(
    bin: &Binary,
    seg: Option<&Segment>,
    stext: Option<u64>,
    m: ProcessMapping,
) -> Result<u64> {
    let ProcessMapping {
        start,
        limit,
        offset,
    } = m;
    if start == 0 && offset == 0 && (limit == u64::MAX || limit == 0) {
        // A fake mapping over the whole address space: addresses are already adjusted.
        return Ok(0);
    }
    match bin.elf_type {
        ElfType::Exec => {
            let Some(seg) = seg else { return Ok(0) };
            if stext.is_none() && start > 0 && start < 0x8000_0000_0000_0000 {
                return Ok(user_base(seg, m));
            }
            if let Some(b) = kernel_base(seg, stext, m) {
                return Ok(b);
            }
            if start == 0 && limit != 0 && stext.is_none() {
                return Ok(start.wrapping_sub(seg.vaddr));
            }
            Err(Error::new(format!(
                "don't know how to handle EXEC segment: {} start=0x{start:x} limit=0x{limit:x} offset=0x{offset:x}",
                describe(seg)
            )))
        }
        ElfType::Rel => {
            if offset != 0 {
                return Err(Error::new("don't know how to handle mapping.Offset"));
            }
            Ok(start)
        }
        ElfType::Dyn => {
            let Some(seg) = seg else {
                return Ok(start.wrapping_sub(offset));
            };
            if let Some(b) = kernel_base(seg, stext, m) {
                return Ok(b);
            }
            Ok(user_base(seg, m))
        }
        ElfType::Other(t) => Err(Error::new(format!(
            "don't know how to handle FileHeader.Type {t}"
        ))),
    }
}

/// A process address `x` is at file offset `x - start + offset`, which the segment
/// loads at `fx - seg.offset + seg.vaddr`.
fn user_base(seg: &Segment, m: ProcessMapping) -> u64 {
    m.start
        .wrapping_sub(m.offset)
        .wrapping_add(seg.offset)
        .wrapping_sub(seg.vaddr)
}

fn describe(seg: &Segment) -> String {
    format!(
        "{{Type:PT_LOAD Off:0x{:x} Vaddr:0x{:x} Filesz:0x{:x} Memsz:0x{:x} Align:0x{:x}}}",
        seg.offset, seg.vaddr, seg.filesz, seg.memsz, seg.align
    )
}

fn kernel_base(seg: &Segment, stext: Option<u64>, m: ProcessMapping) -> Option<u64> {
    const PAGE_OFFSET_PPC64: u64 = 0xc000_0000_0000_0000;
    let ProcessMapping {
        start,
        limit,
        offset,
    } = m;
    if seg.vaddr == start.wrapping_sub(offset) {
        return Some(offset);
    }
    if let (0, true, Some(st)) = (start, limit != 0, stext) {
        return Some(start.wrapping_sub(st));
    }
    if start >= 0x8000_0000_0000_0000
        && limit > start
        && (offset == 0 || offset == PAGE_OFFSET_PPC64 || offset == start)
    {
        if let Some(st) = stext {
            if start % PAGE_SIZE == st % PAGE_SIZE {
                return Some(start.wrapping_sub(st));
            }
        }
        return Some(start.wrapping_sub(seg.vaddr));
    }
    if let Some(st) = stext {
        if start % PAGE_SIZE != 0 && st % PAGE_SIZE == start % PAGE_SIZE {
            return Some(start.wrapping_sub(st));
        }
    }
    None
}

/// The load segment a mapping comes from, narrowed by the file offset of `addr` when
/// several segments overlap it (pprof's `findProgramHeader`).
pub(crate) fn segment_for(
    bin: &Binary,
    stext: Option<u64>,
    m: ProcessMapping,
    addr: u64,
) -> Result<Option<Segment>> {
    if stext.is_some() || m.start >= m.limit || m.limit >= 1 << 63 {
        return Ok(bin.text_segment);
    }
    let loads: Vec<&Segment> = bin.segments.iter().collect();
    if loads.is_empty() {
        return Ok(None);
    }
    let headers = segments_for_mapping(&loads, m.offset, m.limit - m.start);
    match headers.len() {
        0 => Err(Error::new("no program header matches mapping info")),
        1 => Ok(Some(*headers[0])),
        _ => segment_for_file_offset(&headers, addr.wrapping_sub(m.start).wrapping_add(m.offset))
            .map(|s| Some(*s)),
    }
}

fn segments_for_mapping<'a>(
    loads: &[&'a Segment],
    map_off: u64,
    map_size: u64,
) -> Vec<&'a Segment> {
    let map_limit = map_off.wrapping_add(map_size);
    let mut out = Vec::new();
    for &p in loads {
        // Segments without file contents may have any offset.
        if p.filesz == 0 {
            continue;
        }
        let seg_limit = p.offset.wrapping_add(p.memsz);
        if !(map_off < seg_limit && p.offset < map_limit) {
            continue;
        }
        // A mapping that starts before the page-aligned segment start maps another segment.
        let misalign = p.vaddr & p.align.wrapping_sub(1);
        let aligned_offset = p.offset.saturating_sub(misalign);
        if map_off < aligned_offset {
            continue;
        }
        // A mapping that starts inside the segment, covers less than a page of it and
        // extends a page past it maps the next segment.
        if map_off > p.offset
            && seg_limit < map_off.wrapping_add(PAGE_SIZE)
            && map_limit >= seg_limit.wrapping_add(PAGE_SIZE)
        {
            continue;
        }
        out.push(p);
    }
    out
}

fn segment_for_file_offset<'a>(headers: &[&'a Segment], file_offset: u64) -> Result<&'a Segment> {
    let mut found: Option<&Segment> = None;
    for &h in headers {
        if file_offset >= h.offset && file_offset < h.offset.wrapping_add(h.memsz) {
            if let Some(first) = found {
                return Err(Error::new(format!(
                    "found second program header ({}) that matches file offset {file_offset:x}, first program header is {}. Is this a stripped binary, or does the first program segment contain uninitialized data?",
                    describe(h),
                    describe(first)
                )));
            }
            found = Some(h);
        }
    }
    found.ok_or_else(|| {
        Error::new(format!(
            "no program header matches file offset {file_offset:x}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(offset: u64, vaddr: u64, size: u64, executable: bool) -> Segment {
        Segment {
            offset,
            vaddr,
            filesz: size,
            memsz: size,
            align: 0x1000,
            executable,
        }
    }

    #[test]
    fn pie_text_mapping_base_is_start_minus_segment_vaddr() {
        let s = seg(0x1000, 0x1000, 0x1b1, true);
        let m = ProcessMapping {
            start: 0x5555_5555_5000,
            limit: 0x5555_5555_6000,
            offset: 0x1000,
        };
        assert_eq!(user_base(&s, m), 0x5555_5555_4000);
    }

    #[test]
    fn mapping_picks_the_segment_at_its_file_offset() {
        let a = seg(0, 0, 0x618, false);
        let b = seg(0x1000, 0x1000, 0x1b1, true);
        let c = seg(0x2000, 0x2000, 0xf8, false);
        let loads = [&a, &b, &c];
        let found = segments_for_mapping(&loads, 0x1000, 0x1000);
        assert_eq!(found, vec![&b]);
    }
}

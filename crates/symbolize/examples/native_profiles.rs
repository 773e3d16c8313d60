//! Writes the unsymbolized CPU profiles of the native conformance binaries.
//!
//! Usage: `native_profiles BIN_DIR OUT_DIR`. For each binary of `testdata/native/bin`
//! it writes `OUT_DIR/<binary>.pb.gz`: a profile holding only addresses and one mapping
//! (the binary's executable segment, loaded as the kernel would), whose samples are
//! made-up call stacks through the binary's functions. Callers' frames sit on the
//! `call` instruction to the callee; leaf frames on a spread of the leaf function's
//! instructions, so reports see several lines and inline frames.

use std::path::Path;

use object::{Object, ObjectSegment, ObjectSymbol};
use profile::{Location, Mapping, Profile, ValueType};

/// Where position-independent binaries are loaded in the made-up process.
const PIE_BASE: u64 = 0x5555_5555_4000;

/// One binary: its file name, and its stacks as symbol-name patterns, leaf first. A
/// pattern matches a symbol whose (mangled) name equals it or, with a leading `~`,
/// contains the rest.
struct Spec {
    binary: &'static str,
    stacks: &'static [&'static [&'static str]],
}

const C_STACKS: &[&[&str]] = &[
    &["work", "other", "main"],
    &["mix", "other", "main"],
    &["work", "main"],
    &["other", "main"],
];

const CPP_STACKS: &[&[&str]] = &[
    &["~6square", "~8push_all", "~4demo3run", "main"],
    &["~17_M_realloc_insert", "~8push_all", "~4demo3run", "main"],
    &["~8push_all", "~4demo3run", "main"],
    &["~4demo3run", "main"],
];

const SPECS: &[Spec] = &[
    Spec {
        binary: "c_O0_nopie",
        stacks: C_STACKS,
    },
    Spec {
        binary: "c_O2_pie",
        stacks: C_STACKS,
    },
    Spec {
        binary: "c_O2_nodebug",
        stacks: C_STACKS,
    },
    Spec {
        binary: "cpp_O2_pie",
        stacks: CPP_STACKS,
    },
];

/// Leaf instructions sampled per stack, at most.
const LEAF_POINTS: usize = 6;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, bin_dir, out_dir] = args.as_slice() else {
        return Err("usage: native_profiles BIN_DIR OUT_DIR".into());
    };
    for spec in SPECS {
        let bin = Path::new(bin_dir).join(spec.binary);
        let p = profile_of(&bin, spec)?;
        let out = Path::new(out_dir).join(format!("{}.pb.gz", spec.binary));
        std::fs::write(&out, profile::proto::encode_gzip(&p))?;
        println!("{}: {} samples", out.display(), p.samples.len());
    }
    Ok(())
}

/// The function symbols of a binary, `(name, start, size)`, without the `.cold` parts.
fn functions(file: &object::File) -> Vec<(String, u64, u64)> {
    file.symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text && s.size() > 0)
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address(), s.size())))
        .filter(|f| !f.0.ends_with(".cold"))
        .collect()
}

fn find<'a>(funcs: &'a [(String, u64, u64)], pattern: &str) -> Option<&'a (String, u64, u64)> {
    match pattern.strip_prefix('~') {
        Some(part) => funcs.iter().find(|f| f.0.contains(part)),
        None => funcs.iter().find(|f| f.0 == pattern),
    }
}

/// The address of the first `call` in `caller` to `callee`'s start.
fn call_site(bin: &Path, caller: (u64, u64), callee: u64) -> Result<Option<u64>, String> {
    let insts = symbolize::disassemble(bin, caller.0, caller.0 + caller.1, false)
        .map_err(|e| e.to_string())?;
    Ok(insts.iter().find_map(|i| {
        let mut words = i.text.split_whitespace();
        let call = words.next()?.starts_with("call");
        let target = u64::from_str_radix(words.next()?, 16).ok()?;
        (call && target == callee).then_some(i.addr)
    }))
}

fn profile_of(bin: &Path, spec: &Spec) -> Result<Profile, String> {
    let data = std::fs::read(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let file = object::File::parse(&*data).map_err(|e| e.to_string())?;
    let pie = file.kind() == object::ObjectKind::Dynamic;
    let base = if pie { PIE_BASE } else { 0 };
    let seg = file
        .segments()
        .find(|s| {
            matches!(s.flags(), object::SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0)
        })
        .ok_or("no executable segment")?;
    let page = 0x1000u64;
    let build_id = file
        .build_id()
        .map_err(|e| e.to_string())?
        .map(|id| id.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .unwrap_or_default();

    let mut p = Profile::new(2);
    let (samples, count) = (p.intern("samples"), p.intern("count"));
    let (cpu, ns) = (p.intern("cpu"), p.intern("nanoseconds"));
    p.sample_types = vec![
        ValueType {
            ty: samples,
            unit: count,
        },
        ValueType { ty: cpu, unit: ns },
    ];
    p.period_type = ValueType { ty: cpu, unit: ns };
    p.period = 10_000_000;
    p.duration_nanos = 2_000_000_000;
    let filename = p.intern(&format!("/opt/demo/{}", spec.binary));
    let build_id = p.intern(&build_id);
    p.mappings.push(Mapping {
        id: 1,
        memory_start: base + (seg.address() & !(page - 1)),
        memory_limit: (base + seg.address() + seg.size() + page - 1) & !(page - 1),
        file_offset: seg.file_range().0 & !(page - 1),
        filename,
        build_id,
        has_functions: false,
        ..Mapping::default()
    });

    let funcs = functions(&file);
    let mut locations: Vec<u64> = Vec::new();
    let mut location_of = |p: &mut Profile, addr: u64| -> u32 {
        if let Some(i) = locations.iter().position(|&a| a == addr) {
            return i as u32;
        }
        locations.push(addr);
        p.locations.push(Location {
            id: locations.len() as u64,
            mapping: Some(profile::MappingIndex::new(0)),
            address: base + addr,
            ..Location::default()
        });
        (locations.len() - 1) as u32
    };
    let mut weight = 1i64;
    for stack in spec.stacks {
        let frames: Vec<&(String, u64, u64)> = stack
            .iter()
            .map(|pat| find(&funcs, pat).ok_or(format!("{}: no symbol {pat}", spec.binary)))
            .collect::<Result<_, _>>()?;
        // Callers' frames: the call instruction to the next frame in.
        let mut callers = Vec::new();
        for pair in frames.windows(2) {
            let site = call_site(bin, (pair[1].1, pair[1].2), pair[0].1)?.ok_or(format!(
                "{}: {} does not call {}",
                spec.binary, pair[1].0, pair[0].0
            ))?;
            callers.push(location_of(&mut p, site));
        }
        let leaf = frames[0];
        let insts = symbolize::disassemble(bin, leaf.1, leaf.1 + leaf.2, false)
            .map_err(|e| e.to_string())?;
        let step = insts.len().div_ceil(LEAF_POINTS).max(1);
        for inst in insts.iter().step_by(step) {
            let mut locs = vec![location_of(&mut p, inst.addr)];
            locs.extend(&callers);
            p.samples.push(&[weight, weight * 10_000_000], &locs, &[]);
            weight = weight % 7 + 1;
        }
    }
    Ok(p)
}

//! Symbolizes a profile with local binaries and writes it back as profile.proto.
//!
//! `symbolize_profile [-symbolize=MODE] [BINARY] IN.pb.gz OUT.pb` prints pprof's
//! messages on stderr. `symbolize_profile -make-unsymbolized BINARY LOAD_BASE OUT.pb
//! ADDR...` writes an unsymbolized profile with one sample per binary address of the
//! executable segment of BINARY, as if loaded at LOAD_BASE (hex).

use std::process::ExitCode;

use object::{Object, ObjectSegment};
use profile::{Location, Mapping, Profile, ValueType};

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or(0)
}

fn make_unsymbolized(bin: &str, base: u64, out: &str, addrs: &[String]) -> Result<(), String> {
    let data = std::fs::read(bin).map_err(|e| e.to_string())?;
    let file = object::File::parse(&*data).map_err(|e| e.to_string())?;
    let seg = file
        .segments()
        .find(|s| matches!(s.flags(), object::SegmentFlags::Elf { p_flags } if p_flags & 1 != 0))
        .ok_or("no executable segment")?;
    let page = 0x1000u64;
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(ValueType { ty, unit });
    let filename = p.intern(bin);
    let build_id = match file.build_id() {
        Ok(Some(id)) => p.intern(&id.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        _ => profile::StrId::EMPTY,
    };
    p.mappings.push(Mapping {
        id: 1,
        memory_start: base + (seg.address() & !(page - 1)),
        memory_limit: (base + seg.address() + seg.size() + page - 1) & !(page - 1),
        file_offset: seg.file_range().0 & !(page - 1),
        filename,
        build_id,
        ..Mapping::default()
    });
    for (i, a) in addrs.iter().enumerate() {
        p.locations.push(Location {
            id: i as u64 + 1,
            mapping: Some(profile::MappingIndex::new(0)),
            address: base + hex(a),
            ..Location::default()
        });
        p.samples.push(&[(i as i64 % 7) + 1], &[i as u32], &[]);
    }
    std::fs::write(out, profile::proto::encode(&p)).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("-make-unsymbolized") && args.len() >= 4 {
        return match make_unsymbolized(&args[1], hex(&args[2]), &args[3], &args[4..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut mode = String::new();
    let mut rest = Vec::new();
    for a in args {
        match a.strip_prefix("-symbolize=") {
            Some(m) => mode = m.to_string(),
            None => rest.push(a),
        }
    }
    let (exec, input, output) = match rest.as_slice() {
        [i, o] => (None, i, o),
        [b, i, o] => (Some(b.clone()), i, o),
        _ => {
            eprintln!("usage: symbolize_profile [-symbolize=MODE] [BINARY] IN OUT");
            return ExitCode::FAILURE;
        }
    };
    let run = || -> Result<(), String> {
        let data = std::fs::read(input).map_err(|e| e.to_string())?;
        let mut p = profile::parse(&data).map_err(|e| e.to_string())?;
        let (options, warnings) = symbolize::SymbolizeOptions::parse(&mode);
        let locate = symbolize::LocateOptions {
            exec_name: exec,
            ..Default::default()
        };
        let mut messages = warnings;
        messages.extend(symbolize::locate_binaries(&mut p, &locate));
        let t = std::time::Instant::now();
        let report = symbolize::symbolize(&mut p, &options).map_err(|e| e.to_string())?;
        messages.extend(report.messages);
        for m in messages {
            eprintln!("{m}");
        }
        eprintln!(
            "symbolized {} locations in {:.3}s",
            report.symbolized_locations,
            t.elapsed().as_secs_f64()
        );
        std::fs::write(output, profile::proto::encode(&p)).map_err(|e| e.to_string())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

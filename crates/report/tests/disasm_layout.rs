//! The `-disasm` report's layout, with binaries played by a fake [`ObjTool`]: routine
//! headers and aliases, per-instruction values, where-from annotations and the
//! errors for selections without samples.

use profile::{Function, Line, Location, Mapping, Profile, Result, ValueType};
use regex::Regex;
use report::disasm::{BinarySymbol, Inst, MappedFile, ObjTool};
use report::{generate_with_binaries, Options, OutputFormat};

/// The process mapping starts at 0x400000 and the binary's code at 0x1000.
const BASE: u64 = 0x3ff000;

/// A binary with two symbols: `alpha` (also known as `alpha_alias`) at 0x1000..0x100f
/// and `beta` at 0x1010..0x101f, four bytes an instruction.
struct FakeBinary;

fn inst(addr: u64, text: &str, function: &str, line: u32) -> Inst {
    Inst {
        addr,
        text: text.to_string(),
        function: function.to_string(),
        file: "/src/prog.c".to_string(),
        line,
        caller_file: "/src/prog.c".to_string(),
        caller_line: line,
    }
}

impl ObjTool for FakeBinary {
    fn symbols(
        &self,
        _mapping: &MappedFile<'_>,
        matches: &dyn Fn(&str) -> bool,
        address: Option<u64>,
    ) -> Result<Vec<BinarySymbol>> {
        let all = [
            (vec!["alpha", "alpha_alias"], 0x1000, 0x100f),
            (vec!["beta"], 0x1010, 0x101f),
        ];
        Ok(all
            .into_iter()
            .filter_map(|(names, start, end)| {
                if address.is_some_and(|a| a >= start && a <= end) {
                    return Some(BinarySymbol {
                        names: names.iter().map(|n| n.to_string()).collect(),
                        start,
                        end,
                    });
                }
                names.iter().find(|n| matches(n)).map(|n| BinarySymbol {
                    names: vec![n.to_string()],
                    start,
                    end,
                })
            })
            .collect())
    }

    fn base(&self, _mapping: &MappedFile<'_>, _addr: u64) -> Result<u64> {
        Ok(BASE)
    }

    fn disassemble(&self, _file: &str, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>> {
        let long = "vpbroadcastd 0x12345678(%rip),%ymm0        # 2000 <table>";
        let all = vec![
            inst(
                0x1000,
                if intel { "push   rbp" } else { "push   %rbp" },
                "alpha",
                3,
            ),
            inst(0x1004, "mov    %rsp,%rbp", "alpha", 3),
            inst(0x1008, long, "alpha", 4),
            inst(0x100c, "ret", "alpha", 4),
            inst(0x1010, "nop", "beta", 9),
            inst(0x1014, "ret", "beta", 9),
        ];
        Ok(all
            .into_iter()
            .filter(|i| i.addr >= start && i.addr <= end)
            .collect())
    }
}

/// A profile of the fake binary: samples at alpha+0x0 (2), alpha+0x9 (3, inside the
/// third instruction), alpha+0xc (1) and beta+0x4 (5), each with caller beta+0x0.
fn profile() -> Profile {
    let mut p = Profile::new(1);
    let (samples, count) = (p.intern("samples"), p.intern("count"));
    p.sample_types = vec![ValueType {
        ty: samples,
        unit: count,
    }];
    let file = p.intern("/bin/prog");
    p.mappings.push(Mapping {
        id: 1,
        memory_start: 0x400000,
        memory_limit: 0x401000,
        filename: file,
        has_functions: true,
        ..Mapping::default()
    });
    let src = p.intern("/src/prog.c");
    for (i, name) in ["alpha", "beta"].iter().enumerate() {
        let name = p.intern(name);
        p.functions.push(Function {
            id: i as u64 + 1,
            name,
            system_name: name,
            filename: src,
            start_line: 1,
        });
    }
    let loc = |p: &mut Profile, addr: u64, function: u32, line: i64| -> u32 {
        let id = p.locations.len() as u64 + 1;
        p.locations.push(Location {
            id,
            mapping: Some(profile::MappingIndex::new(0)),
            address: addr + BASE,
            lines: vec![Line {
                function,
                line,
                column: 0,
            }]
            .into(),
            is_folded: false,
        });
        (id - 1) as u32
    };
    let caller = loc(&mut p, 0x1010, 1, 9);
    for (addr, f, line, n) in [
        (0x1000, 0, 3, 2),
        (0x1009, 0, 4, 3),
        (0x100c, 0, 4, 1),
        (0x1014, 1, 9, 5),
    ] {
        let l = loc(&mut p, addr, f, line);
        p.samples.push(&[n], &[l, caller], &[]);
    }
    p
}

fn disasm(pattern: &str, intel: bool) -> Result<String> {
    let mut p = profile();
    let mut o = Options::new(OutputFormat::Dis, &p, 0);
    o.symbol = Some(Regex::new(pattern).expect("regex"));
    o.intel_syntax = intel;
    let mut out = Vec::new();
    generate_with_binaries(&mut out, &mut p, &o, 11, Some(&FakeBinary))?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

#[test]
fn routine_lists_instructions_with_values_and_where_they_come_from() {
    let got = disasm("alpha", false).unwrap();
    let want = "Total: 11\n\
ROUTINE ======================== alpha\n\
\x20        6          6 (flat, cum) 54.55% of Total\n\
\x20        2          2       1000: push   %rbp                             ;alpha prog.c:3\n\
\x20        .          .       1004: mov    %rsp,%rbp\n\
\x20                                                                         ;alpha prog.c:4\n\
\x20        3          3       1008: vpbroadcastd 0x12345678(%rip),%ymm0        # 2000 <table>\n\
\x20        1          1       100c: ret\n";
    assert_eq!(got, want);
}

#[test]
fn caller_samples_count_in_the_cumulative_column_only() {
    let got = disasm("beta", false).unwrap();
    // Every sample passes through beta+0x0; the header sums the instructions' values,
    // so beta's own samples at beta+0x4 count twice in its cum, as in pprof.
    let want = "Total: 11\n\
ROUTINE ======================== beta\n\
\x20        5         16 (flat, cum) 145.45% of Total\n\
\x20        .         11       1010: nop                                     ;beta prog.c:9\n\
\x20        5          5       1014: ret\n";
    assert_eq!(got, want);
}

#[test]
fn routines_are_sorted_by_name() {
    let got = disasm("alpha|beta", false).unwrap();
    let (a, b) = (
        got.find("ROUTINE ======================== alpha\n"),
        got.find("ROUTINE ======================== beta\n"),
    );
    assert!(a.is_some() && b.is_some() && a < b, "{got}");
}

#[test]
fn an_address_selects_its_symbol_with_every_alias() {
    let got = disasm("0x400004", false).unwrap();
    assert!(got.contains("ROUTINE ======================== alpha\n    AKA ======================== alpha_alias\n"), "{got}");
}

#[test]
fn intel_syntax_is_asked_of_the_disassembler() {
    let got = disasm("alpha", true).unwrap();
    assert!(got.contains("1000: push   rbp "), "{got}");
}

#[test]
fn selections_without_samples_fail_with_pprofs_messages() {
    // The regex is matched against node names, which at this granularity start with
    // the address, as in pprof.
    let e = disasm("^nothing$", false).unwrap_err();
    assert_eq!(e.to_string(), "no matches found for regexp ^nothing$");
    let e = disasm("0x500000", false).unwrap_err();
    assert_eq!(e.to_string(), "no matches found for address 0x500000");
}

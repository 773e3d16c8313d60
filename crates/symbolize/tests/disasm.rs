//! Disassembly of a gcc-built binary, checked against the symbol table and DWARF.

use std::process::Command;

use object::{Object, ObjectSymbol};

// The command line's tests' scratch directories, shared rather than written twice.
#[path = "../../profkit/tests/scratch/mod.rs"]
mod scratch;
use scratch::ScratchDir;

#[test]
fn disassembles_a_function_in_both_syntaxes_with_lines() {
    if Command::new("gcc").arg("--version").output().is_err() {
        eprintln!("skipping: gcc is not installed");
        return;
    }
    let dir = ScratchDir::new("symbolize-disasm");
    let src = dir.join("d.c");
    std::fs::write(
        &src,
        "__attribute__((noinline)) int work(int n) { int s = 0; for (int i = 0; i < n; i++) s += i * i; return s; }\n\
         int main(int c, char **v) { return work(c); }\n",
    )
    .expect("write");
    let bin = dir.join("d");
    let ok = Command::new("gcc")
        .args(["-O1", "-g", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc");
    assert!(ok.success());
    let data = std::fs::read(&bin).expect("read");
    let file = object::File::parse(&*data).expect("parse");
    let work = file
        .symbols()
        .find(|s| s.name() == Ok("work"))
        .expect("work symbol");
    let (start, end) = (work.address(), work.address() + work.size());

    let att = symbolize::disassemble(&bin, start, end, false).expect("disassemble");
    assert!(!att.is_empty());
    assert_eq!(att[0].addr, start);
    assert!(att.iter().all(|i| i.function == "work" && i.addr < end));
    assert!(att.iter().all(|i| i.file.ends_with("d.c") && i.line == 1));
    assert!(att.iter().any(|i| i.text.starts_with("ret")));
    assert!(
        att.iter().any(|i| i.text.contains('%')),
        "AT&T registers: {att:?}"
    );
    let branch = att.iter().find(|i| i.text.starts_with('j'));
    if let Some(b) = branch {
        assert!(b.text.contains(" <work+0x"), "branch target: {}", b.text);
    }

    let intel = symbolize::disassemble(&bin, start, end, true).expect("disassemble");
    assert_eq!(
        intel.iter().map(|i| i.addr).collect::<Vec<_>>(),
        att.iter().map(|i| i.addr).collect::<Vec<_>>()
    );
    assert!(intel.iter().all(|i| !i.text.contains('%')));
}

/// objdump's instruction text for `[start, end)` of `bin`, by address.
fn objdump_text(bin: &std::path::Path, start: u64, end: u64, intel: bool) -> Vec<(u64, String)> {
    let mut cmd = Command::new("objdump");
    cmd.args(["-d", "--no-show-raw-insn"]);
    if intel {
        cmd.args(["-M", "intel"]);
    }
    let out = cmd
        .arg(format!("--start-address={start:#x}"))
        .arg(format!("--stop-address={end:#x}"))
        .arg(bin)
        .output()
        .expect("objdump");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (addr, text) = l.trim_start().split_once(":\t")?;
            Some((
                u64::from_str_radix(addr, 16).ok()?,
                text.trim_end().to_string(),
            ))
        })
        .collect()
}

#[test]
fn instruction_text_matches_gnu_objdump_for_compiled_functions() {
    let have = |t: &str| Command::new(t).arg("--version").output().is_ok();
    if !have("gcc") || !have("objdump") {
        eprintln!("skipping: gcc or objdump is not installed");
        return;
    }
    let dir = ScratchDir::new("symbolize-objdump");
    let src = dir.join("p.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n\
         static int sq(int x) { return x * x; }\n\
         __attribute__((noinline)) int work(int n) { int s = 0; for (int i = 0; i < n; i++) s += sq(i) ^ (s >> 3); return s; }\n\
         __attribute__((noinline)) long other(long n, long *p) { p[n & 7] += n * 1000; return work((int)n) * 3 + n; }\n\
         int main(int c, char **v) { long a[8] = {0}; printf(\"%ld\\n\", other(c, a)); return 0; }\n",
    )
    .expect("write");
    for opt in ["-O0", "-O2"] {
        let bin = dir.join(format!("p{opt}"));
        let ok = Command::new("gcc")
            .args([opt, "-g", "-fPIE", "-pie", "-o"])
            .arg(&bin)
            .arg(&src)
            .status()
            .expect("gcc");
        assert!(ok.success());
        let obj = symbolize::ObjectFile::open(&bin).expect("open");
        for name in ["work", "other", "main"] {
            let sym = obj.symbols(&|n| n == name, None);
            let sym = sym.first().expect("symbol");
            for intel in [false, true] {
                let ours: Vec<(u64, String)> = obj
                    .disassemble(sym.start, sym.end, intel)
                    .expect("disassemble")
                    .into_iter()
                    .map(|i| (i.addr, i.text))
                    .collect();
                let theirs = objdump_text(&bin, sym.start, sym.end, intel);
                // objdump spells redundant prefixes of padding (`cs nopw`) apart.
                let comparable = |t: &String| {
                    !t.contains("cs nop") && !t.contains("%cs:") && !t.contains("cs:[")
                };
                let ours: Vec<_> = ours.into_iter().filter(|(_, t)| comparable(t)).collect();
                let theirs: Vec<_> = theirs.into_iter().filter(|(_, t)| comparable(t)).collect();
                assert_eq!(ours, theirs, "{name} {opt} intel={intel}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

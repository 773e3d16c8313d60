//! Disassembly of a gcc-built binary, checked against the symbol table and DWARF.

use std::process::Command;

use object::{Object, ObjectSymbol};

#[test]
fn disassembles_a_function_in_both_syntaxes_with_lines() {
    if Command::new("gcc").arg("--version").output().is_err() {
        eprintln!("skipping: gcc is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("symbolize-disasm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
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
    let (start, end) = (work.address(), work.address() + work.size() - 1);

    let att = symbolize::disassemble(&bin, start, end, false).expect("disassemble");
    assert!(!att.is_empty());
    assert_eq!(att[0].addr, start);
    assert!(att.iter().all(|i| i.function == "work" && i.addr <= end));
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

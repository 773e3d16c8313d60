//! Prints the disassembly of `BINARY START END [intel]` (hex addresses), one instruction a line.

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let s = u64::from_str_radix(&a[2], 16).unwrap();
    let e = u64::from_str_radix(&a[3], 16).unwrap();
    for i in symbolize::disassemble(std::path::Path::new(&a[1]), s, e, a.len() > 4).unwrap() {
        println!(
            "{:x}\t{}\t{}:{}\t{}",
            i.addr, i.function, i.file, i.line, i.text
        );
    }
}

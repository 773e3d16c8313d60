//! The binaries of a profile as the machine-code reports (`-disasm`, `-weblist`) read
//! them: symbols, address bases and disassembly from the symbolize crate, each binary
//! opened once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use profile::{Error, Result};
use report::disasm::{BinarySymbol, Inst, MappedFile, ObjTool};
use symbolize::ObjectFile;

/// Binaries opened on demand, by path; a failure to open is remembered too.
#[derive(Default)]
pub struct Binaries {
    open: RefCell<HashMap<String, std::result::Result<Rc<ObjectFile>, String>>>,
}

impl Binaries {
    /// The binary at `path`, opened once.
    fn get(&self, path: &str) -> Result<Rc<ObjectFile>> {
        self.open
            .borrow_mut()
            .entry(path.to_string())
            .or_insert_with(|| {
                // A file that cannot be opened is worded as `go tool pprof` words it.
                std::fs::File::open(path)
                    .map_err(|e| format!("open {path}: {}", crate::fetch::os_error(&e)))?;
                ObjectFile::open(Path::new(path))
                    .map(Rc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(Error::new)
    }
}

impl ObjTool for Binaries {
    fn symbols(
        &self,
        mapping: &MappedFile<'_>,
        matches: &dyn Fn(&str) -> bool,
        address: Option<u64>,
    ) -> Result<Vec<BinarySymbol>> {
        let bin = self.get(mapping.file)?;
        Ok(bin
            .symbols(matches, address)
            .into_iter()
            .map(|s| BinarySymbol {
                names: s.names,
                start: s.start,
                end: s.end,
            })
            .collect())
    }

    fn base(&self, mapping: &MappedFile<'_>, addr: u64) -> Result<u64> {
        self.get(mapping.file)?
            .base(mapping.start, mapping.limit, mapping.offset, addr)
    }

    fn disassemble(&self, file: &str, start: u64, end: u64, intel: bool) -> Result<Vec<Inst>> {
        Ok(self
            .get(file)?
            .disassemble(start, end, intel)?
            .into_iter()
            .map(|i| Inst {
                addr: i.addr,
                text: i.text,
                function: i.function,
                file: i.file,
                line: i.line,
                caller_file: i.caller_file,
                caller_line: i.caller_line,
            })
            .collect())
    }
}

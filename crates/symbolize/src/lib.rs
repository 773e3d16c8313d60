//! Symbolization and disassembly of native binaries, in process, without binutils.
//!
//! A profile from a C, C++ or Rust program often holds only addresses and mappings.
//! This crate gives its locations functions, files, lines and inline frames the way
//! `go tool pprof` does with `llvm-symbolizer` (its preferred tool), reading ELF with
//! `object` and DWARF with `gimli`/`addr2line`, and demangles names as pprof does.
//!
//! The driver calls, in pprof's order:
//! 1. [`locate_binaries`] on each profile as it is read (before merging): it points
//!    each mapping at a local copy of its binary found through `$PPROF_BINARY_PATH`
//!    and applies an explicit binary given on the command line;
//! 2. [`symbolize`] on the merged profile, with [`SymbolizeOptions::parse`] of the
//!    `-symbolize` flag's value; it returns the messages pprof prints on stderr.
//!
//! For profiles fetched over HTTP, [`MappingSources::collect`] records each mapping's
//! source, [`symbolize_with_remote`] also asks the source's `/debug/pprof/symbol`
//! service for the names local binaries did not give, and [`unsource_mappings`]
//! clears the file names that were only URLs.
//!
//! [`ObjectFile`] (and [`disassemble`]) decodes x86-64 code of a binary for `-disasm`
//! and `-weblist`, and lists its symbols as `nm -n` does.

#![warn(missing_docs)]

mod address;
mod binary;
mod demangle;
mod disasm;
mod frames;
mod locate;
mod remote;
mod symbolizer;

pub use demangle::{demangle, demangle_profile, DemangleMode};
pub use disasm::{disassemble, Inst, ObjectFile, Sym};
pub use frames::Frame;
pub use locate::{locate_binaries, LocateOptions};
pub use remote::{remote_symbolize, symbolz_url, unsource_mappings, MappingSources};
pub use symbolizer::{
    binary_frames, symbolize, symbolize_with_remote, Remote, Report, SymbolizeOptions,
};

//! The copy of a fetched profile's body kept as it arrives: what parsing it whole
//! needs when decoding it as it came gave up, and what is saved when the profile is
//! left as its server sent it.
//!
//! A copy made for saving is written, as the bytes come, to an unnamed file of the
//! directory the profile is saved in (`O_TMPFILE`), which saving links into place: the
//! body is not held in memory (but for the last megabyte, written a megabyte at a
//! time), the saved file appears only when complete, and a run that ends any other
//! way, killed included, leaves nothing behind. Where no such file can be made, and
//! for a copy not made for saving, the copy is held in memory. A file that stops
//! taking bytes (a full disk) hands them back to memory; a copy that can then not be
//! read back is lost, which fails only what needs it (parsing the body whole), not
//! the profile decoded as it came.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::tempfile::NewFile;

/// A copy of the bytes of a body, in memory or in an unnamed file where it would be
/// saved.
pub struct BodyCopy {
    held: Held,
    /// The first two bytes of the body (the gzip magic, if it is gzipped).
    head: [u8; 2],
    /// How many of them came (up to two).
    head_len: usize,
}

/// Where a [`BodyCopy`] holds its bytes.
enum Held {
    /// Nothing yet: the file is made in this directory when the first bytes come (a
    /// server may take the profile's duration to answer).
    FileIn(String),
    Memory(Vec<u8>),
    File(Spool),
    /// Nothing: the file failed to take bytes, and what it held could not be read back.
    Lost(std::io::Error),
}

/// An unnamed file being written with a body's bytes, in the directory it is saved
/// in.
struct Spool {
    new: NewFile,
    /// The directories made for the file, the deepest first: removed again (those
    /// left empty) unless the copy is saved, as a fetch that saves nothing makes none.
    made_dirs: Vec<PathBuf>,
    /// Bytes written to the file so far.
    written: u64,
    /// Bytes taken and not written yet (written a megabyte at a time).
    pending: Vec<u8>,
}

impl Spool {
    /// Bytes gathered before they are written.
    const PENDING: usize = 1 << 20;

    /// Writes out the bytes pending.
    fn write_pending(&mut self) -> std::io::Result<()> {
        self.new.file().write_all(&self.pending)?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Every byte taken: those written, read back, then those pending.
    fn read_back(&mut self) -> std::io::Result<Vec<u8>> {
        let written = usize::try_from(self.written).map_err(std::io::Error::other)?;
        let mut bytes = vec![0; written];
        let file = self.new.file();
        file.seek(SeekFrom::Start(0))?;
        file.read_exact(&mut bytes)?;
        bytes.extend_from_slice(&self.pending);
        Ok(bytes)
    }

    /// Completes the file and names it `prefixNNNsuffix` in its directory (see
    /// [`NewFile::name`]); returns its path.
    fn save(&mut self, prefix: &str, suffix: &str) -> std::io::Result<String> {
        self.write_pending()?;
        let path = self.new.name(prefix, suffix)?;
        self.made_dirs.clear();
        Ok(path)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        remove_empty(&self.made_dirs);
    }
}

/// The directories creating `dir` would make: those of it and its parents that do
/// not exist, the deepest first.
fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect()
}

/// Removes `dirs`, the deepest first, as long as each is empty.
fn remove_empty(dirs: &[PathBuf]) {
    for d in dirs {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
    }
}

impl BodyCopy {
    /// A copy held in memory.
    pub fn in_memory() -> BodyCopy {
        BodyCopy::holding(Held::Memory(Vec::new()))
    }

    /// A copy written to a new unnamed file of `dir` (made if need be) once the first
    /// bytes come, to be saved there; held in memory when no such file can be made.
    pub fn in_dir(dir: &str) -> BodyCopy {
        BodyCopy::holding(Held::FileIn(dir.to_string()))
    }

    fn holding(held: Held) -> BodyCopy {
        BodyCopy {
            held,
            head: [0; 2],
            head_len: 0,
        }
    }

    /// Where bytes for a file of `dir` go: a new unnamed file there, else memory.
    fn open_in(dir: &str) -> Held {
        let dir = Path::new(dir);
        let made_dirs = missing_dirs(dir);
        let new = std::fs::create_dir_all(dir).and_then(|()| NewFile::unnamed(dir));
        match new {
            Ok(new) => Held::File(Spool {
                new,
                made_dirs,
                written: 0,
                pending: Vec::with_capacity(Spool::PENDING),
            }),
            Err(_) => {
                remove_empty(&made_dirs);
                Held::Memory(Vec::new())
            }
        }
    }

    /// Whether the body starts as a gzip stream does.
    pub fn is_gzip(&self) -> bool {
        self.head_len == 2 && self.head == [0x1f, 0x8b]
    }

    /// Whether the copy holds every byte given to it (see [`push`](Self::push)).
    pub fn is_whole(&self) -> bool {
        !matches!(self.held, Held::Lost(_))
    }

    /// Adds `bytes` to the copy. A file that fails to take them hands every byte back
    /// to memory, where the copy goes on; when they cannot be read back, the copy is
    /// lost (see [`is_whole`](Self::is_whole)).
    pub fn push(&mut self, bytes: &[u8]) {
        let head = (2 - self.head_len).min(bytes.len());
        self.head[self.head_len..self.head_len + head].copy_from_slice(&bytes[..head]);
        self.head_len += head;
        self.hold(bytes);
    }

    /// Adds `bytes` to where the copy is held (see [`push`](Self::push)).
    fn hold(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let spool = match &mut self.held {
            Held::File(spool) => spool,
            Held::Memory(v) => return v.extend_from_slice(bytes),
            Held::Lost(_) => return,
            Held::FileIn(dir) => {
                let dir = std::mem::take(dir);
                self.held = BodyCopy::open_in(&dir);
                return self.hold(bytes);
            }
        };
        if spool.pending.len() + bytes.len() <= Spool::PENDING {
            return spool.pending.extend_from_slice(bytes);
        }
        let written = spool
            .write_pending()
            .and_then(|()| spool.new.file().write_all(bytes));
        match written {
            Ok(()) => spool.written += bytes.len() as u64,
            // Whatever part of the failed write reached the file is not counted: only
            // what was written before it is read back.
            Err(_) => {
                self.held = match spool.read_back() {
                    Ok(mut all) => {
                        all.extend_from_slice(bytes);
                        Held::Memory(all)
                    }
                    Err(e) => Held::Lost(e),
                }
            }
        }
    }

    /// Every byte of the copy, in memory; fails for a copy that was lost.
    pub fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self.held {
            Held::FileIn(_) => Ok(Vec::new()),
            Held::Memory(v) => Ok(v),
            Held::File(mut spool) => spool.read_back(),
            Held::Lost(e) => Err(e),
        }
    }

    /// Saves the copy in `dir`, which must exist, as the file `prefixNNNsuffix` no
    /// file has (see [`NewFile::name`]): the unnamed file completed and named, a copy
    /// in memory written to a new file first. Returns its path.
    pub fn save_in(self, dir: &Path, prefix: &str, suffix: &str) -> std::io::Result<String> {
        let bytes = match self.held {
            Held::File(mut spool) => return spool.save(prefix, suffix),
            Held::Lost(e) => return Err(e),
            Held::FileIn(_) => Vec::new(),
            Held::Memory(v) => v,
        };
        let mut new = NewFile::create(dir)?;
        new.file().write_all(&bytes)?;
        new.name(prefix, suffix)
    }
}

impl Write for BodyCopy {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("profkit-body-copy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Bytes of a body several times the size of what is gathered before writing.
    fn body() -> Vec<u8> {
        let mut b = vec![0x1f, 0x8b];
        b.extend((0..3 * Spool::PENDING + 12345).map(|i| (i % 251) as u8));
        b
    }

    fn copy_in_pieces(copy: &mut BodyCopy, body: &[u8]) {
        for piece in body.chunks(100_000) {
            copy.push(piece);
        }
    }

    /// A copy written to `file`, as though made in a directory that was there.
    fn spooled_to(file: std::fs::File, written: u64) -> BodyCopy {
        BodyCopy::holding(Held::File(Spool {
            new: NewFile::of(file, Path::new("/nonexistent")),
            made_dirs: Vec::new(),
            written,
            pending: Vec::new(),
        }))
    }

    #[test]
    // Unnamed files are made where the C library gives their flag.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_copy_for_saving_is_written_to_an_unnamed_file_and_saved_by_naming_it() {
        let dir = scratch("saved");
        let body = body();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        // Nothing is made before the first bytes come.
        copy.push(&[]);
        assert!(!dir.exists());
        copy_in_pieces(&mut copy, &body);
        assert!(matches!(copy.held, Held::File(_)));
        assert!(copy.is_gzip() && copy.is_whole());
        // The file has no name until it is saved.
        assert!(files_in(&dir).is_empty());
        let saved = copy.save_in(&dir, "saved.", ".pb.gz").unwrap();
        assert!(saved.ends_with("saved.001.pb.gz"), "{saved}");
        assert!(std::fs::read(&saved).unwrap() == body);
        assert_eq!(files_in(&dir), ["saved.001.pb.gz"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    // Unnamed files are made where the C library gives their flag.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_copy_saved_where_another_run_took_the_name_takes_the_next() {
        let dir = scratch("taken");
        let body = body();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy_in_pieces(&mut copy, &body);
        std::fs::write(dir.join("saved.001.pb.gz"), b"another run's").unwrap();
        let saved = copy.save_in(&dir, "saved.", ".pb.gz").unwrap();
        assert!(saved.ends_with("saved.002.pb.gz"), "{saved}");
        assert!(std::fs::read(&saved).unwrap() == body);
        assert_eq!(
            std::fs::read(dir.join("saved.001.pb.gz")).unwrap(),
            b"another run's"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    // Unnamed files are made where the C library gives their flag.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_copy_not_saved_leaves_nothing_not_even_the_directories_it_made() {
        let top = scratch("not-saved");
        let dir = top.join("a").join("b");
        let body = body();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy_in_pieces(&mut copy, &body);
        assert!(dir.is_dir());
        assert!(copy.into_bytes().unwrap() == body);
        assert!(!top.exists());
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy.push(b"not gzip");
        assert!(!copy.is_gzip());
        drop(copy);
        assert!(!top.exists());
        // A directory that was there stays.
        std::fs::create_dir_all(&dir).unwrap();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy_in_pieces(&mut copy, &body);
        drop(copy);
        assert!(files_in(&dir).is_empty());
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn a_copy_where_no_file_can_be_made_is_held_in_memory() {
        let dir = scratch("no-dir");
        std::fs::create_dir_all(&dir).unwrap();
        let not_a_dir = dir.join("file");
        std::fs::write(&not_a_dir, b"x").unwrap();
        let mut copy = BodyCopy::in_dir(not_a_dir.join("sub").to_str().unwrap());
        let body = body();
        copy_in_pieces(&mut copy, &body);
        assert!(matches!(copy.held, Held::Memory(_)));
        let saved = copy.save_in(&dir, "saved.", ".pb.gz").unwrap();
        assert!(std::fs::read(saved).unwrap() == body);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_copy_whose_file_fails_to_take_bytes_goes_on_in_memory_with_every_byte() {
        // Writing to /dev/full fails as on a full disk.
        let Ok(full) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/full")
        else {
            return;
        };
        let mut copy = spooled_to(full, 0);
        let body = body();
        copy_in_pieces(&mut copy, &body);
        assert!(matches!(copy.held, Held::Memory(_)));
        assert!(copy.is_gzip() && copy.is_whole());
        assert!(copy.into_bytes().unwrap() == body);
    }

    #[test]
    fn a_copy_whose_file_fails_and_cannot_be_read_back_is_lost_without_failing_the_pushes() {
        // Open for writing only, /dev/full fails both ways: as though some bytes had
        // been written, reading them back fails too.
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let mut copy = spooled_to(full, 10);
        copy_in_pieces(&mut copy, &body());
        assert!(!copy.is_whole());
        assert!(copy.into_bytes().is_err());
    }
}

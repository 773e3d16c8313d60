//! The copy of a fetched profile's body kept as it arrives: what parsing it whole
//! needs when decoding it as it came gave up, and what is saved when the profile is
//! left as its server sent it.
//!
//! A copy made for saving is written, as it arrives, to a hidden file of the
//! directory the profile is saved in, and saved by renaming that file: the body is
//! never held in memory, and the saved file appears only when complete. Anywhere
//! else, or when no file can be made there, the copy is held in memory. A file that
//! stops taking bytes (a full disk) hands its bytes back to memory, so a body is never
//! lost to a failed copy.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A copy of the bytes of a body, in memory or in a hidden file beside where it would
/// be saved.
pub struct BodyCopy {
    held: Held,
    /// The first two bytes of the body (the gzip magic, if it is gzipped).
    head: [u8; 2],
    /// How many of them came (up to two).
    head_len: usize,
}

/// Where a [`BodyCopy`] holds its bytes.
enum Held {
    Memory(Vec<u8>),
    File(Spool),
    /// Nothing yet: the file is made in this directory when the first bytes come
    /// (a server may take the profile's duration to answer, which may be interrupted).
    FileIn(String),
}

/// A hidden file being written with a body's bytes, removed unless saved.
struct Spool {
    file: File,
    path: PathBuf,
    /// Bytes written to the file so far.
    written: u64,
    /// Bytes taken and not written yet (written a few at a time).
    pending: Vec<u8>,
    /// Whether the file was renamed into place (it is then not removed).
    saved: bool,
}

impl Spool {
    /// Bytes gathered before they are written.
    const PENDING: usize = 1 << 20;

    /// Writes out the bytes pending.
    fn write_pending(&mut self) -> std::io::Result<()> {
        self.file.write_all(&self.pending)?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Every byte taken: those written, read back, then those pending.
    fn read_back(&mut self) -> std::io::Result<Vec<u8>> {
        let written = usize::try_from(self.written).map_err(std::io::Error::other)?;
        let mut bytes = vec![0; written];
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_exact(&mut bytes)?;
        bytes.extend_from_slice(&self.pending);
        Ok(bytes)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.saved {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl BodyCopy {
    /// A copy held in memory.
    pub fn in_memory() -> BodyCopy {
        BodyCopy::holding(Held::Memory(Vec::new()))
    }

    /// A copy written to a new hidden file of `dir` (made if need be) once the first
    /// bytes come, to be saved there; held in memory when no file can be made there.
    pub fn in_dir(dir: &str) -> BodyCopy {
        BodyCopy::holding(Held::FileIn(dir.to_string()))
    }

    /// Where bytes for a file of `dir` go: a new hidden file there, else memory.
    fn open_in(dir: &str) -> Held {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        if std::fs::create_dir_all(dir).is_err() {
            return Held::Memory(Vec::new());
        }
        for _ in 0..100 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!(".pprof-body.{}.{n}.tmp", std::process::id());
            let path = Path::new(dir).join(name);
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return BodyCopy::spool(file, path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => break,
            }
        }
        Held::Memory(Vec::new())
    }

    /// Bytes written to `file`, open for reading and writing at `path`, which is
    /// removed unless the copy is saved.
    fn spool(file: File, path: PathBuf) -> Held {
        Held::File(Spool {
            file,
            path,
            written: 0,
            pending: Vec::with_capacity(Spool::PENDING),
            saved: false,
        })
    }

    fn holding(held: Held) -> BodyCopy {
        BodyCopy {
            held,
            head: [0; 2],
            head_len: 0,
        }
    }

    /// Whether the body starts as a gzip stream does.
    pub fn is_gzip(&self) -> bool {
        self.head_len == 2 && self.head == [0x1f, 0x8b]
    }

    /// Adds `bytes` to the copy. A file that fails to take them hands every byte back
    /// to memory, where the copy goes on; fails only when they cannot be read back.
    pub fn push(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let head = (2 - self.head_len).min(bytes.len());
        self.head[self.head_len..self.head_len + head].copy_from_slice(&bytes[..head]);
        self.head_len += head;
        self.hold(bytes)
    }

    /// Adds `bytes` to where the copy is held (see [`push`](Self::push)).
    fn hold(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let spool = match &mut self.held {
            Held::File(spool) => spool,
            Held::Memory(v) => {
                v.extend_from_slice(bytes);
                return Ok(());
            }
            Held::FileIn(dir) => {
                let dir = std::mem::take(dir);
                self.held = BodyCopy::open_in(&dir);
                return self.hold(bytes);
            }
        };
        if spool.pending.len() + bytes.len() <= Spool::PENDING {
            spool.pending.extend_from_slice(bytes);
            return Ok(());
        }
        let written = spool
            .write_pending()
            .and_then(|()| spool.file.write_all(bytes));
        match written {
            Ok(()) => {
                spool.written += bytes.len() as u64;
                Ok(())
            }
            Err(_) => {
                // Whatever part of the failed write reached the file is not counted:
                // only what was written before it is read back.
                let mut all = spool.read_back()?;
                all.extend_from_slice(bytes);
                self.held = Held::Memory(all);
                Ok(())
            }
        }
    }

    /// Every byte of the copy, in memory.
    pub fn into_bytes(mut self) -> std::io::Result<Vec<u8>> {
        match &mut self.held {
            Held::Memory(v) => Ok(std::mem::take(v)),
            Held::File(spool) => spool.read_back(),
            Held::FileIn(_) => Ok(Vec::new()),
        }
    }

    /// Saves the copy as the file `path`: the hidden file is completed and renamed
    /// there, a copy in memory written there through a temporary file.
    pub fn save_as(mut self, path: &str) -> Result<(), String> {
        match &mut self.held {
            Held::Memory(v) => {
                crate::output::write_file(path, v).map_err(|e| e.0)?;
                Ok(())
            }
            Held::FileIn(_) => crate::output::write_file(path, &[]).map_err(|e| e.0),
            Held::File(spool) => {
                let fail = |e: std::io::Error| format!("writing {path}: {e}");
                spool.write_pending().map_err(fail)?;
                std::fs::rename(&spool.path, path).map_err(fail)?;
                spool.saved = true;
                Ok(())
            }
        }
    }
}

impl Write for BodyCopy {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf)?;
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
            copy.push(piece).unwrap();
        }
    }

    #[test]
    fn a_copy_for_saving_is_written_to_a_hidden_file_and_saved_by_renaming_it() {
        let dir = scratch("saved");
        let body = body();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        // Nothing is made before the first bytes come.
        assert!(!dir.exists());
        copy_in_pieces(&mut copy, &body);
        assert!(matches!(copy.held, Held::File(_)));
        assert!(copy.is_gzip());
        let hidden = files_in(&dir);
        assert_eq!(hidden.len(), 1);
        assert!(hidden[0].starts_with(".pprof-body."), "{hidden:?}");
        let saved = dir.join("saved.pb.gz");
        copy.save_as(saved.to_str().unwrap()).unwrap();
        assert!(std::fs::read(&saved).unwrap() == body);
        assert_eq!(files_in(&dir), ["saved.pb.gz"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_copy_in_a_file_reads_back_whole_and_leaves_nothing_behind() {
        let dir = scratch("read-back");
        let body = body();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy_in_pieces(&mut copy, &body);
        assert!(copy.into_bytes().unwrap() == body);
        assert!(files_in(&dir).is_empty());
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy.push(b"not gzip").unwrap();
        assert!(!copy.is_gzip());
        drop(copy);
        assert!(files_in(&dir).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
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
        let saved = dir.join("saved.pb.gz");
        copy.save_as(saved.to_str().unwrap()).unwrap();
        assert!(std::fs::read(&saved).unwrap() == body);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_copy_whose_file_fails_to_take_bytes_goes_on_in_memory_with_every_byte() {
        // Writing to /dev/full fails as a full disk does.
        let Ok(full) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/full")
        else {
            return;
        };
        let mut copy =
            BodyCopy::holding(BodyCopy::spool(full, PathBuf::from("/nonexistent/spool")));
        let body = body();
        copy_in_pieces(&mut copy, &body);
        assert!(matches!(copy.held, Held::Memory(_)));
        assert!(copy.is_gzip());
        assert!(copy.into_bytes().unwrap() == body);
    }
}

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

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
    file: File,
    dir: PathBuf,
    /// Whether the directory was made for the file: it is removed again (if empty)
    /// unless the copy is saved there, as a fetch that saves nothing makes none.
    made_dir: bool,
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

    /// Saves the bytes as the file `path`: the file linked there, or, where it cannot
    /// be (another file took the name meanwhile), copied there through a temporary
    /// file.
    fn save_as(&mut self, path: &str) -> std::io::Result<()> {
        self.write_pending()?;
        if link_into_place(&self.file, path).is_err() {
            let mut out =
                crate::output::Output::file(path).map_err(|e| std::io::Error::other(e.0))?;
            self.file.seek(SeekFrom::Start(0))?;
            std::io::copy(&mut (&self.file).take(self.written), out.writer())?;
            out.finish().map_err(|e| std::io::Error::other(e.0))?;
        }
        self.made_dir = false;
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if self.made_dir {
            // Fails, leaving it, once anything else is in it.
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// A new unnamed file in `dir`, open for reading and writing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn unnamed_file(dir: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn unnamed_file(_: &Path) -> std::io::Result<File> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Gives the unnamed `file` the name `path`, which must not exist.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn link_into_place(file: &File, path: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let from = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = std::ffi::CString::new(path)?;
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let linked = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if linked == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn link_into_place(_: &File, _: &str) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
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
        let dir = PathBuf::from(dir);
        let made_dir = !dir.is_dir();
        if std::fs::create_dir_all(&dir).is_err() {
            return Held::Memory(Vec::new());
        }
        match unnamed_file(&dir) {
            Ok(file) => Held::File(Spool {
                file,
                dir,
                made_dir,
                written: 0,
                pending: Vec::with_capacity(Spool::PENDING),
            }),
            Err(_) => {
                if made_dir {
                    let _ = std::fs::remove_dir(&dir);
                }
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
            .and_then(|()| spool.file.write_all(bytes));
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

    /// Saves the copy as the file `path`, which must not exist: the unnamed file
    /// completed and linked there, a copy in memory written there through a temporary
    /// file.
    pub fn save_as(self, path: &str) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("writing {path}: {}", crate::fetch::os_error(&e));
        match self.held {
            Held::FileIn(_) => crate::output::write_file(path, &[]).map_err(|e| e.0),
            Held::Memory(v) => crate::output::write_file(path, &v).map_err(|e| e.0),
            Held::File(mut spool) => spool.save_as(path).map_err(fail),
            Held::Lost(e) => Err(fail(e)),
        }
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
    fn spooled_to(file: File, written: u64) -> BodyCopy {
        BodyCopy::holding(Held::File(Spool {
            file,
            dir: PathBuf::from("/nonexistent"),
            made_dir: false,
            written,
            pending: Vec::new(),
        }))
    }

    #[test]
    // Unnamed files are made where the C library gives their flag.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_copy_for_saving_is_written_to_an_unnamed_file_and_saved_by_linking_it() {
        let dir = scratch("saved");
        let body = body();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        // Nothing is made before the first bytes come.
        assert!(!dir.exists());
        copy_in_pieces(&mut copy, &body);
        assert!(matches!(copy.held, Held::File(_)));
        assert!(copy.is_gzip() && copy.is_whole());
        // The file has no name until it is saved.
        assert!(files_in(&dir).is_empty());
        let saved = dir.join("saved.pb.gz");
        copy.save_as(saved.to_str().unwrap()).unwrap();
        assert!(std::fs::read(&saved).unwrap() == body);
        assert_eq!(files_in(&dir), ["saved.pb.gz"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    // Unnamed files are made where the C library gives their flag.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_copy_saved_where_a_file_took_its_name_meanwhile_is_copied_there() {
        let dir = scratch("taken");
        let body = body();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy_in_pieces(&mut copy, &body);
        let saved = dir.join("saved.pb.gz");
        std::fs::write(&saved, b"another run's").unwrap();
        copy.save_as(saved.to_str().unwrap()).unwrap();
        assert!(std::fs::read(&saved).unwrap() == body);
        assert_eq!(files_in(&dir), ["saved.pb.gz"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    // Unnamed files are made where the C library gives their flag.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_copy_not_saved_leaves_nothing_not_even_the_directory_it_made() {
        let dir = scratch("not-saved");
        let body = body();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy_in_pieces(&mut copy, &body);
        assert!(dir.is_dir());
        assert!(copy.into_bytes().unwrap() == body);
        assert!(!dir.exists());
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy.push(b"not gzip");
        assert!(!copy.is_gzip());
        drop(copy);
        assert!(!dir.exists());
        // A directory that was there stays.
        std::fs::create_dir_all(&dir).unwrap();
        let mut copy = BodyCopy::in_dir(dir.to_str().unwrap());
        copy_in_pieces(&mut copy, &body);
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

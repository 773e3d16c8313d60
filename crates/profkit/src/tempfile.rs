//! Naming new files as pprof does: `prefix001suffix`, `prefix002suffix`, ….

use crate::driver::Failure;

/// The first path `dir/prefixNNNsuffix` (NNN from 001) that does not exist yet.
pub fn new_path(dir: &str, prefix: &str, suffix: &str) -> Result<String, Failure> {
    for index in 1..10000 {
        let path = std::path::Path::new(dir).join(format!("{prefix}{index:03}{suffix}"));
        if !path.exists() {
            let path = path.to_string_lossy().into_owned();
            return Ok(path.strip_prefix("./").map(String::from).unwrap_or(path));
        }
    }
    Err(Failure(format!(
        "could not create file of the form {prefix}NNN{suffix}"
    )))
}

/// Creates the first file `dir/prefixNNNsuffix` (NNN from 001) that does not exist
/// yet, atomically (a name another process takes meanwhile is skipped, and no existing
/// file or link is ever opened): its path and the open file.
pub fn create_new(
    dir: &str,
    prefix: &str,
    suffix: &str,
) -> Result<(String, std::fs::File), Failure> {
    for index in 1..10000 {
        let path = std::path::Path::new(dir).join(format!("{prefix}{index:03}{suffix}"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path.to_string_lossy().into_owned(), file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Failure(format!(
                    "open {}: {}",
                    path.display(),
                    crate::fetch::os_error(&e)
                )))
            }
        }
    }
    Err(Failure(format!(
        "could not create file of the form {prefix}001{suffix}"
    )))
}

/// A file written in a directory without a name of its own until it is complete,
/// when it takes the first free name of the form `prefixNNNsuffix` there
/// ([`NewFile::name`]): it never replaces a file, and a run that ends before leaves
/// nothing (where the system makes unnamed files: `O_TMPFILE`, else a hidden
/// temporary that is removed unless the run is killed).
pub struct NewFile {
    file: std::fs::File,
    dir: std::path::PathBuf,
    /// The hidden temporary's path, where no unnamed file could be made.
    temporary: Option<std::path::PathBuf>,
}

impl NewFile {
    /// A new file in `dir`, which must exist, open for reading and writing: unnamed,
    /// else a hidden temporary.
    pub fn create(dir: &std::path::Path) -> std::io::Result<NewFile> {
        NewFile::unnamed(dir).or_else(|_| NewFile::hidden(dir))
    }

    /// A new unnamed file in `dir`; fails where the system makes none.
    pub fn unnamed(dir: &std::path::Path) -> std::io::Result<NewFile> {
        Ok(NewFile {
            file: unnamed_file(dir)?,
            dir: dir.to_path_buf(),
            temporary: None,
        })
    }

    /// A new file in `dir` under a hidden temporary name.
    fn hidden(dir: &std::path::Path) -> std::io::Result<NewFile> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        loop {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = dir.join(format!(".pprof-new.{}.{n}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(NewFile {
                        file,
                        dir: dir.to_path_buf(),
                        temporary: Some(path),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < u32::MAX => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// `file`, as though made unnamed in `dir` (to give a test a file that fails).
    #[cfg(test)]
    pub fn of(file: std::fs::File, dir: &std::path::Path) -> NewFile {
        NewFile {
            file,
            dir: dir.to_path_buf(),
            temporary: None,
        }
    }

    /// The file, to write (and read) its bytes.
    pub fn file(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// Names the complete file `dir/prefixNNNsuffix`, with the first number from 1
    /// that no file has, and returns that path. Where the file cannot be linked to a
    /// name (a file system without links), it is renamed to the first name free when
    /// looked at.
    pub fn name(&mut self, prefix: &str, suffix: &str) -> std::io::Result<String> {
        use std::io::{Seek, SeekFrom};
        for index in 1..10000 {
            let path = self.dir.join(format!("{prefix}{index:03}{suffix}"));
            let linked = match &self.temporary {
                None => link_unnamed(&self.file, &path),
                Some(temporary) => std::fs::hard_link(temporary, &path),
            };
            match linked {
                Ok(()) => return Ok(self.named(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) if self.temporary.is_none() => {
                    // Unnamed files of a system that does not link them: copied into a
                    // temporary, which is.
                    let mut copy = NewFile::hidden(&self.dir)?;
                    self.file.seek(SeekFrom::Start(0))?;
                    std::io::copy(&mut self.file, &mut copy.file)?;
                    return copy.name(prefix, suffix);
                }
                Err(_) => {
                    let path = std::path::PathBuf::from(
                        new_path(&self.dir.to_string_lossy(), prefix, suffix)
                            .map_err(|e| std::io::Error::other(e.0))?,
                    );
                    if let Some(temporary) = self.temporary.take() {
                        std::fs::rename(temporary, &path)?;
                    }
                    return Ok(path.to_string_lossy().into_owned());
                }
            }
        }
        Err(std::io::Error::other(format!(
            "could not create file of the form {prefix}NNN{suffix}"
        )))
    }

    /// `path`, now the file's name, as printed (as [`new_path`] prints it); the
    /// temporary name removed.
    fn named(&mut self, path: std::path::PathBuf) -> String {
        if let Some(temporary) = self.temporary.take() {
            let _ = std::fs::remove_file(temporary);
        }
        let path = path.to_string_lossy().into_owned();
        path.strip_prefix("./").map(String::from).unwrap_or(path)
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if let Some(temporary) = &self.temporary {
            let _ = std::fs::remove_file(temporary);
        }
    }
}

/// A new unnamed file in `dir`, open for reading and writing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn unnamed_file(dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn unnamed_file(_: &std::path::Path) -> std::io::Result<std::fs::File> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Gives the unnamed `file` the name `path`; fails (`AlreadyExists`) if a file has it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn link_unnamed(file: &std::fs::File, path: &std::path::Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = std::ffi::CString::new(path.as_os_str().as_bytes())?;
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
fn link_unnamed(_: &std::fs::File, _: &std::path::Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_path_skips_existing_files() {
        let dir = std::env::temp_dir().join(format!("profkit-tempfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        let first = new_path(d, "profile", ".pb.gz").unwrap();
        assert!(first.ends_with("profile001.pb.gz"));
        std::fs::write(&first, b"x").unwrap();
        assert!(new_path(d, "profile", ".pb.gz")
            .unwrap()
            .ends_with("profile002.pb.gz"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_file_takes_the_first_free_name_once_complete_and_never_replaces_one() {
        let dir = std::env::temp_dir().join(format!("profkit-newfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p001.x"), b"kept").unwrap();
        for (make, bytes) in [
            (
                NewFile::create as fn(&std::path::Path) -> std::io::Result<NewFile>,
                b"one",
            ),
            (NewFile::hidden, b"two"),
        ] {
            let mut new = make(&dir).unwrap();
            std::io::Write::write_all(new.file(), bytes).unwrap();
            let named = new.name("p", ".x").unwrap();
            assert_eq!(std::fs::read(&named).unwrap(), bytes);
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // No temporary is left.
        assert_eq!(names, ["p001.x", "p002.x", "p003.x"]);
        assert_eq!(std::fs::read(dir.join("p001.x")).unwrap(), b"kept");
        // A file dropped before it is named leaves nothing.
        drop(NewFile::hidden(&dir).unwrap());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn create_new_takes_the_first_free_name_and_never_an_existing_file() {
        let dir = std::env::temp_dir().join(format!("profkit-createnew-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        std::fs::write(dir.join("pprof001.svg"), b"kept").unwrap();
        let (path, _) = create_new(d, "pprof", ".svg").unwrap();
        assert!(path.ends_with("pprof002.svg"), "{path}");
        assert_eq!(std::fs::read(dir.join("pprof001.svg")).unwrap(), b"kept");
        let (path, _) = create_new(d, "pprof", ".svg").unwrap();
        assert!(path.ends_with("pprof003.svg"), "{path}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

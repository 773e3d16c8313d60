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

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
}

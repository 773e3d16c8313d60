//! Finding and reading source files named in a profile.
//!
//! Profiles name source files as the build saw them: relative to a module root, absolute
//! on the build machine, or under `/proc/self/cwd`. A [`SourceReader`] trims such names,
//! looks them up in a search path (and every parent of each directory in it), and keeps
//! each file it read split into lines, so that a listing reads every file once.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};

use crate::report::trim_path;

/// Longest line the reader accepts; reading a file stops at the first longer line, as
/// pprof's line scanner does.
const MAX_LINE_LEN: usize = 64 * 1024;

/// Source files read on demand from a search path, cached by the name the profile gives.
#[derive(Debug)]
pub struct SourceReader {
    search_path: String,
    trim_path: String,
    files: HashMap<String, SourceFile>,
}

/// One file's text with the byte range of each line, or why it could not be opened.
#[derive(Debug, Default)]
struct SourceFile {
    text: Vec<u8>,
    /// `(start, end)` of line `i + 1` in `text`, without its line terminator.
    lines: Vec<(usize, usize)>,
    error: Option<String>,
}

impl SourceReader {
    /// A reader that searches `search_path` (directories separated by `:`) and trims the
    /// prefixes in `trim_path` (also `:`-separated) from file names.
    pub fn new(search_path: &str, trim_path: &str) -> SourceReader {
        SourceReader {
            search_path: search_path.to_string(),
            trim_path: trim_path.to_string(),
            files: HashMap::new(),
        }
    }

    /// Line `lineno` (1-based) of the file the profile names `path`, without its line
    /// terminator; `None` when the line is out of range or the file could not be read.
    pub fn line(&mut self, path: &str, lineno: i64) -> Option<&[u8]> {
        let file = self.file(path);
        let index = usize::try_from(lineno).ok()?.checked_sub(1)?;
        let &(start, end) = file.lines.get(index)?;
        file.text.get(start..end)
    }

    /// Why the file the profile names `path` could not be opened, once a line of it was
    /// asked for.
    pub fn error(&self, path: &str) -> Option<&str> {
        self.files.get(path).and_then(|f| f.error.as_deref())
    }

    fn file(&mut self, path: &str) -> &SourceFile {
        if !self.files.contains_key(path) {
            let file = match open_source_file(path, &self.search_path, &self.trim_path) {
                Ok(mut f) => {
                    let mut text = Vec::new();
                    // A read error (a directory, say) leaves the lines read so far and is not
                    // reported, as in pprof.
                    let _ = f.read_to_end(&mut text);
                    let lines = split_lines(&text);
                    SourceFile {
                        text,
                        lines,
                        error: None,
                    }
                }
                Err(message) => SourceFile {
                    error: Some(message),
                    ..SourceFile::default()
                },
            };
            self.files.insert(path.to_string(), file);
        }
        &self.files[path]
    }
}

/// The byte ranges of the lines of `text`: split at `\n`, one trailing `\r` dropped from
/// each line, no empty line after a final `\n`. Stops before the first line longer than
/// [`MAX_LINE_LEN`].
fn split_lines(text: &[u8]) -> Vec<(usize, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = text[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| start + i);
        if end - start >= MAX_LINE_LEN {
            break;
        }
        let content_end = if end > start && text[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        lines.push((start, content_end));
        start = end + 1;
    }
    lines
}

/// Opens the source file a profile names `path`: after trimming (see [`trim_path`]) an
/// absolute name must exist as is; a relative one is looked up under each directory of
/// `search_path` and each of its parents. The error is pprof's message.
fn open_source_file(path: &str, search_path: &str, trim: &str) -> Result<File, String> {
    let path = trim_path(path, trim, search_path);
    let path = path.as_str();
    if path.starts_with('/') {
        return File::open(path).map_err(|e| format!("open {path}: {}", os_error_text(&e)));
    }
    for dir in split_list(search_path) {
        let mut dir = dir.to_string();
        loop {
            if let Ok(f) = File::open(profile::gopath::join(&[&dir, path])) {
                return Ok(f);
            }
            let parent = profile::gopath::dir(&dir);
            if parent == dir {
                break;
            }
            dir = parent;
        }
    }
    Err(format!("could not find file {path} on path {search_path}"))
}

/// The text Go gives an operating system error: lowercase, without the error number.
fn os_error_text(e: &io::Error) -> String {
    let known = match e.kind() {
        io::ErrorKind::NotFound => Some("no such file or directory"),
        io::ErrorKind::PermissionDenied => Some("permission denied"),
        _ => None,
    };
    if let Some(text) = known {
        return text.to_string();
    }
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The entries of a `:`-separated list; none for an empty list.
fn split_list(list: &str) -> impl Iterator<Item = &str> {
    let mut parts = list.split(':');
    if list.is_empty() {
        parts.next();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_drop_carriage_returns_and_the_empty_tail() {
        let text = b"a\r\nb\n\nc";
        let lines: Vec<&[u8]> = split_lines(text)
            .iter()
            .map(|&(s, e)| &text[s..e])
            .collect();
        assert_eq!(lines, vec![&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(split_lines(b"x\n").len(), 1);
        assert!(split_lines(b"").is_empty());
    }

    #[test]
    fn reading_stops_at_an_overlong_line() {
        let mut text = b"first\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE_LEN));
        text.extend(b"\nlast\n");
        assert_eq!(split_lines(&text), vec![(0, 5)]);
    }

    #[test]
    fn parent_dir_follows_go_path_rules() {
        assert_eq!(profile::gopath::dir("src"), ".");
        assert_eq!(profile::gopath::dir("/a/b"), "/a");
        assert_eq!(profile::gopath::dir("/"), "/");
    }

    #[test]
    fn missing_relative_file_reports_the_search_path() {
        let mut r = SourceReader::new("/nonexistent-dir-for-test", "");
        assert!(r.line("a/b.go", 1).is_none());
        assert_eq!(
            r.error("a/b.go"),
            Some("could not find file a/b.go on path /nonexistent-dir-for-test")
        );
    }

    #[test]
    fn missing_absolute_file_reports_the_open_error() {
        let mut r = SourceReader::new("", "");
        assert!(r.line("/nonexistent-dir-for-test/b.go", 1).is_none());
        assert_eq!(
            r.error("/nonexistent-dir-for-test/b.go"),
            Some("open /nonexistent-dir-for-test/b.go: no such file or directory")
        );
    }

    #[test]
    fn relative_file_is_found_in_a_parent_of_the_search_directory() {
        let root = std::env::temp_dir().join(format!("source-reader-{}", std::process::id()));
        let deep = root.join("x/y");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(root.join("f.go"), "one\ntwo\n").unwrap();
        let mut r = SourceReader::new(deep.to_str().unwrap(), "");
        assert_eq!(r.line("f.go", 2), Some(&b"two"[..]));
        assert_eq!(r.line("f.go", 3), None);
        assert_eq!(r.line("f.go", 0), None);
        assert_eq!(r.error("f.go"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}

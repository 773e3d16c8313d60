//! Slash-separated paths handled as Go's `path/filepath` handles them on Unix: pprof
//! passes every file name of a profile through these rules, so reports must too.

/// The last element of a slash-separated path (`.` for an empty one), like Go's
/// `filepath.Base`.
pub fn base_name(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// The shortest equivalent of a slash-separated path, like Go's `filepath.Clean`.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|&p| p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Everything but the last element of `path`, cleaned (`.` for a bare name), as Go's
/// `filepath.Dir`.
pub fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".to_string(),
    }
}

/// Joins the non-empty elements with `/` and cleans the result, as Go's `filepath.Join`
/// does (an empty result for no elements).
pub fn join(parts: &[&str]) -> String {
    let joined: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    if joined.is_empty() {
        return String::new();
    }
    clean(&joined.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_dots_and_duplicate_slashes() {
        assert_eq!(clean("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(clean("../x/.."), "..");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("/.."), "/");
    }

    #[test]
    fn base_name_is_the_last_element() {
        assert_eq!(base_name("/usr/lib/libc.so.6"), "libc.so.6");
        assert_eq!(base_name("dir/"), "dir");
        assert_eq!(base_name(""), ".");
        assert_eq!(base_name("///"), "/");
    }

    #[test]
    fn join_skips_empty_elements() {
        assert_eq!(join(&["a", "", "b/../c"]), "a/c");
        assert_eq!(join(&["", ""]), "");
    }
}

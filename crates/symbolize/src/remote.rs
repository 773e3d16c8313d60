//! Remote symbolization through the profile's source server (`/debug/pprof/symbol`),
//! as pprof's symbolz client does it: the addresses of a mapping's unsymbolized
//! locations are POSTed as `0xADDR+0xADDR…` and each `0xADDR name` line of the answer
//! names the function at that address.
//!
//! This module does no network I/O: the caller passes the function that POSTs.

use std::collections::HashMap;

use profile::{Error, Function, Line, Profile, Result, StrId};

/// Where the mappings of a profile came from: for each mapping key (build id, else
/// file name), the source URLs of the profiles that had it, with the mapping's start
/// address in that profile (pprof's `MappingSources`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappingSources {
    by_key: HashMap<String, Vec<(String, u64)>>,
}

impl MappingSources {
    /// Records that every mapping of `p` came from `source`. A mapping with neither
    /// build id nor file name is given `source` as its file name, so that it can be
    /// symbolized remotely; [`unsource_mappings`] clears it again.
    pub fn collect(p: &mut Profile, source: &str) -> MappingSources {
        let mut out = MappingSources::default();
        let source_id = p.intern(source);
        for i in 0..p.mappings.len() {
            let m = &p.mappings[i];
            let mut key = p.str(m.build_id).to_string();
            if key.is_empty() {
                key = p.str(m.filename).to_string();
            }
            if key.is_empty() {
                p.mappings[i].filename = source_id;
                key = source.to_string();
            }
            out.by_key
                .entry(key)
                .or_default()
                .push((source.to_string(), p.mappings[i].memory_start));
        }
        out
    }

    /// Adds the sources of `other` (of a profile merged with this one).
    pub fn extend(&mut self, other: MappingSources) {
        for (k, v) in other.by_key {
            self.by_key.entry(k).or_default().extend(v);
        }
    }

    /// Whether no mapping has a source.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    fn sources_of(&self, file: &str, build_id: &str) -> Vec<&(String, u64)> {
        let mut out: Vec<&(String, u64)> = self
            .by_key
            .get(file)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        if !build_id.is_empty() {
            out.extend(self.by_key.get(build_id).into_iter().flatten());
        }
        out
    }
}

/// Clears the file name of mappings that [`MappingSources::collect`] named after
/// their source URL (no build id, a file name that is an absolute URL).
pub fn unsource_mappings(p: &mut Profile) {
    for i in 0..p.mappings.len() {
        let m = &p.mappings[i];
        if m.build_id.is_empty() && is_absolute_url(p.str(m.filename)) {
            p.mappings[i].filename = StrId::EMPTY;
        }
    }
}

/// Whether `s` starts with a URL scheme (`scheme:`), as Go's `url.IsAbs` decides.
fn is_absolute_url(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// The symbol service URL for a profile fetched from `source`: `…/symbol` next to a
/// `/debug/pprof/` (or gperftools) path, `…/symbolz` next to any other, without the
/// query. `None` when `source` is not a URL with a host.
pub fn symbolz_url(source: &str) -> Option<String> {
    let (scheme, rest) = source.split_once("://")?;
    if scheme.is_empty() {
        return None;
    }
    let rest = rest.split('#').next().unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() {
        return None;
    }
    const GPERFTOOLS: [&str; 5] = [
        "/pprof/heap",
        "/pprof/growth",
        "/pprof/profile",
        "/pprof/pmuprofile",
        "/pprof/contention",
    ];
    let leaf = if path.contains("/debug/pprof/") || GPERFTOOLS.iter().any(|s| path.ends_with(s)) {
        "symbol"
    } else {
        "symbolz"
    };
    Some(format!(
        "{scheme}://{host}{}",
        clean_path(&format!("{path}/../{leaf}"))
    ))
}

/// Go's `path.Clean` for an absolute path.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Symbolizes the mappings of `p` that have no function names yet (all of them with
/// `force`) through the symbol service of their source, as pprof does: the first
/// source with a symbol service URL is asked, through `post(url, body)`, for the
/// names at the addresses of the mapping's locations that have no lines; each
/// location whose address is answered gets one line naming a function (shared by
/// name, with ids following the existing ones), and the mapping is marked as having
/// functions. An error of `post` or an address that cannot be adjusted is returned.
pub fn remote_symbolize(
    p: &mut Profile,
    force: bool,
    sources: &MappingSources,
    post: &mut dyn FnMut(&str, &str) -> Result<Vec<u8>>,
) -> Result<()> {
    for mi in 0..p.mappings.len() {
        let m = &p.mappings[mi];
        if !force && m.has_functions {
            continue;
        }
        let (file, build_id) = (p.str(m.filename).to_string(), p.str(m.build_id).to_string());
        let start = m.memory_start;
        let candidates: Vec<(String, u64)> = sources
            .sources_of(&file, &build_id)
            .into_iter()
            .cloned()
            .collect();
        for (source, source_start) in candidates {
            let Some(url) = symbolz_url(&source) else {
                continue;
            };
            let offset = (source_start as i64).wrapping_sub(start as i64);
            symbolize_mapping(p, mi as u32, &url, offset, post)?;
            p.mappings[mi].has_functions = true;
            break;
        }
    }
    Ok(())
}

/// `addr + offset`, or `None` when it wraps around.
fn adjust(addr: u64, offset: i64) -> Option<u64> {
    let adj = addr.wrapping_add(offset as u64);
    let wrapped = if offset < 0 { adj >= addr } else { adj < addr };
    (!wrapped || offset == 0).then_some(adj)
}

fn symbolize_mapping(
    p: &mut Profile,
    mapping: u32,
    url: &str,
    offset: i64,
    post: &mut dyn FnMut(&str, &str) -> Result<Vec<u8>>,
) -> Result<()> {
    let mut query = String::new();
    for l in &p.locations {
        if l.mapping != Some(profile::MappingIndex::new(mapping))
            || l.address == 0
            || !l.lines.is_empty()
        {
            continue;
        }
        let addr = adjust(l.address, offset).ok_or_else(|| {
            Error::new(format!(
                "cannot adjust address {} by {offset}, it would overflow (mapping {})",
                l.address,
                mapping + 1
            ))
        })?;
        if !query.is_empty() {
            query.push('+');
        }
        query.push_str(&format!("{addr:#x}"));
    }
    if query.is_empty() {
        return Ok(());
    }
    let answer = post(url, &query)?;
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut lines: HashMap<u64, u32> = HashMap::new();
    // Only complete lines count, as pprof reads them.
    let text = String::from_utf8_lossy(&answer);
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i + 1],
        None => "",
    };
    for line in complete.lines() {
        let Some((addr_text, name)) = symbol_line(line) else {
            continue;
        };
        let orig = u64::from_str_radix(&addr_text[2..], 16)
            .map_err(|e| Error::new(format!("unexpected parse failure {addr_text}: {e}")))?;
        let addr = adjust(orig, offset.wrapping_neg()).ok_or_else(|| {
            Error::new(format!(
                "cannot adjust symbolz address {orig} by {}, it would overflow",
                offset.wrapping_neg()
            ))
        })?;
        let f = match names.get(name) {
            Some(&f) => f,
            None => {
                let id = p.intern(name);
                let f = p.functions.len() as u32;
                p.functions.push(Function {
                    id: u64::from(f) + 1,
                    name: id,
                    system_name: id,
                    ..Function::default()
                });
                names.insert(name.to_string(), f);
                f
            }
        };
        lines.insert(addr, f);
    }
    for l in &mut p.locations {
        if l.mapping != Some(profile::MappingIndex::new(mapping)) {
            continue;
        }
        if let Some(&f) = lines.get(&l.address) {
            l.lines = [Line {
                function: f,
                line: 0,
                column: 0,
            }]
            .into();
        }
    }
    Ok(())
}

/// The first `0x<hex>` in `line` followed by white space, and the rest of the line
/// after that space (pprof's `(0x[[:xdigit:]]+)\s+(.*)`).
fn symbol_line(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(i) = line[from..].find("0x").map(|i| i + from) {
        let digits = bytes[i + 2..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let end = i + 2 + digits;
        let spaces = bytes[end..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b'))
            .count();
        if digits > 0 && spaces > 0 {
            return Some((&line[i..end], &line[end + spaces..]));
        }
        from = i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use profile::{Location, Mapping};

    #[test]
    fn symbol_service_sits_next_to_the_profile_handler() {
        assert_eq!(
            symbolz_url("http://h:6060/debug/pprof/profile?seconds=30").as_deref(),
            Some("http://h:6060/debug/pprof/symbol")
        );
        assert_eq!(
            symbolz_url("http://h/pprof/heap").as_deref(),
            Some("http://h/pprof/symbol")
        );
        assert_eq!(
            symbolz_url("https://h/x/profilez").as_deref(),
            Some("https://h/x/symbolz")
        );
        assert_eq!(symbolz_url("/tmp/profile.pb.gz"), None);
    }

    #[test]
    fn symbol_lines_are_an_address_white_space_and_a_name() {
        assert_eq!(symbol_line("0x1f main.f"), Some(("0x1f", "main.f")));
        assert_eq!(symbol_line("x 0x10\tfoo bar"), Some(("0x10", "foo bar")));
        assert_eq!(symbol_line("num_symbols: 1"), None);
        assert_eq!(symbol_line("0x10"), None);
    }

    fn profile_with_addresses(addrs: &[u64]) -> Profile {
        let mut p = Profile::new(1);
        p.mappings.push(Mapping {
            id: 1,
            memory_start: 0x1000,
            memory_limit: 0x9000,
            ..Mapping::default()
        });
        for (i, &a) in addrs.iter().enumerate() {
            p.locations.push(Location {
                id: i as u64 + 1,
                mapping: Some(profile::MappingIndex::new(0)),
                address: a,
                ..Location::default()
            });
            p.samples.push(&[1], &[i as u32], &[]);
        }
        p
    }

    #[test]
    fn remote_symbolization_names_the_answered_addresses_and_shares_functions() {
        let mut p = profile_with_addresses(&[0x1100, 0x1200, 0x1300]);
        let sources = MappingSources::collect(&mut p, "http://h:1/debug/pprof/profile");
        assert_eq!(
            p.str(p.mappings[0].filename),
            "http://h:1/debug/pprof/profile"
        );
        let mut asked = Vec::new();
        let mut post = |url: &str, body: &str| -> Result<Vec<u8>> {
            asked.push((url.to_string(), body.to_string()));
            Ok(b"num_symbols: 1\n0x1100 main.a\n0x1200 main.a\n0x1300 main.b".to_vec())
        };
        remote_symbolize(&mut p, false, &sources, &mut post).unwrap();
        assert_eq!(
            asked,
            [(
                "http://h:1/debug/pprof/symbol".to_string(),
                "0x1100+0x1200+0x1300".to_string()
            )]
        );
        // The last line has no newline: pprof ignores it.
        assert!(p.locations[2].lines.is_empty());
        assert_eq!(p.functions.len(), 1);
        assert_eq!(p.locations[0].lines, p.locations[1].lines);
        assert_eq!(p.str(p.functions[0].name), "main.a");
        assert!(p.mappings[0].has_functions);
        unsource_mappings(&mut p);
        assert_eq!(p.str(p.mappings[0].filename), "");
    }

    #[test]
    fn mappings_with_functions_are_not_asked_again_unless_forced() {
        let mut p = profile_with_addresses(&[0x1100]);
        let sources = MappingSources::collect(&mut p, "http://h:1/debug/pprof/heap");
        p.mappings[0].has_functions = true;
        let mut calls = 0;
        let mut post = |_: &str, _: &str| -> Result<Vec<u8>> {
            calls += 1;
            Ok(b"0x1100 f\n".to_vec())
        };
        remote_symbolize(&mut p, false, &sources, &mut post).unwrap();
        remote_symbolize(&mut p, true, &sources, &mut post).unwrap();
        assert_eq!(calls, 1);
    }

    #[test]
    fn errors_of_the_symbol_service_are_returned() {
        let mut p = profile_with_addresses(&[0x1100]);
        let sources = MappingSources::collect(&mut p, "http://h:1/debug/pprof/heap");
        let mut post =
            |_: &str, _: &str| -> Result<Vec<u8>> { Err(Error::new("http post x: refused")) };
        let e = remote_symbolize(&mut p, false, &sources, &mut post).unwrap_err();
        assert!(e.to_string().contains("refused"));
    }
}

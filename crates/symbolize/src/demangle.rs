//! Demangling of C++ and Rust names with pprof's simplifications
//! (`-symbolize=demangle=none|full|templates`).

use profile::Profile;

/// How much of a demangled name pprof keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DemangleMode {
    /// pprof's default: no parameters, no template arguments, no return type.
    #[default]
    Simplified,
    /// Keep template arguments; drop parameters and return type
    /// (`demangle=templates`).
    Templates,
    /// The full demangled signature, without clone suffixes (`demangle=full`).
    Full,
    /// Keep mangled names (`demangle=none`).
    None,
}

/// Demangles `name` (C++ `_Z…`, Rust legacy `_ZN…17h<hash>E` or Rust v0 `_R…`) the way
/// pprof does in `mode`; `None` when it is not a mangled name or does not demangle.
pub fn demangle(name: &str, mode: DemangleMode) -> Option<String> {
    if mode == DemangleMode::None {
        return None;
    }
    if name.starts_with("_R") {
        return demangle_rust_v0(name, mode);
    }
    if name.starts_with("_ZN") {
        if let Some(s) = demangle_rust_legacy(name) {
            return Some(s);
        }
    }
    if name.starts_with("_Z") {
        return demangle_cpp(name, mode);
    }
    None
}

fn demangle_rust_v0(name: &str, mode: DemangleMode) -> Option<String> {
    let base = name.split('.').next().unwrap_or(name);
    let d = rustc_demangle::try_demangle(base).ok()?;
    let s = format!("{d:#}");
    Some(if mode == DemangleMode::Simplified {
        remove_generic_args(&s)
    } else {
        s
    })
}

/// Removes turbofish generic arguments (`::<…>`) from a demangled Rust path.
fn remove_generic_args(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"::<") {
            let mut depth = 0usize;
            let mut j = i + 2;
            while j < b.len() {
                match b[j] {
                    b'<' => depth += 1,
                    b'>' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Rust's legacy mangling: `_ZN` path `17h` and 16 hex digits of hash, `E`, with any
/// suffix after `E.` ignored. The hash must have at least 5 distinct digits.
fn demangle_rust_legacy(name: &str) -> Option<String> {
    let rname = match name.rfind("E.") {
        Some(pos) if pos > 0 => &name[..pos + 1],
        _ => name,
    };
    let n = rname.len();
    if !rname.ends_with('E') || n <= 23 || &rname[n - 20..n - 17] != "17h" {
        return None;
    }
    let hash = &rname[n - 17..n - 1];
    let mut seen = 0u16;
    for c in hash.bytes() {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        seen |= 1 << d;
    }
    if seen.count_ones() < 5 {
        return None;
    }
    let d = rustc_demangle::try_demangle(rname).ok()?;
    Some(format!("{d:#}"))
}

fn demangle_cpp(name: &str, mode: DemangleMode) -> Option<String> {
    // Clone suffixes such as `.constprop.0` are dropped in every mode.
    let base = match name.find('.') {
        Some(i) => &name[..i],
        None => name,
    };
    let opts = cpp_demangle::DemangleOptions::new();
    let opts = match mode {
        DemangleMode::Full => opts,
        _ => opts.no_params().no_return_type(),
    };
    let parse = |name: &str| cpp_demangle::Symbol::new(name).ok()?.demangle(&opts).ok();
    let s = match parse(base) {
        Some(s) => s,
        None if mode == DemangleMode::Simplified => return simplified_name_prefix(base),
        None => return None,
    };
    Some(match mode {
        DemangleMode::Simplified => remove_matching(&remove_enclosing_params(&s), b'<', b'>'),
        DemangleMode::Templates => remove_enclosing_params(&s),
        _ => s,
    })
}

/// The qualified name of the function mangled in `name` (`_Z…`, clone suffix
/// removed) when it can be read without its template arguments, parameters and
/// return type: an unscoped name (`_Z3foo…`, `_ZSt3foo…`) or a nested one without
/// template arguments (`_ZN2ns3fooE…`). pprof's demangler reads some of
/// gcc's manglings that `cpp_demangle` rejects (such as `srSt…` in `enable_if`
/// return types); their simplified names need only this much.
fn simplified_name_prefix(name: &str) -> Option<String> {
    let mut rest = name.strip_prefix("_Z")?;
    let nested = match rest.strip_prefix('N') {
        Some(r) => {
            rest = r.trim_start_matches(['r', 'V', 'K', 'R', 'O']);
            true
        }
        None => false,
    };
    let mut parts: Vec<&str> = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix("St") {
            parts.push("std");
            rest = r;
            continue;
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        let len: usize = rest[..digits].parse().ok()?;
        let part = rest.get(digits..digits + len)?;
        parts.push(part);
        rest = &rest[digits + len..];
        if !nested {
            break;
        }
    }
    let last_is_name = parts.last().is_some_and(|p| *p != "std");
    let ends_here = if nested {
        // Where template arguments end is not known without parsing them.
        rest.starts_with('E')
    } else {
        true
    };
    (last_is_name && ends_here).then(|| parts.join("::"))
}

/// Drops parameter lists left inside a name (of enclosing functions of local names),
/// keeping `(anonymous namespace)`.
fn remove_enclosing_params(s: &str) -> String {
    if !s.contains('(') {
        return s.to_string();
    }
    const ANON: &str = "(anonymous namespace)";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(ANON) {
        out.push_str(&remove_matching(&rest[..i], b'(', b')'));
        out.push_str(ANON);
        rest = &rest[i + ANON.len()..];
    }
    out.push_str(&remove_matching(rest, b'(', b')'));
    out
}

/// Whether a name that did not demangle looks like demangled C++ (pprof's heuristic).
fn looks_like_demangled_cpp(name: &str) -> bool {
    // Vectorized scans rule out most names (Go and Java ones have none of these
    // bytes) before the exact tests.
    let b = name.as_bytes();
    let brackets =
        memchr::memchr3(b'<', b'>', b'[', b).is_some() || memchr::memchr(b']', b).is_some();
    if !brackets && memchr::memchr(b':', b).is_none() {
        return false;
    }
    if name.contains(".<") || name.contains("]).") {
        return false;
    }
    brackets || name.contains("::")
}

/// Removes nested `open…close` groups from `name`, leaving it unchanged when they do
/// not balance (pprof's `removeMatching`). `operator<`-style names keep their
/// operator characters.
pub(crate) fn remove_matching(name: &str, open: u8, close: u8) -> String {
    let b = name.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut nesting = 0i32;
    let mut first = 0usize;
    let mut i = 0;
    while i < b.len() {
        if nesting == 0 && b[i..].starts_with(b"operator") {
            // Copy the operator token itself.
            let mut j = i + 8;
            while j < b.len() && b"<>=-+*/%&|^!~[]()".contains(&b[j]) && j < i + 11 {
                j += 1;
            }
            out.extend_from_slice(&b[i..j]);
            i = j;
            continue;
        }
        let c = b[i];
        if c == open {
            nesting += 1;
            if nesting == 1 {
                first = out.len();
            }
            out.push(c);
        } else if c == close {
            nesting -= 1;
            if nesting < 0 {
                return name.to_string();
            }
            out.push(c);
            if nesting == 0 {
                out.truncate(first);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| name.to_string())
}

/// pprof's demangling pass over every function of `p`: names equal to their system
/// name (or empty) get the demangled system name. With `force`, names are first
/// reset to the system name so that all are demangled again.
pub fn demangle_profile(p: &mut Profile, force: bool, mode: DemangleMode) {
    if force {
        for f in &mut p.functions {
            if !f.name.is_empty() && !f.system_name.is_empty() {
                f.name = f.system_name;
            }
        }
    }
    if mode == DemangleMode::None {
        return;
    }
    // Names equal to their system name (or empty) take it, demangled when that
    // changes it. Most names (Go, Java, already demangled) come back unchanged: they
    // are judged on every core, and only the new names are interned, in function order.
    let functions = &p.functions;
    let strings = &p.strings;
    let renamed: Vec<(usize, String)> =
        profile::parallel::on_each_part(functions.len(), 1 << 13, |range| {
            let mut renamed = Vec::new();
            for i in range {
                let f = &functions[i];
                if f.name.is_empty() || f.system_name == f.name {
                    if let Some(n) = simplify_name(strings.get(f.system_name), mode) {
                        renamed.push((i, n));
                    }
                }
            }
            renamed
        })
        .concat();
    for f in &mut p.functions {
        if f.name.is_empty() {
            f.name = f.system_name;
        }
    }
    for (i, name) in renamed {
        p.functions[i].name = p.intern(&name);
    }
}

/// The name pprof shows for a function whose system name is `sys`, or `None` when it
/// is `sys` itself.
fn simplify_name(sys: &str, mode: DemangleMode) -> Option<String> {
    if let Some(d) = demangle(sys, mode) {
        if d != sys {
            return Some(d);
        }
    }
    if let Some(stripped) = sys.strip_prefix('_') {
        if let Some(d) = demangle(stripped, mode) {
            if d != stripped {
                return Some(d);
            }
        }
    }
    if !looks_like_demangled_cpp(sys) {
        return None;
    }
    // Only groups of parameters or template arguments are removed: a name without
    // their brackets stays as it is.
    let has = |open: u8, close: u8| memchr::memchr2(open, close, sys.as_bytes()).is_some();
    let parens =
        matches!(mode, DemangleMode::Simplified | DemangleMode::Templates) && has(b'(', b')');
    let angles = mode == DemangleMode::Simplified && has(b'<', b'>');
    if !parens && !angles {
        return None;
    }
    let mut name = sys.to_string();
    if matches!(mode, DemangleMode::Simplified | DemangleMode::Templates) {
        name = remove_matching(&name, b'(', b')');
    }
    if mode == DemangleMode::Simplified {
        name = remove_matching(&name, b'<', b'>');
    }
    (name != sys).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangling_many_functions_renames_each_as_one_at_a_time() {
        // Enough functions to be judged on several cores; mangled names spread over
        // them, repeated, with empty and already demangled names among them.
        let mut p = Profile::new(1);
        let mut expected = Vec::new();
        for i in 0..40_000u64 {
            let (sys, name, want) = match i % 5 {
                0 => ("_ZN3foo3barEv".to_string(), "", "foo::bar".to_string()),
                1 => (format!("pkg.F{i}"), "same", format!("pkg.F{i}")),
                2 => (format!("_ZN2ns1fIiEEvT_{i}"), "kept", "kept".to_string()),
                3 => (format!("pkg.G{i}[...]"), "", format!("pkg.G{i}[...]")),
                _ => (
                    format!("std::vector<int>::push_back{i}(int)"),
                    "",
                    format!("std::vector::push_back{i}"),
                ),
            };
            let sys = p.intern(&sys);
            let name = match name {
                "same" => sys,
                "" => profile::StrId::EMPTY,
                other => p.intern(other),
            };
            p.functions.push(profile::Function {
                id: i + 1,
                name,
                system_name: sys,
                ..profile::Function::default()
            });
            expected.push(want);
        }
        demangle_profile(&mut p, false, DemangleMode::Simplified);
        for (i, (f, want)) in p.functions.iter().zip(&expected).enumerate() {
            assert_eq!(p.str(f.name), want, "function {i}");
        }
    }

    #[test]
    fn names_cpp_demangle_rejects_still_simplify() {
        let name = "_ZSt14__relocate_a_1IllENSt9enable_ifIXsrSt24__is_bitwise_relocatableIT_vE5valueEPS2_E4typeES4_S4_S4_RSaIT0_E";
        assert_eq!(
            demangle(name, DemangleMode::Simplified).as_deref(),
            Some("std::__relocate_a_1")
        );
        assert_eq!(
            simplified_name_prefix("_ZNK2ns3fooEv").as_deref(),
            Some("ns::foo")
        );
        assert_eq!(simplified_name_prefix("_ZN2ns1AIiE3fooEv"), None);
    }

    #[test]
    fn cpp_names_lose_params_and_templates_by_default() {
        let n = "_ZN3foo3barIiEEvT_";
        assert_eq!(demangle(n, DemangleMode::Simplified).unwrap(), "foo::bar");
        assert_eq!(
            demangle(n, DemangleMode::Templates).unwrap(),
            "foo::bar<int>"
        );
        assert_eq!(
            demangle(n, DemangleMode::Full).unwrap(),
            "void foo::bar<int>(int)"
        );
        assert_eq!(demangle(n, DemangleMode::None), None);
    }

    #[test]
    fn cpp_clone_suffixes_are_dropped() {
        assert_eq!(
            demangle("_Z3fooi.constprop.0", DemangleMode::Simplified).unwrap(),
            "foo"
        );
    }

    #[test]
    fn rust_legacy_names_lose_their_hash() {
        let n = "_ZN4core3ptr13drop_in_place17h0123456789abcdefE";
        assert_eq!(
            demangle(n, DemangleMode::Simplified).unwrap(),
            "core::ptr::drop_in_place"
        );
        let with_suffix = "_ZN4core3ptr13drop_in_place17h0123456789abcdefE.llvm.42";
        assert_eq!(
            demangle(with_suffix, DemangleMode::Simplified).unwrap(),
            "core::ptr::drop_in_place"
        );
    }

    #[test]
    fn rust_v0_names_demangle() {
        let n = "_RNvCs1234_7mycrate3foo";
        assert_eq!(
            demangle(n, DemangleMode::Simplified).unwrap(),
            "mycrate::foo"
        );
    }

    #[test]
    fn plain_c_names_stay() {
        assert_eq!(simplify_name("main", DemangleMode::Simplified), None);
        assert_eq!(
            simplify_name("std::vector<int>::push_back(int)", DemangleMode::Simplified).as_deref(),
            Some("std::vector::push_back")
        );
        assert_eq!(simplify_name("a::b", DemangleMode::Simplified), None);
    }

    #[test]
    fn remove_matching_leaves_unbalanced_names() {
        assert_eq!(remove_matching("a>b", b'<', b'>'), "a>b");
        assert_eq!(remove_matching("a<b<c>>d", b'<', b'>'), "ad");
    }
}

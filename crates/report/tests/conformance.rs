//! Replays conformance cases of a single profile without filters through
//! `report::generate`, after pruning and aggregating it as the driver does, and
//! compares with pprof's exact output.

use std::path::{Path, PathBuf};

use report::{generate, Options, OutputFormat};

struct Case {
    name: String,
    args: Vec<String>,
    expect: String,
    dir: PathBuf,
}

/// Reads the JSON string starting at `s[0] == '"'`; returns it and the rest.
fn json_string(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.strip_prefix('"')?.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 2..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'u' => {
                        let hex: String =
                            (0..4).filter_map(|_| chars.next().map(|c| c.1)).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
    None
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!("\"{key}\":"))?;
    Some(line[at + key.len() + 3..].trim_start())
}

fn parse_case(line: &str, dir: &Path) -> Option<Case> {
    if field(line, "pre").is_some() || field(line, "env").is_some() {
        return None;
    }
    let name = json_string(field(line, "name")?)?.0;
    let expect = json_string(field(line, "expect")?)?.0;
    let mut rest = field(line, "args")?.strip_prefix('[')?;
    let mut args = Vec::new();
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if rest.starts_with(']') {
            break;
        }
        let (a, r) = json_string(rest)?;
        args.push(a);
        rest = r;
    }
    Some(Case {
        name,
        args,
        expect,
        dir: dir.to_path_buf(),
    })
}

fn load_cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance");
    let mut cases = Vec::new();
    for suite in ["differential", "pprof-goldens"] {
        let dir = root.join(suite);
        let Ok(text) = std::fs::read_to_string(dir.join("cases.jsonl")) else {
            continue;
        };
        cases.extend(text.lines().filter_map(|l| parse_case(l, &dir)));
    }
    cases
}

/// Runs a case if its flags are ones this harness can honour without the driver;
/// `None` when it cannot.
fn run_case(case: &Case) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut format = None;
    let mut addresses = false;
    let mut granularity = "functions";
    let mut noinlines = false;
    let (mut cum, mut compact, mut mean) = (false, false, false);
    let mut node_count: Option<usize> = None;
    let mut node_fraction = 0.005;
    let mut edge_fraction = 0.001;
    let mut unit = "minimum".to_string();
    let mut sample_index: Option<String> = None;
    let mut input = None;
    for a in &case.args {
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) => (f, Some(v)),
            None => (a.as_str(), None),
        };
        match flag {
            "-symbolize" => {}
            "-top" | "-text" => format = Some(OutputFormat::Text),
            "-tree" => format = Some(OutputFormat::Tree),
            "-traces" => format = Some(OutputFormat::Traces),
            "-tags" => format = Some(OutputFormat::Tags),
            "-callgrind" => format = Some(OutputFormat::Callgrind),
            "-comments" => format = Some(OutputFormat::Comments),
            "-addresses" => addresses = true,
            "-lines" => granularity = "lines",
            "-files" => granularity = "files",
            "-filefunctions" => granularity = "filefunctions",
            "-functions" => granularity = "functions",
            "-noinlines" => noinlines = true,
            "-cum" => cum = true,
            "-flat" => cum = false,
            "-compact_labels" => compact = true,
            "-mean" => mean = true,
            "-nodecount" => node_count = value?.parse().ok(),
            "-nodefraction" => node_fraction = value?.parse().ok()?,
            "-edgefraction" => edge_fraction = value?.parse().ok()?,
            "-unit" => unit = value?.to_string(),
            "-sample_index" => sample_index = Some(value?.to_string()),
            f if !f.starts_with('-') && input.is_none() => input = Some(a.clone()),
            _ => return None,
        }
    }
    let format = format?;
    if addresses || format == OutputFormat::Callgrind {
        granularity = "addresses";
    }
    let data = std::fs::read(case.dir.join(input?)).ok()?;
    let mut prof = profile::parse(&data).ok()?;
    prof.remove_uninteresting().ok()?;
    let inlines = !noinlines;
    // (function, filename, linenumber, address) kept at each granularity, as the
    // driver aggregates before reporting.
    let keep = match granularity {
        "addresses" if inlines => None,
        "addresses" => Some((true, true, true, true)),
        "lines" => Some((true, true, true, false)),
        "files" => Some((false, true, false, false)),
        "filefunctions" => Some((true, true, false, false)),
        _ => Some((true, false, false, false)),
    };
    if let Some((function, filename, line, address)) = keep {
        prof.aggregate(inlines, function, filename, line, false, address)
            .ok()?;
    }
    let index = match &sample_index {
        Some(name) => prof
            .sample_types
            .iter()
            .position(|t| prof.str(t.ty) == name)
            .or_else(|| name.parse().ok())?,
        None => {
            let default = prof.str(prof.default_sample_type).to_string();
            prof.sample_types
                .iter()
                .position(|t| !default.is_empty() && prof.str(t.ty) == default)
                .unwrap_or(prof.sample_types.len().checked_sub(1)?)
        }
    };
    let mut o = Options::new(format, &prof, index);
    o.cum_sort = cum;
    o.compact_labels = compact;
    o.mean = mean;
    if mean {
        o.sample_type = format!("mean_{}", o.sample_type);
    }
    o.output_unit = unit;
    let trim = format != OutputFormat::Callgrind;
    if trim {
        o.node_fraction = node_fraction;
        o.edge_fraction = edge_fraction;
        o.node_count = node_count.unwrap_or(if format == OutputFormat::Text { 0 } else { 80 });
    }
    if let Some(m) = prof.mappings.first() {
        let file = prof.str(m.filename);
        if !file.is_empty() {
            o.title = profile::gopath::base_name(file).to_string();
        }
    }
    let mut units = std::collections::HashMap::new();
    units.insert("bytes".to_string(), "bytes".to_string());
    o.num_label_units = units;
    let mut out = Vec::new();
    generate(&mut out, &mut prof, &o).ok()?;
    let want = std::fs::read(case.dir.join(&case.expect)).ok()?;
    Some((out, want))
}

#[test]
fn reports_on_undecorated_profiles_match_pprof_byte_for_byte() {
    let mut ran = 0;
    let mut failed = Vec::new();
    for case in load_cases() {
        let Some((got, want)) = run_case(&case) else {
            continue;
        };
        ran += 1;
        if got != want {
            if let Ok(dir) = std::env::var("CONFORMANCE_KEEP") {
                let _ = std::fs::write(Path::new(&dir).join(&case.name), &got);
            }
            let got = String::from_utf8_lossy(&got);
            let want = String::from_utf8_lossy(&want);
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            failed.push(format!(
                "{}: first difference at line {}:\n  got:  {:?}\n  want: {:?}",
                case.name,
                first + 1,
                got.lines().nth(first).unwrap_or(""),
                want.lines().nth(first).unwrap_or("")
            ));
        }
    }
    eprintln!("ran {ran} conformance cases, {} failed", failed.len());
    assert!(ran > 0, "no conformance case could run");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

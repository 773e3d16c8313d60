//! Replays the conformance suites in `testdata/conformance/`: pprof's own golden report
//! outputs and outputs of Go's `go tool pprof` on real profiles, compared byte for byte
//! with what profkit prints for the same arguments.
//!
//! Cases listed in `testdata/conformance/known-failures.txt` are allowed to fail (each is
//! a known gap); a listed case that passes is reported so the list only shrinks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance")
}

struct Case {
    name: String,
    args: Vec<String>,
    pre: Option<Vec<String>>,
    expect: String,
}

fn load(suite: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(root().join(suite).join("cases.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let strings = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect()
            };
            Case {
                name: v["name"].as_str().unwrap().to_string(),
                args: strings(&v["args"]),
                pre: v.get("pre").map(strings),
                expect: v["expect"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

fn known_failures() -> BTreeSet<String> {
    std::fs::read_to_string(root().join("known-failures.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn run_case(suite: &str, case: &Case, tmp: &Path) -> Result<(), String> {
    let dir = root().join(suite);
    let bin = env!("CARGO_BIN_EXE_profkit");
    let tmp_file = tmp.join(format!("{}.pre.out", case.name));
    let fill = |args: &[String]| -> Vec<String> {
        args.iter()
            .map(|a| a.replace("{tmp}", tmp_file.to_str().unwrap()))
            .collect()
    };
    if let Some(pre) = &case.pre {
        Command::new(bin)
            .args(fill(pre))
            .current_dir(&dir)
            .env("TZ", "UTC")
            .output()
            .map_err(|e| e.to_string())?;
    }
    let out = Command::new(bin)
        .args(fill(&case.args))
        .current_dir(&dir)
        .env("TZ", "UTC")
        .output()
        .map_err(|e| e.to_string())?;
    let want = std::fs::read(dir.join(&case.expect)).unwrap();
    if out.stdout == want {
        return Ok(());
    }
    let got = String::from_utf8_lossy(&out.stdout);
    let want = String::from_utf8_lossy(&want);
    let first_diff = got
        .lines()
        .zip(want.lines())
        .position(|(g, w)| g != w)
        .unwrap_or(got.lines().count().min(want.lines().count()));
    Err(format!(
        "line {}: expected {:?}, got {:?}; stderr: {}",
        first_diff + 1,
        want.lines().nth(first_diff).unwrap_or("<end>"),
        got.lines().nth(first_diff).unwrap_or("<end>"),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("")
    ))
}

fn replay(suite: &str) {
    let known = known_failures();
    let tmp = std::env::temp_dir().join(format!(
        "profkit-conformance-{suite}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&tmp).unwrap();
    let cases = load(suite);
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    let mut passed = 0;
    for case in &cases {
        let id = format!("{suite}/{}", case.name);
        match run_case(suite, case, &tmp) {
            Ok(()) => {
                passed += 1;
                if known.contains(&id) {
                    fixed.push(id);
                }
            }
            Err(e) if !known.contains(&id) => unexpected.push(format!("{id}: {e}")),
            Err(_) => {}
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!("{suite}: {passed} of {} cases pass", cases.len());
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "{} unexpected failures:\n{}\n{} known failures now pass (remove them from known-failures.txt):\n{}",
        unexpected.len(),
        unexpected.join("\n"),
        fixed.len(),
        fixed.join("\n")
    );
}

#[test]
fn pprof_golden_reports_match_byte_for_byte() {
    replay("pprof-goldens");
}

#[test]
fn go_pprof_outputs_on_real_profiles_match_byte_for_byte() {
    replay("differential");
}

#[test]
fn native_symbolization_matches_pprof_with_binutils() {
    replay("native");
}

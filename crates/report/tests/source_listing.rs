//! The `-list` report on a small hand-made profile and source tree, checked against what
//! pprof prints for the same profile and sources.

use std::path::{Path, PathBuf};

use profile::{Function, Line, Location, Profile, ValueType};
use regex::Regex;
use report::{generate, Options, OutputFormat};

/// A source tree in a fresh temporary directory, removed on drop.
struct SourceTree(PathBuf);

impl SourceTree {
    fn new(tag: &str) -> SourceTree {
        let root = std::env::temp_dir().join(format!("list-{tag}-{}", std::process::id()));
        let demo = root.join("demo");
        std::fs::create_dir_all(&demo).expect("create source tree");
        let text: String = (1..=30).map(|i| format!("\tline {i}\r\n")).collect();
        std::fs::write(demo.join("main.go"), text).expect("write source");
        SourceTree(root)
    }

    fn search_path(&self) -> String {
        self.0.join("demo").to_string_lossy().into_owned()
    }
}

impl Drop for SourceTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `main.main` (lines 3..) calls `main.f` (lines 10..) in `/build/demo/main.go`;
/// `main.lost` is in a file that does not exist, `main.anon` has no file.
fn listed_profile() -> Profile {
    let mut p = Profile::new(1);
    let ty = p.intern("samples");
    let unit = p.intern("count");
    p.sample_types.push(ValueType { ty, unit });
    let file = p.intern("/build/demo/main.go");
    let lost = p.intern("nowhere/lost.go");
    let funcs = [
        ("main.main", file, 3),
        ("main.f", file, 10),
        ("main.lost", lost, 2),
        ("main.anon", profile::StrId::EMPTY, 0),
    ];
    for (i, (name, filename, start_line)) in funcs.into_iter().enumerate() {
        let name = p.intern(name);
        p.functions.push(Function {
            id: i as u64 + 1,
            name,
            system_name: name,
            filename,
            start_line,
        });
    }
    // (function, line) of each location.
    for (i, (function, line)) in [(0, 5), (1, 12), (1, 14), (2, 4), (3, 0)]
        .into_iter()
        .enumerate()
    {
        p.locations.push(Location {
            id: i as u64 + 1,
            address: 0x1000 + i as u64,
            lines: vec![Line {
                function,
                line,
                column: 0,
            }]
            .into(),
            ..Location::default()
        });
    }
    for (stack, value) in [
        (&[1u32, 0][..], 7),
        (&[2, 0], 3),
        (&[0], 2),
        (&[3, 0], 1),
        (&[4, 0], 1),
    ] {
        p.samples.push(&[value], stack, &[]);
    }
    p
}

fn list(symbol: &str, source_path: &str) -> Result<String, String> {
    let mut p = listed_profile();
    let mut o = Options::new(OutputFormat::List, &p, 0);
    o.symbol = Some(Regex::new(symbol).expect("valid regex"));
    o.source_path = source_path.to_string();
    let mut out = Vec::new();
    generate(&mut out, &mut p, &o).map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).expect("utf-8 output"))
}

#[test]
fn list_shows_the_function_from_its_start_to_a_margin_after_the_last_sample() {
    let tree = SourceTree::new("range");
    let got = list(r"main\.f$", &tree.search_path()).expect("listing");
    let want = "Total: 14
ROUTINE ======================== main.f in main.go
        10         10 (flat, cum) 71.43% of Total
         .          .     10:\tline 10
         .          .     11:\tline 11
         7          7     12:\tline 12
         .          .     13:\tline 13
         3          3     14:\tline 14
         .          .     15:\tline 15
         .          .     16:\tline 16
         .          .     17:\tline 17
         .          .     18:\tline 18
         .          .     19:\tline 19
";
    assert_eq!(got, want);
}

#[test]
fn list_sorts_functions_by_name_and_reports_missing_sources() {
    let tree = SourceTree::new("missing");
    let search = tree.search_path();
    let got = list(r"^main\.", &search).expect("listing");
    // What pprof prints for this profile and source tree.
    let want = "Total: 14
No source information for main.anon
ROUTINE ======================== main.f in main.go
        10         10 (flat, cum) 71.43% of Total
         .          .     10:\tline 10
         .          .     11:\tline 11
         7          7     12:\tline 12
         .          .     13:\tline 13
         3          3     14:\tline 14
         .          .     15:\tline 15
         .          .     16:\tline 16
         .          .     17:\tline 17
         .          .     18:\tline 18
         .          .     19:\tline 19
ROUTINE ======================== main.lost in nowhere/lost.go
         1          1 (flat, cum)  7.14% of Total
 Error: could not find file nowhere/lost.go on path {search}
ROUTINE ======================== main.main in main.go
         2         14 (flat, cum)   100% of Total
         .          .      3:\tline 3
         .          .      4:\tline 4
         2         14      5:\tline 5
         .          .      6:\tline 6
         .          .      7:\tline 7
         .          .      8:\tline 8
         .          .      9:\tline 9
         .          .     10:\tline 10
"
    .replace("{search}", &search);
    assert_eq!(got, want);
}

#[test]
fn list_without_matches_is_an_error() {
    let err = list("nomatch", "").expect_err("no function matches");
    assert_eq!(err, "no matches found for regexp: nomatch");
}

#[test]
fn list_reports_the_open_error_of_an_absolute_source_name() {
    let tree = SourceTree::new("absolute");
    let elsewhere = Path::new(&tree.search_path()).join("sub");
    std::fs::create_dir_all(&elsewhere).expect("create subdirectory");
    // `/build/demo/main.go` contains no `/sub/`, so it stays absolute and must exist.
    let got = list(r"main\.f$", &elsewhere.to_string_lossy()).expect("listing");
    assert!(got.contains(" Error: open /build/demo/main.go: no such file or directory\n"));
}

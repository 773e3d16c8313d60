//! Aggregation and rendering speed: building the call graph of the benchmark profiles
//! (the work behind `-top`, `-peek`, `-tree`, `-dot`) and rendering the text reports,
//! each timed on its own, single-threaded figures aside.
//!
//! The profiles come from the benchmark generator (see BENCHMARKS.md); set
//! `PROFKIT_BENCH_DATA` to their folder (default `target/benchdata`). Arguments filter
//! the profiles by name (`cargo bench -p report --bench aggregate -- bench-s`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use report::graph::{Graph, GraphOptions};
use report::{Options, OutputFormat};

/// Median time of `f` over at least 3 and at most 20 runs or ~5 seconds.
fn median(mut f: impl FnMut()) -> (Duration, usize) {
    let mut times = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while times.len() < 3 || (Instant::now() < deadline && times.len() < 20) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    (times[times.len() / 2], times.len())
}

fn main() {
    let dir = std::env::var_os("PROFKIT_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/benchdata"
            ))
        });
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for name in ["bench-s.pb.gz", "bench-m.pb.gz", "bench-l.pb.gz"] {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let path = dir.join(name);
        let Ok(gz) = std::fs::read(&path) else {
            eprintln!("skipping {}: not found", path.display());
            continue;
        };
        let mut p = profile::parse(&gz).expect("parse");
        p.aggregate(true, true, false, false, false, false)
            .expect("aggregate");
        let frames = p.samples.locations.len();
        let lines: usize = p.locations.iter().map(|l| l.lines.len()).sum();
        println!(
            "{name}: {} samples, {frames} frames, {} locations ({lines} lines), {} functions",
            p.samples.len(),
            p.locations.len(),
            p.functions.len()
        );
        let index = p.sample_types.len().saturating_sub(1);
        let gopt = GraphOptions {
            sample_index: index,
            ..GraphOptions::default()
        };
        let (t, n) = median(|| {
            let g = Graph::new(&p, &gopt);
            std::hint::black_box(g.nodes.len());
        });
        println!(
            "  graph (functions): median {:.1} ms over {n} runs, {:.1} ns/frame",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e9 / frames.max(1) as f64
        );
        let tree = GraphOptions {
            call_tree: true,
            ..gopt.clone()
        };
        let (t, n) = median(|| {
            let g = Graph::new(&p, &tree);
            std::hint::black_box(g.nodes.len());
        });
        println!(
            "  call tree: median {:.1} ms over {n} runs",
            t.as_secs_f64() * 1e3
        );
        for (label, format) in [
            ("top", OutputFormat::Text),
            ("tree", OutputFormat::Tree),
            ("dot", OutputFormat::Dot),
        ] {
            let options = Options::new(format, &p, index);
            let (t, n) = median(|| {
                let mut q = p.clone();
                let mut out = Vec::new();
                report::generate(&mut out, &mut q, &options).expect("report");
                std::hint::black_box(out.len());
            });
            println!(
                "  report -{label} (graph, trim, render): median {:.1} ms over {n} runs",
                t.as_secs_f64() * 1e3
            );
        }
    }
}

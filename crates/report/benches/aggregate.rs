//! Aggregation and rendering speed: building the call graph of the benchmark profiles
//! (the work behind `-top`, `-peek`, `-tree`, `-dot`), building the flame graph (the
//! web UI's default view) and rendering the text reports and collapsed stacks, each
//! timed on its own, single-threaded figures aside.
//!
//! The profiles come from the benchmark generator (see BENCHMARKS.md); set
//! `PROFKIT_BENCH_DATA` to their folder (default `target/benchdata`). Arguments filter
//! the profiles by name (`cargo bench -p report --bench aggregate -- bench-s`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use report::flame::{self, BuildOptions, FlameGraph};
use report::graph::{Graph, GraphOptions};
use report::{Options, OutputFormat};

/// CPU time (user + system) of this process so far, from /proc (10 ms resolution);
/// zero where /proc is missing.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

/// Median wall time and median CPU time of `f` over at least 3 and at most 20 runs or
/// ~5 seconds, with the number of runs. On a shared machine the CPU time is the
/// steadier figure.
fn median(mut f: impl FnMut()) -> (Duration, Duration, usize) {
    let mut times = Vec::new();
    let mut cpus = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while times.len() < 3 || (Instant::now() < deadline && times.len() < 20) {
        let t = Instant::now();
        let c = cpu_time();
        f();
        cpus.push(cpu_time().saturating_sub(c));
        times.push(t.elapsed());
    }
    times.sort();
    cpus.sort();
    (times[times.len() / 2], cpus[cpus.len() / 2], times.len())
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
        let frames = p.samples.frame_count();
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
        let (t, c, n) = median(|| {
            let totals = report::graph::NodeTotals::new(&p, &gopt);
            std::hint::black_box(&totals);
        });
        println!(
            "  node totals (functions): median {:.1} ms wall, {:.0} ms cpu over {n} runs",
            t.as_secs_f64() * 1e3,
            c.as_secs_f64() * 1e3,
        );
        let (t, c, n) = median(|| {
            let g = Graph::new(&p, &gopt);
            std::hint::black_box(g.nodes.len());
        });
        println!(
            "  graph (functions): median {:.1} ms wall, {:.0} ms cpu over {n} runs, {:.1} ns cpu/frame",
            t.as_secs_f64() * 1e3,
            c.as_secs_f64() * 1e3,
            c.as_secs_f64() * 1e9 / frames.max(1) as f64
        );
        // The call tree (only -call_tree drawings) takes minutes on large profiles.
        if frames <= 5_000_000 {
            let tree = GraphOptions {
                call_tree: true,
                ..gopt.clone()
            };
            let (t, c, n) = median(|| {
                let g = Graph::new(&p, &tree);
                std::hint::black_box(g.nodes.len());
            });
            println!(
                "  call tree: median {:.1} ms wall, {:.0} ms cpu over {n} runs",
                t.as_secs_f64() * 1e3,
                c.as_secs_f64() * 1e3
            );
        }
        let fopt = BuildOptions {
            sample_index: index,
            min_fraction: flame::DRAWN_MIN_FRACTION,
        };
        let (t, c, n) = median(|| {
            let fg = FlameGraph::from_profile(&p, &fopt);
            std::hint::black_box(fg.frames.len());
        });
        println!(
            "  flame graph (frames under 0.1% aggregated): median {:.1} ms wall, {:.0} ms cpu over {n} runs",
            t.as_secs_f64() * 1e3,
            c.as_secs_f64() * 1e3
        );
        // The reports as the command line makes them by default: nodes under 0.5 % and
        // edges under 0.1 % of the total dropped, drawings and trees cut to 80 nodes.
        for (label, format, node_count) in [
            ("folded", OutputFormat::Folded, 0),
            ("top", OutputFormat::Text, 0),
            ("tree", OutputFormat::Tree, 80),
            ("dot", OutputFormat::Dot, 80),
            ("traces", OutputFormat::Traces, 0),
            ("callgrind", OutputFormat::Callgrind, 0),
        ] {
            let mut options = Options::new(format, &p, index);
            if !matches!(format, OutputFormat::Folded | OutputFormat::Traces) {
                options.node_fraction = 0.005;
                options.edge_fraction = 0.001;
                options.node_count = node_count;
            }
            let (t, c, n) = median(|| {
                let mut q = p.clone();
                // Counted, not kept: -traces of a large profile is gigabytes of text.
                let mut out = Counted(0);
                report::generate(&mut out, &mut q, &options).expect("report");
                std::hint::black_box(out.0);
            });
            println!(
                "  report -{label} (profile copy and report, trimmed as the command line trims it): median {:.1} ms wall, {:.0} ms cpu over {n} runs",
                t.as_secs_f64() * 1e3,
                c.as_secs_f64() * 1e3
            );
        }
    }
}

/// A writer that only counts the bytes written to it.
struct Counted(usize);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

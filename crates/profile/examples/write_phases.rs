//! Times the phases of writing a profile as `-proto` does, in one process: reading the
//! file named on the command line, encoding it alone (bytes counted, not kept), then
//! encoding and gzipping it as profkit writes it (into nothing), with the CPU time of
//! that last phase on every thread. The two writing phases run several times (`-n
//! RUNS`, 7 unless given) and print their fastest and median runs: one run on a shared
//! machine says little.
//!
//! `cargo run --release -p profile --example write_phases -- [-n RUNS] FILE.pb.gz`

/// CPU time of the process so far (user and system), in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given; zeroes are a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The fastest and the median of `times` (milliseconds), as text.
fn fastest_and_median(mut times: Vec<f64>) -> String {
    times.sort_by(f64::total_cmp);
    format!("{:.1} ms (median {:.1})", times[0], times[times.len() / 2])
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 7;
    if args.first().map(String::as_str) == Some("-n") {
        runs = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        args.drain(..2.min(args.len()));
    }
    let (Some(path), 1..) = (args.first(), runs) else {
        eprintln!("usage: write_phases [-n RUNS] FILE.pb.gz");
        std::process::exit(2);
    };
    let start = std::time::Instant::now();
    let Some(p) = profile::parse_stream_file(std::path::Path::new(&path), &Default::default())
    else {
        eprintln!("{path}: not a profile this reader decodes as it reads");
        std::process::exit(1);
    };
    let read = start.elapsed();

    let mut encoded = 0usize;
    let mut encode = Vec::new();
    for _ in 0..runs {
        let start = std::time::Instant::now();
        encoded = 0;
        profile::proto::encode_into(&p, &mut |bytes| encoded += bytes.len());
        encode.push(start.elapsed().as_secs_f64() * 1e3);
    }

    let (mut write, mut write_cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let cpu = cpu_seconds();
        let start = std::time::Instant::now();
        profile::proto::write_gzip(&p, &mut std::io::sink()).expect("writing into nothing");
        write.push(start.elapsed().as_secs_f64() * 1e3);
        write_cpu.push((cpu_seconds() - cpu) * 1e3);
    }

    println!(
        "read {:.1} ms, encode {} ({encoded} bytes), encode and gzip {} ({} of CPU), {runs} runs",
        read.as_secs_f64() * 1e3,
        fastest_and_median(encode),
        fastest_and_median(write),
        fastest_and_median(write_cpu),
    );
}

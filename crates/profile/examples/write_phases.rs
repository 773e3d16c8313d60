//! Times the phases of writing a profile as `-proto` does, in one process: reading the
//! file named on the command line, encoding it alone (bytes counted, not kept), then
//! encoding and gzipping it as profkit writes it (into nothing), with the CPU time of
//! that last phase on every thread.
//!
//! `cargo run --release -p profile --example write_phases -- FILE.pb.gz`

/// CPU time of the process so far (user and system), in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given; zeroes are a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: write_phases FILE.pb.gz");
        std::process::exit(2);
    };
    let start = std::time::Instant::now();
    let Some(p) = profile::parse_stream_file(std::path::Path::new(&path), &Default::default())
    else {
        eprintln!("{path}: not a profile this reader decodes as it reads");
        std::process::exit(1);
    };
    let read = start.elapsed();

    let start = std::time::Instant::now();
    let mut encoded = 0usize;
    profile::proto::encode_into(&p, &mut |bytes| encoded += bytes.len());
    let encode = start.elapsed();

    let cpu = cpu_seconds();
    let start = std::time::Instant::now();
    profile::proto::write_gzip(&p, &mut std::io::sink()).expect("writing into nothing");
    let write = start.elapsed();
    let write_cpu = cpu_seconds() - cpu;

    println!(
        "read {:.1} ms, encode {:.1} ms ({encoded} bytes), encode and gzip {:.1} ms ({:.1} ms of CPU)",
        read.as_secs_f64() * 1e3,
        encode.as_secs_f64() * 1e3,
        write.as_secs_f64() * 1e3,
        write_cpu * 1e3
    );
}

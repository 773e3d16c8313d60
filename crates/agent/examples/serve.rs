//! A small service with the agent: serves `/debug/pprof/*` on 127.0.0.1:6060 while a
//! few threads compute, allocate and contend. Run it, then for example
//! `profkit -top http://127.0.0.1:6060/debug/pprof/profile?seconds=5`.
//! An optional argument gives how many seconds to run (default: forever).

use std::alloc::System;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use profkit_agent::sync::Mutex;

#[global_allocator]
static ALLOC: profkit_agent::Sampled<System> = profkit_agent::Sampled::new(System);

#[inline(never)]
fn compute(n: u64) -> u64 {
    let mut x = n | 1;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(i);
    }
    x
}

fn main() -> std::io::Result<()> {
    let server = profkit_agent::serve("127.0.0.1:6060")?;
    println!("serving http://{}/debug/pprof/", server.local_addr());
    profkit_agent::set_mutex_profile_fraction(5);
    let run_for = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let start = Instant::now();
    let cache = Arc::new(Mutex::new(HashMap::<u64, Vec<u8>>::new()));
    let workers: Vec<_> = (0..2u64)
        .map(|t| {
            let cache = cache.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while run_for.is_none_or(|d| start.elapsed() < d) {
                    let v = profkit_agent::with_labels(&[("worker", &t.to_string())], || {
                        compute(200_000 + i % 1000)
                    });
                    cache.lock().insert(i % 256, vec![v as u8; 4096]);
                    i += 1;
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

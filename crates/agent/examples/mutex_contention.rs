//! The classic mutex-profile example: many threads contend for one lock that guards a
//! map. Writes `mutex.pb.gz`; `profkit -list 'contend' mutex.pb.gz` points at the line
//! whose guard release made the others wait.

use std::collections::HashMap;
use std::sync::Arc;

use profkit_agent::sync::Mutex;

fn contend(map: &Mutex<HashMap<u64, u64>>, thread: u64) {
    for i in 0..20_000u64 {
        let mut m = map.lock();
        *m.entry((thread * 31 + i) % 1024).or_insert(0) += 1;
        drop(m); // the contended release
    }
}

fn main() {
    profkit_agent::set_mutex_profile_fraction(5);
    let map = Arc::new(Mutex::new(HashMap::new()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let map = map.clone();
            std::thread::spawn(move || contend(&map, t))
        })
        .collect();
    for t in threads {
        t.join().expect("worker");
    }
    let p = profkit_agent::mutex_profile();
    let contentions: i64 = p.samples.iter().map(|s| s.values.at(0)).sum();
    let delay: i64 = p.samples.iter().map(|s| s.values.at(1)).sum();
    std::fs::write("mutex.pb.gz", profile::proto::encode_gzip(&p)).expect("write mutex.pb.gz");
    println!("wrote mutex.pb.gz: {contentions} contentions, {delay} ns of delay");
}

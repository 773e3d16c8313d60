//! Work split over the machine's cores: a list of items cut into consecutive parts, a
//! thread for each part, the results in the parts' order (so the outcome does not depend
//! on how many cores there are).

use std::ops::Range;

/// The number of cores this process may run on (at least one), found once: the
/// standard library asks the kernel each time (the affinity mask and the cgroup's
/// quota, several system calls and three files), and a command asks a dozen times.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The consecutive parts of `0..len` to work on: one per core, or a single one when a
/// part would have fewer than `min_part` items (a thread costs more than it saves).
pub fn parts(len: usize, min_part: usize) -> Vec<Range<usize>> {
    let cores = cores();
    let count = cores.min(len / min_part.max(1)).max(1);
    (0..count)
        .map(|k| len * k / count..len * (k + 1) / count)
        .collect()
}

/// `work` on each of `ranges`, each on a thread of its own (the last on the calling
/// thread), the results in the order of `ranges`. A panic in `work` is passed on.
pub fn on_each<T: Send>(
    ranges: Vec<Range<usize>>,
    work: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    if ranges.len() <= 1 {
        return ranges.into_iter().map(work).collect();
    }
    let work = &work;
    std::thread::scope(|scope| {
        let mut ranges = ranges;
        let last = ranges.pop();
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|r| scope.spawn(move || work(r)))
            .collect();
        let last = last.map(work);
        let mut results: Vec<T> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        results.extend(last);
        results
    })
}

/// [`on_each`] of the [`parts`] of `0..len`.
pub fn on_each_part<T: Send>(
    len: usize,
    min_part: usize,
    work: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    on_each(parts(len, min_part), work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_every_item_once_in_order() {
        for len in [0, 1, 7, 100, 100_001] {
            let parts = parts(len, 10);
            assert_eq!(parts.first().map(|r| r.start), Some(0));
            assert_eq!(parts.last().map(|r| r.end), Some(len));
            assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
            assert!(parts.iter().all(|r| r.len() >= 10) || parts.len() == 1);
        }
    }

    #[test]
    fn small_work_stays_in_one_part() {
        assert_eq!(parts(99, 100), vec![0..99]);
    }

    #[test]
    fn results_come_in_the_order_of_the_parts() {
        let sums = on_each(vec![0..10, 10..20, 20..30], |r| r.sum::<usize>());
        assert_eq!(sums, vec![45, 145, 245]);
        let items: Vec<usize> = on_each_part(100_000, 1, |r| r.collect::<Vec<_>>()).concat();
        assert!(items.iter().copied().eq(0..100_000));
    }
}

//! Profiler labels: key/value pairs that tag the CPU samples taken while code runs, like
//! Go's `pprof.Do` and `pprof.WithLabels`.
//!
//! The labels in force on a thread are one number in a thread-local (readable from a
//! signal handler); the number names a set of labels kept in a registry.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;

/// A set of labels, sorted by key, each key once.
pub(crate) type LabelSet = Arc<[(String, String)]>;

#[derive(Default)]
struct Registry {
    sets: Vec<LabelSet>,
    ids: HashMap<Vec<(String, String)>, u64>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

thread_local! {
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// The id of the label set in force on this thread (0 for none). Async-signal-safe.
pub(crate) fn current() -> u64 {
    CURRENT.try_with(|c| c.get()).unwrap_or(0)
}

/// The labels of set `id`.
pub(crate) fn label_set(id: u64) -> Option<LabelSet> {
    if id == 0 {
        return None;
    }
    let reg = REGISTRY.lock();
    reg.as_ref()?.sets.get(id as usize - 1).cloned()
}

/// The id of the set made of the labels of set `base` with `labels` added (a key given
/// again takes the new value).
fn extend(base: u64, labels: &[(&str, &str)]) -> u64 {
    let mut merged: Vec<(String, String)> = label_set(base).map(|s| s.to_vec()).unwrap_or_default();
    for &(k, v) in labels {
        match merged.iter_mut().find(|(key, _)| key == k) {
            Some(entry) => entry.1 = v.to_string(),
            None => merged.push((k.to_string(), v.to_string())),
        }
    }
    merged.sort();
    if merged.is_empty() {
        return 0;
    }
    let mut reg = REGISTRY.lock();
    let reg = reg.get_or_insert_with(Registry::default);
    if let Some(&id) = reg.ids.get(&merged) {
        return id;
    }
    reg.sets.push(merged.clone().into());
    let id = reg.sets.len() as u64;
    reg.ids.insert(merged, id);
    id
}

/// Runs `f` with `labels` added to this thread's profiler labels (like Go's `pprof.Do`):
/// CPU samples taken while it runs carry them.
///
/// ```
/// let n = profkit_agent::with_labels(&[("route", "/api")], || 40 + 2);
/// assert_eq!(n, 42);
/// ```
pub fn with_labels<R>(labels: &[(&str, &str)], f: impl FnOnce() -> R) -> R {
    let _guard = set_labels(labels);
    f()
}

/// Adds `labels` to this thread's profiler labels until the returned guard is dropped.
pub fn set_labels(labels: &[(&str, &str)]) -> LabelGuard {
    let id = extend(current(), labels);
    let previous = CURRENT.with(|c| c.replace(id));
    LabelGuard {
        previous,
        _not_send: PhantomData,
    }
}

/// Restores the previous profiler labels of its thread when dropped.
#[derive(Debug)]
pub struct LabelGuard {
    previous: u64,
    _not_send: PhantomData<*const ()>,
}

impl Drop for LabelGuard {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.previous));
    }
}

/// Wraps `future` so that every poll of it runs with `labels` (added to the labels in
/// force where `labeled` is called), whichever thread polls it.
pub fn labeled<F: Future>(labels: &[(&str, &str)], future: F) -> Labeled<F> {
    Labeled {
        future,
        id: extend(current(), labels),
    }
}

/// A future that runs each poll of the future it wraps with a set of profiler labels.
#[derive(Debug)]
pub struct Labeled<F> {
    future: F,
    id: u64,
}

impl<F: Future> Future for Labeled<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let id = self.id;
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`.
        let future = unsafe { self.map_unchecked_mut(|s| &mut s.future) };
        let previous = CURRENT.with(|c| c.replace(id));
        let r = future.poll(cx);
        let _ = CURRENT.try_with(|c| c.set(previous));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_labels_nests_and_restores() {
        assert_eq!(current(), 0);
        with_labels(&[("a", "1")], || {
            let outer = current();
            with_labels(&[("b", "2"), ("a", "3")], || {
                let set = label_set(current()).unwrap();
                assert_eq!(
                    &set[..],
                    &[("a".into(), "3".into()), ("b".into(), "2".into())]
                );
            });
            assert_eq!(current(), outer);
        });
        assert_eq!(current(), 0);
    }

    #[test]
    fn equal_label_sets_share_an_id() {
        let a = with_labels(&[("k", "v")], current);
        let b = with_labels(&[("k", "v")], current);
        assert_eq!(a, b);
        assert_ne!(a, 0);
    }
}

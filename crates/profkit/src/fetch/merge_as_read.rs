//! Merging local files as they are read: every core reads files, and whichever
//! reader finds the next file in order ready merges it, so that the merge needs no
//! thread of its own and only the merge and a few profiles in flight are held (merging
//! a hundred profiles takes the memory of their merge, not of a hundred).

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use profile::{Profile, Result};

use super::{combine, grab, Fetched, Grabbed, Sources};

/// Files read ahead of the merge beyond one per reader: enough that a reader whose
/// file is not the next to merge goes on to another rather than wait, few enough
/// that the profiles in flight stay a handful.
const LOOKAHEAD: usize = 2;

/// Reads the local files `sources` on every core and merges each into the result as
/// soon as those before it are in. The result is the one
/// [`grab_all_at_once`](super::grab_all_at_once) gives. `None` when a profile's period
/// type or sample types differ from the first's: finding the types and units common to
/// all of them needs all of them.
pub(super) fn merge_files_as_read(sources: &[String], s: &Sources) -> Option<Grabbed> {
    let readers = profile::parallel::cores().min(sources.len()).max(1);
    let merging = MergeAsRead::new(readers + LOOKAHEAD);
    let one_thread = readers > 1;
    std::thread::scope(|scope| {
        for _ in 1..readers {
            scope.spawn(|| merging.read_and_merge(sources, s, one_thread));
        }
        // The calling thread reads too.
        merging.read_and_merge(sources, s, one_thread);
    });
    let MergeState {
        merged,
        errors,
        stop,
    } = merging
        .merge
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    match stop {
        Some(Stop::Incompatible) => return None,
        Some(Stop::Failed(e)) => return Some(Err(e)),
        None => {}
    }
    for e in &errors {
        eprintln!("{e}");
    }
    let p = match merged {
        Merged::Nothing => return Some(Ok(None)),
        Merged::One(p) => combine(vec![*p]),
        Merged::Many { merge, .. } => Ok(merge.finish()),
    };
    let p = match p {
        Ok(p) => p,
        Err(e) => return Some(Err(e.to_string())),
    };
    if !errors.is_empty() {
        eprintln!(
            "Fetched {} source profiles out of {}",
            sources.len() - errors.len(),
            sources.len()
        );
    }
    Some(Ok(Some((p, None))))
}

/// The readers' shared state: which file to read next, what was read and awaits its
/// turn, and the merge itself.
struct MergeAsRead {
    queue: Mutex<Queue>,
    /// Signalled when the merge takes a file (making room ahead of it) or stops.
    room: Condvar,
    /// Held by the reader that is merging; the others read on.
    merge: Mutex<MergeState>,
    /// Most files handed out ahead of the merge.
    window: usize,
}

struct Queue {
    /// The next file to hand to a reader.
    next: usize,
    /// The files merged so far (the merge's next file).
    merged: usize,
    /// What reading each file gave, by index, until its turn comes.
    read: BTreeMap<usize, Result<(Profile, Fetched)>>,
    /// Set when the merge stops early: readers take no more files.
    stopped: bool,
}

struct MergeState {
    merged: Merged,
    /// A line per file that could not be read, in the files' order.
    errors: Vec<String>,
    /// Why the merge stopped early.
    stop: Option<Stop>,
}

/// Why a merge as files are read stopped before the last file.
enum Stop {
    /// A profile's types differ from the first's: the files are to be merged at once.
    Incompatible,
    /// The merge failed with this error.
    Failed(String),
}

impl MergeAsRead {
    fn new(window: usize) -> MergeAsRead {
        MergeAsRead {
            queue: Mutex::new(Queue {
                next: 0,
                merged: 0,
                read: BTreeMap::new(),
                stopped: false,
            }),
            room: Condvar::new(),
            merge: Mutex::new(MergeState {
                merged: Merged::Nothing,
                errors: Vec::new(),
                stop: None,
            }),
            window,
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One reader's work: read the next file while there is one, hand it over, and
    /// merge whatever files are ready in order unless another reader is merging.
    fn read_and_merge(&self, sources: &[String], s: &Sources, one_thread: bool) {
        while let Some(i) = self.next_to_read(sources.len()) {
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                grab(&sources[i], s, one_thread, false)
            }));
            match read {
                Ok(read) => {
                    self.queue().read.insert(i, read);
                    self.merge_ready(sources);
                }
                Err(panic) => {
                    // The other readers must not wait for this file: the merge stops,
                    // and the scope passes the panic on.
                    self.stop();
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }

    /// The index of the next file to read, once it is within the window ahead of the
    /// merge; `None` when every one of the `count` files has been handed out or the
    /// merge stopped.
    fn next_to_read(&self, count: usize) -> Option<usize> {
        let mut queue = self.queue();
        loop {
            if queue.stopped || queue.next >= count {
                return None;
            }
            if queue.next < queue.merged + self.window {
                queue.next += 1;
                return Some(queue.next - 1);
            }
            queue = self.room.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Stops the merge: readers take no more files.
    fn stop(&self) {
        self.queue().stopped = true;
        self.room.notify_all();
    }

    /// Merges the files that are ready, in order, unless another reader is merging
    /// (it then merges them). After letting go of the merge, looks again: a file handed
    /// over while it was letting go would otherwise wait for the next reader to finish
    /// one.
    fn merge_ready(&self, sources: &[String]) {
        loop {
            let Ok(mut state) = self.merge.try_lock() else {
                return;
            };
            loop {
                let (i, read) = {
                    let mut queue = self.queue();
                    let i = queue.merged;
                    if queue.stopped {
                        return;
                    }
                    match queue.read.remove(&i) {
                        Some(read) => (i, read),
                        None => break,
                    }
                };
                state.take(&sources[i], read);
                if state.stop.is_some() {
                    drop(state);
                    self.stop();
                    return;
                }
                self.queue().merged = i + 1;
                self.room.notify_all();
            }
            drop(state);
            let queue = self.queue();
            if queue.stopped || !queue.read.contains_key(&queue.merged) {
                return;
            }
        }
    }
}

impl MergeState {
    /// Merges what reading `src` gave, or notes why it could not be read.
    fn take(&mut self, src: &str, read: Result<(Profile, Fetched)>) {
        match read {
            Ok((p, _)) => match self.merged.add(p) {
                Ok(true) => {}
                Ok(false) => self.stop = Some(Stop::Incompatible),
                Err(e) => self.stop = Some(Stop::Failed(e.to_string())),
            },
            Err(e) => self.errors.push(format!("{src}: {e}")),
        }
    }
}

/// Profiles of the same types merged as they come.
enum Merged {
    Nothing,
    /// One profile, kept as read: a single profile is not compacted.
    One(Box<Profile>),
    /// Two or more, merged after conversion to their common units.
    Many {
        merge: Box<profile::merge::Merge>,
        units: report::measurement::CommonUnits,
    },
}

impl Merged {
    /// Adds `p`; `Ok(false)` when its types differ from those of the profiles before it.
    fn add(&mut self, mut p: Profile) -> Result<bool> {
        match std::mem::replace(self, Merged::Nothing) {
            Merged::Nothing => *self = Merged::One(Box::new(p)),
            Merged::One(first) => {
                let mut first = *first;
                if first.compatible(&p).is_err() {
                    return Ok(false);
                }
                // Equal types make the common sample types theirs, and the common
                // units of two profiles those of any number.
                let both = [first, p];
                let units = report::measurement::CommonUnits::of(&both)?;
                [first, p] = both;
                units.apply(&mut first);
                units.apply(&mut p);
                let mut merge = Box::new(profile::merge::Merge::new(&first));
                merge.add(&first)?;
                drop(first);
                merge.add(&p)?;
                *self = Merged::Many { merge, units };
            }
            Merged::Many { mut merge, units } => {
                if merge.check(&p).is_err() {
                    return Ok(false);
                }
                units.apply(&mut p);
                merge.add(&p)?;
                *self = Merged::Many { merge, units };
            }
        }
        Ok(true)
    }
}

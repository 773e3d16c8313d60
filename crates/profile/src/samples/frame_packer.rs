//! Bit-packing the stack frames a decoder reads, on a thread of their own.
//!
//! Packing frames into the stacks column (and widening it as larger location ids
//! come) is a large part of decoding a profile's samples: without it, reading a real
//! Go heap profile took 30 % less time, and bench-l 10 % less. The decoding thread is
//! the slower of the two that read a gzipped profile, so the frames go, in batches,
//! to a third thread that packs them, and the scheduler puts it where inflating
//! leaves room. That pays when inflating leaves much room: for a real Go heap profile,
//! which inflates to 5.5 times its size, inflating takes half the time decoding does;
//! for the benchmark profiles, which inflate to 1.3 to 1.8 times theirs, three
//! quarters or more, and a third thread made bench-l's reading 10 % slower. So the
//! decoder asks for it ([`FramePacker::elsewhere`]) only when the input says so, or
//! when it is not compressed at all (then the thread that reads it is nearly idle:
//! bench-l uncompressed reads in 0.82x the time); a profile of fewer frames than one
//! batch starts no thread either way.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::packed::PackedU32s;

/// Frames handed to the packing thread at a time (256 KiB).
const BATCH: usize = 1 << 16;

/// Batches on their way to the packing thread, at most: the decoder waits when the
/// packer is this far behind.
const IN_FLIGHT: usize = 4;

/// Frames a decoder appends, packed into a [`PackedU32s`] once they are all read
/// ([`finish`](Self::finish)).
pub(crate) struct FramePacker {
    /// Frames not handed over yet.
    batch: Vec<u32>,
    /// Frames handed over.
    handed: usize,
    packer: Packer,
    /// Whether to pack on a thread of their own once a batch is full.
    elsewhere: bool,
    /// The packing thread is gone with frames handed to it.
    failed: bool,
}

/// Where the frames handed over are packed.
enum Packer {
    /// Nowhere yet: no batch was full.
    NotStarted,
    /// On the decoder's own thread (no thread could be started).
    Here(PackedU32s),
    /// On a thread of their own.
    Thread(PackingThread),
}

/// The packing thread and the two ways to it: full batches there, emptied ones back.
struct PackingThread {
    batches: SyncSender<Vec<u32>>,
    spent: Receiver<Vec<u32>>,
    handle: JoinHandle<PackedU32s>,
}

impl PackingThread {
    fn spawn() -> Option<PackingThread> {
        let (batches, to_pack) = sync_channel::<Vec<u32>>(IN_FLIGHT);
        let (give_back, spent) = sync_channel::<Vec<u32>>(IN_FLIGHT);
        let handle = std::thread::Builder::new()
            .name("frame packer".into())
            .spawn(move || {
                let mut frames = PackedU32s::new();
                for batch in to_pack {
                    frames.extend_from_slice(&batch);
                    let _ = give_back.try_send(batch);
                }
                frames
            })
            .ok()?;
        Some(PackingThread {
            batches,
            spent,
            handle,
        })
    }
}

impl Default for FramePacker {
    fn default() -> Self {
        FramePacker::new()
    }
}

impl FramePacker {
    /// A packer of no frames yet.
    pub(crate) fn new() -> FramePacker {
        FramePacker {
            batch: Vec::new(),
            handed: 0,
            packer: Packer::NotStarted,
            elsewhere: false,
            failed: false,
        }
    }

    /// Has the frames packed on a thread of their own (from the first full batch on)
    /// when `elsewhere`, else on the caller's; decided before the first batch is full.
    pub(crate) fn elsewhere(&mut self, elsewhere: bool) {
        self.elsewhere = elsewhere;
    }

    /// Number of frames appended.
    pub(crate) fn len(&self) -> usize {
        self.handed + self.batch.len()
    }

    /// Appends `frames`.
    #[inline]
    pub(crate) fn extend(&mut self, frames: &[u32]) {
        self.batch.extend_from_slice(frames);
        if self.batch.len() >= BATCH {
            self.hand_over();
        }
    }

    /// Hands the batch over to be packed.
    fn hand_over(&mut self) {
        if let Packer::NotStarted = self.packer {
            self.packer = match self.elsewhere.then(PackingThread::spawn).flatten() {
                Some(thread) => Packer::Thread(thread),
                None => Packer::Here(PackedU32s::new()),
            };
        }
        self.handed += self.batch.len();
        match &mut self.packer {
            Packer::Thread(thread) => {
                let mut next = thread
                    .spent
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                next.clear();
                let full = std::mem::replace(&mut self.batch, next);
                if let Err(failed) = thread.batches.send(full) {
                    // The thread is gone (it cannot fail short of a panic): the frames
                    // are packed here from now on, and `finish` reports the loss.
                    let mut here = PackedU32s::new();
                    here.extend_from_slice(&failed.0);
                    self.packer = Packer::Here(here);
                    self.failed = true;
                }
            }
            Packer::Here(frames) => {
                frames.extend_from_slice(&self.batch);
                self.batch.clear();
            }
            Packer::NotStarted => {}
        }
    }

    /// Every frame appended, packed; `None` when the packing thread failed.
    pub(crate) fn finish(self) -> Option<PackedU32s> {
        if self.failed {
            return None;
        }
        match self.packer {
            Packer::NotStarted => {
                let mut frames = PackedU32s::new();
                frames.extend_from_slice(&self.batch);
                Some(frames)
            }
            Packer::Here(mut frames) => {
                frames.extend_from_slice(&self.batch);
                Some(frames)
            }
            Packer::Thread(thread) => {
                let sent = self.batch.is_empty() || thread.batches.send(self.batch).is_ok();
                drop(thread.batches);
                let frames = thread.handle.join().ok()?;
                sent.then_some(frames)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(frames: &[u32], elsewhere: bool) -> Vec<u32> {
        let mut p = FramePacker::new();
        p.elsewhere(elsewhere);
        // In uneven runs, as a decoder appends them.
        for run in frames.chunks(777) {
            p.extend(run);
        }
        assert_eq!(p.len(), frames.len());
        let packed = p.finish().expect("packed");
        assert_eq!(packed.len(), frames.len());
        packed.stack(0, frames.len()).to_vec()
    }

    #[test]
    fn frames_of_less_than_a_batch_are_packed_as_appended() {
        let frames: Vec<u32> = (0..1000).map(|i| i * 7 % 300).collect();
        for elsewhere in [false, true] {
            assert_eq!(packed(&frames, elsewhere), frames);
            assert_eq!(packed(&[], elsewhere), Vec::<u32>::new());
        }
    }

    #[test]
    fn frames_of_many_batches_come_back_in_order_packed_here_or_on_a_thread() {
        // Values that grow, so that the column widens while batches are in flight.
        let frames: Vec<u32> = (0..(BATCH * 5 + 123) as u32)
            .map(|i| i.wrapping_mul(2_654_435_761) >> (31 - (i / 20_000).min(31)))
            .collect();
        for elsewhere in [false, true] {
            assert_eq!(packed(&frames, elsewhere), frames);
        }
    }
}

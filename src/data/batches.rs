//! A prefetching batch iterator: a background thread assembles batches
//! (each in parallel with rayon) into a bounded queue while the caller
//! trains on the previous ones. The thread can also finish each batch, e.g.
//! put it on the device, so that copy overlaps the caller's work too.

use super::dataset::{Batch, Dataset, Part};
use crate::error::Result;
use crate::plan::AugmentPlan;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

/// Batches prepared ahead of the consumer.
const QUEUE: usize = 3;

pub struct Batches<T = Batch> {
    rx: Option<Receiver<Result<T>>>,
    worker: Option<JoinHandle<()>>,
    remaining: usize,
}

impl<T: Send + 'static> Batches<T> {
    /// Batches of `order` in chunks of `batch_size`, each passed through
    /// `finish` on the background thread.
    pub(crate) fn spawn(
        data: Arc<Dataset>,
        part: Part,
        (order, batch_size, drop_last): (Vec<usize>, usize, bool),
        augment: Option<(AugmentPlan, u64)>,
        finish: impl Fn(Batch) -> Result<T> + Send + 'static,
    ) -> Batches<T> {
        let size = batch_size.max(1);
        let mut count = order.len() / size;
        if !drop_last && !order.len().is_multiple_of(size) {
            count += 1;
        }
        let (tx, rx) = sync_channel(QUEUE);
        let worker = std::thread::spawn(move || {
            for chunk in order.chunks(size).take(count) {
                let b = data
                    .batch(part, chunk, augment.as_ref().map(|(a, e)| (a, *e)))
                    .and_then(&finish);
                let failed = b.is_err();
                if tx.send(b).is_err() || failed {
                    return;
                }
            }
        });
        Batches {
            rx: Some(rx),
            worker: Some(worker),
            remaining: count,
        }
    }
}

impl<T> Iterator for Batches<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.remaining == 0 {
            return None;
        }
        let item = self.rx.as_ref()?.recv().ok();
        match &item {
            Some(Ok(_)) => self.remaining -= 1,
            _ => self.remaining = 0,
        }
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

impl<T> Drop for Batches<T> {
    fn drop(&mut self) {
        // Closing the queue stops the worker at its next send.
        self.rx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

//! A prefetching batch iterator: a background thread assembles batches
//! (each in parallel with rayon) into a bounded queue while the caller
//! trains on the previous ones.

use super::dataset::{Batch, Dataset, Part};
use crate::error::Result;
use crate::plan::AugmentPlan;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

/// Batches prepared ahead of the consumer.
const QUEUE: usize = 3;

pub struct Batches {
    rx: Option<Receiver<Result<Batch>>>,
    worker: Option<JoinHandle<()>>,
    remaining: usize,
}

impl Batches {
    pub(crate) fn spawn(
        data: Arc<Dataset>,
        part: Part,
        order: Vec<usize>,
        batch_size: usize,
        drop_last: bool,
        augment: Option<(AugmentPlan, u64)>,
    ) -> Batches {
        let size = batch_size.max(1);
        let mut count = order.len() / size;
        if !drop_last && !order.len().is_multiple_of(size) {
            count += 1;
        }
        let (tx, rx) = sync_channel(QUEUE);
        let worker = std::thread::spawn(move || {
            for chunk in order.chunks(size).take(count) {
                let b = data.batch(part, chunk, augment.as_ref().map(|(a, e)| (a, *e)));
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

impl Iterator for Batches {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
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

impl Drop for Batches {
    fn drop(&mut self) {
        // Closing the queue stops the worker at its next send.
        self.rx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

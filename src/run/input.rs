//! The end of the input stage: a batch put on the device by the prefetch
//! thread, so on a GPU the copy overlaps the step before it instead of
//! waiting on the training loop's thread (as PyTorch's DataLoader with
//! pinned memory and `non_blocking` copies). On the CPU it only wraps the
//! vectors.

use crate::data::Batch;
use crate::error::Result;
use candle_core::{Device, Tensor};

/// A batch on the device: inputs, labels, and the labels on the host for
/// the metrics.
pub(crate) struct DeviceBatch {
    pub x: Tensor,
    pub y: Tensor,
    pub labels: Vec<u32>,
}

impl DeviceBatch {
    /// The batch's rows.
    pub(crate) fn rows(&self) -> usize {
        self.labels.len()
    }
}

/// The function the prefetch thread applies to each batch.
pub(crate) fn on_device(device: &Device) -> impl Fn(Batch) -> Result<DeviceBatch> + Send + 'static {
    let device = device.clone();
    move |batch| {
        let rows = batch.y.len();
        let x = Tensor::from_vec(batch.x, batch.dims.as_slice(), &device)?;
        let y = Tensor::from_vec(batch.y.clone(), rows, &device)?;
        // candle's CUDA device works on each thread's own default stream,
        // and streams do not wait for each other: the copies were queued on
        // this thread's, and the training loop reads the batch on its own.
        // So they must be done before the batch is handed over. This waits
        // here, on the prefetch thread, never on the loop's.
        device.synchronize()?;
        Ok(DeviceBatch {
            x,
            y,
            labels: batch.y,
        })
    }
}

//! The per-variable arithmetic of one optimizer, separated from the
//! bookkeeping every optimizer shares ([`super::Stepper`]).

use candle_core::{Result, Tensor};

pub(crate) trait Rule: Send {
    /// Names of the per-variable state tensors (Keras' optimizer
    /// variables), in the order [`Rule::init`] returns them.
    fn slots(&self) -> Vec<&'static str>;
    /// Initial state for a variable `w` (zeros, or Adagrad's 0.1).
    fn init(&self, w: &Tensor) -> Result<Vec<Tensor>>;
    /// The new value of `w` for gradient `g`, updating `slots` in place.
    /// `lr` is the learning rate of this step, `t` its 1-based step number.
    fn update(
        &self,
        w: &Tensor,
        g: &Tensor,
        slots: &mut [Tensor],
        lr: f64,
        t: u64,
    ) -> Result<Tensor>;
}

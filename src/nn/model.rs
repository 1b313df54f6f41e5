//! The model: the plan's layers as candle tensors, with Keras'
//! initialisation and naming, a train/eval flag for dropout and batch norm,
//! the final activation fused into the loss, and safetensors weights.
//!
//! A plain stack feeds each layer the one before it. A graph (`add`,
//! `concat`) runs its layers in the plan's order too, each reading the
//! outputs its [`crate::plan::ModelPlan::sources`] name; an output is kept
//! until its last reader has run. Merges are candle ops (`+`, `cat`).

use super::batchnorm::BatchNorm;
use super::conv::Conv2d;
use super::dense::Dense;
use super::dropout::Dropout;
use super::pool::Pool;
use super::{activation, flatten};
use crate::error::{Error, Result};
use crate::plan::{Activation, Layer, Loss, ModelPlan, Shape};
use candle_core::{D, DType, Device, Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

/// Whether a forward pass trains (dropout on, batch statistics, moving
/// statistics updated) or evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardMode {
    /// `step` (the optimizer step about to be taken) seeds dropout masks.
    Train {
        step: u64,
    },
    Eval,
}

impl ForwardMode {
    pub(crate) fn is_train(self) -> bool {
        matches!(self, ForwardMode::Train { .. })
    }
}

/// One built layer.
enum Node {
    Dense(Dense),
    Conv(Conv2d),
    Pool(Pool),
    Flatten,
    /// The layer and the seed its masks derive from.
    Dropout(Dropout, u64),
    BatchNorm(BatchNorm),
    Activation(Activation),
    /// The element-wise sum of the inputs.
    Add,
    /// The inputs joined along axis 1 (channels of NCHW, or features).
    Concat,
}

/// The final activation that the loss absorbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fused {
    /// Softmax + cross-entropy: `forward` returns logits.
    Softmax,
    /// Sigmoid + binary cross-entropy: `forward` returns logits.
    Sigmoid,
}

pub struct Model {
    nodes: Vec<Node>,
    /// Each node's layer name (`conv2d_1`).
    names: Vec<String>,
    /// Frozen nodes (`transfer { freeze … }`): their parameters are
    /// detached from autograd and left out of [`Model::trainable`], and
    /// batch norm runs in inference mode, as Keras does for
    /// `trainable = False`.
    frozen: Vec<bool>,
    /// The node ids each layer reads (0: the input, `i + 1`: layer `i`).
    sources: Vec<Vec<usize>>,
    /// How many layers read each node id.
    readers: Vec<usize>,
    /// The activation left out of the last layer's forward pass, if any.
    fused: Option<Fused>,
    loss: Loss,
    device: Device,
}

impl Model {
    /// Builds the layers of `plan` with Keras' initialisation, drawing the
    /// kernels in layer order from `rng::generator(plan.init_seed)`.
    pub fn new(plan: &ModelPlan, loss: Loss, device: &Device) -> Result<Model> {
        let mut rng = crate::rng::generator(plan.init_seed);
        let mut nodes = Vec::with_capacity(plan.layers.len());
        for (index, lp) in plan.layers.iter().enumerate() {
            let node = match &lp.layer {
                Layer::Dense {
                    units,
                    activation,
                    l2,
                } => Node::Dense(Dense::new(
                    &lp.name,
                    lp.input.numel(),
                    *units,
                    *activation,
                    *l2,
                    &mut rng,
                    device,
                )?),
                Layer::Conv2d {
                    filters,
                    kernel,
                    stride,
                    padding,
                    activation,
                    l2,
                    use_bias,
                } => {
                    let Shape::Image { channels, .. } = lp.input else {
                        return Err(Error::Runtime(format!(
                            "layer {}: conv2d needs an image input, got {}",
                            lp.name, lp.input
                        )));
                    };
                    Node::Conv(Conv2d::new(
                        &lp.name,
                        channels,
                        *filters,
                        *kernel,
                        *stride,
                        *padding,
                        *activation,
                        *l2,
                        *use_bias,
                        &mut rng,
                        device,
                    )?)
                }
                Layer::MaxPool { size, stride } => Node::Pool(Pool::Max {
                    size: *size,
                    stride: *stride,
                }),
                Layer::AvgPool { size, stride } => Node::Pool(Pool::Avg {
                    size: *size,
                    stride: *stride,
                }),
                Layer::GlobalAvgPool => Node::Pool(Pool::GlobalAvg),
                Layer::Flatten => Node::Flatten,
                Layer::Dropout { rate, seed } => Node::Dropout(
                    Dropout { rate: *rate, index },
                    seed.unwrap_or(plan.dropout_seed),
                ),
                Layer::BatchNorm { momentum, epsilon } => {
                    let features = match lp.input {
                        Shape::Flat(n) => n,
                        Shape::Image { channels, .. } => channels,
                    };
                    Node::BatchNorm(BatchNorm::new(
                        &lp.name, features, *momentum, *epsilon, device,
                    )?)
                }
                Layer::Activation(a) => Node::Activation(*a),
                Layer::Add => Node::Add,
                Layer::Concat => Node::Concat,
            };
            nodes.push(node);
        }
        let sources: Vec<Vec<usize>> = (0..nodes.len()).map(|i| plan.sources(i)).collect();
        let mut readers = vec![0usize; nodes.len() + 1];
        for &id in sources.iter().flatten() {
            if let Some(r) = readers.get_mut(id) {
                *r += 1;
            }
        }
        let last = match nodes.last() {
            Some(Node::Dense(d)) => Some(d.activation),
            Some(Node::Conv(c)) => Some(c.activation),
            Some(Node::Activation(a)) => Some(*a),
            _ => None,
        };
        let fused = match (loss, last) {
            (Loss::CrossEntropy, Some(Activation::Softmax)) => Some(Fused::Softmax),
            (Loss::BinaryCrossEntropy, Some(Activation::Sigmoid)) => Some(Fused::Sigmoid),
            _ => None,
        };
        Ok(Model {
            names: plan.layers.iter().map(|l| l.name.clone()).collect(),
            frozen: vec![false; nodes.len()],
            nodes,
            sources,
            readers,
            fused,
            loss,
            device: device.clone(),
        })
    }

    pub(crate) fn device(&self) -> &Device {
        &self.device
    }

    /// Freezes exactly the layers named in `names` (an empty list thaws
    /// every layer).
    pub fn set_frozen(&mut self, names: &[String]) {
        self.frozen = self.names.iter().map(|n| names.contains(n)).collect();
    }

    fn is_frozen(&self, i: usize) -> bool {
        self.frozen.get(i).copied().unwrap_or(false)
    }

    /// Whether layer `i`'s output goes to layer `i + 1` alone, and layer
    /// `i + 1` reads nothing else: the two can run as one call.
    fn feeds_only_next(&self, i: usize) -> bool {
        self.readers.get(i + 1) == Some(&1)
            && self.sources.get(i + 1).is_some_and(|s| s == &[i + 1])
    }

    /// Copies into each layer `names[i]` the tensors of the layer
    /// `sources[i]` of the safetensors file `path` (another run's
    /// `model.safetensors`); every other variable keeps its value. Names and
    /// shapes are checked before anything changes; an error names the file.
    pub(crate) fn load_layers(
        &self,
        path: &Path,
        names: &[String],
        sources: &[String],
    ) -> Result<()> {
        let source = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| Error::file(path, format!("not a readable safetensors file: {e}")))?;
        // (the source's tensor name, this model's variable)
        let wanted: Vec<(String, Var)> = self
            .all_variables()
            .into_iter()
            .filter_map(|(n, v)| {
                let (layer, what) = n.split_once('/')?;
                let i = names.iter().position(|w| w == layer)?;
                let from = sources.get(i).map_or(layer, String::as_str);
                Some((format!("{from}/{what}"), v))
            })
            .collect();
        for (name, v) in &wanted {
            match source.get(name) {
                Some(t) if t.dims() == v.dims() => {}
                Some(t) => {
                    return Err(Error::file(
                        path,
                        format!(
                            "tensor `{name}` has shape {:?}, the model needs {:?}",
                            t.dims(),
                            v.dims()
                        ),
                    ));
                }
                None => return Err(Error::file(path, format!("missing tensor `{name}`"))),
            }
        }
        for (name, v) in &wanted {
            if let Some(t) = source.get(name) {
                v.set(&t.to_dtype(DType::F32)?.to_device(&self.device)?)?;
            }
        }
        Ok(())
    }

    /// Output of the last layer before a final softmax/sigmoid when that
    /// activation is fused into the loss (softmax + cross_entropy, sigmoid +
    /// binary_cross_entropy); otherwise the full output. In `Train` mode
    /// dropout is on and batch norm uses (and records) batch statistics.
    pub fn forward(&self, x: &Tensor, mode: ForwardMode) -> Result<Tensor> {
        let train = mode.is_train();
        let last = self.nodes.len().saturating_sub(1);
        // outs[id]: node id's output while a reader still needs it.
        let mut outs: Vec<Option<Tensor>> = vec![None; self.nodes.len() + 1];
        outs[0] = Some(x.clone());
        let mut left = self.readers.clone();
        let mut h = x.clone();
        let mut done = None;
        for (i, node) in self.nodes.iter().enumerate() {
            if done == Some(i) {
                continue;
            }
            let ins = self.inputs(i, &mut outs, &mut left)?;
            let activate = !(i == last && self.fused.is_some());
            // A frozen layer's parameters are constants of the graph.
            let learn = train && !self.is_frozen(i);
            // A ReLU convolution feeding batch norm, and nothing else, trains
            // as one call (the ReLU's gradient mask inside batch norm's
            // backward).
            let next_bn = match self.nodes.get(i + 1) {
                Some(Node::BatchNorm(bn))
                    if learn && activate && !self.is_frozen(i + 1) && self.feeds_only_next(i) =>
                {
                    Some(bn)
                }
                _ => None,
            };
            // Batch norm feeding a ReLU, and nothing else, trains as one
            // call (the ReLU in batch norm's output pass, its mask in
            // batch norm's backward): ResNet's conv → BN → ReLU.
            let next_relu = matches!(
                self.nodes.get(i + 1),
                Some(Node::Activation(Activation::Relu))
            ) && learn
                && ins[0].rank() == 4
                && self.feeds_only_next(i);
            let x = &ins[0];
            h = match node {
                Node::Dense(d) => d.forward(x, learn, activate)?,
                Node::Conv(c) => match next_bn.filter(|_| c.is_relu()) {
                    Some(bn) => {
                        done = Some(i + 1);
                        c.forward_relu_batch_norm(x, bn)?
                    }
                    None => c.forward(x, learn, activate)?,
                },
                Node::Pool(p) => p.forward(x)?,
                Node::Flatten => flatten::forward(x)?,
                Node::Dropout(d, seed) => match mode {
                    ForwardMode::Train { step } => d.forward(x, *seed, step)?,
                    ForwardMode::Eval => x.clone(),
                },
                Node::BatchNorm(bn) if next_relu => {
                    done = Some(i + 1);
                    bn.forward_relu_train(x)?
                }
                Node::BatchNorm(bn) => bn.forward(x, learn)?,
                Node::Activation(a) if activate => activation::apply(*a, x)?,
                Node::Activation(_) => x.clone(),
                Node::Add => {
                    let mut sum = x.clone();
                    for t in &ins[1..] {
                        sum = (sum + t)?;
                    }
                    sum
                }
                Node::Concat => Tensor::cat(&ins, 1)?,
            };
            let id = if done == Some(i + 1) { i + 2 } else { i + 1 };
            if self.readers[id] > 0 {
                outs[id] = Some(h.clone());
            }
        }
        Ok(h)
    }

    /// The inputs of layer `i`, each dropped from `outs` once its last
    /// reader has it.
    fn inputs(
        &self,
        i: usize,
        outs: &mut [Option<Tensor>],
        left: &mut [usize],
    ) -> Result<Vec<Tensor>> {
        let mut ins = Vec::with_capacity(self.sources[i].len());
        for &id in &self.sources[i] {
            let t = outs.get(id).and_then(|t| t.clone()).ok_or_else(|| {
                Error::Runtime(format!("layer {i} reads node {id}, which is not computed"))
            })?;
            left[id] = left[id].saturating_sub(1);
            if left[id] == 0 {
                outs[id] = None;
            }
            ins.push(t);
        }
        Ok(ins)
    }

    /// Class probabilities from a [`Model::forward`] output: applies the
    /// activation the loss absorbed. Without fusion, cross-entropy and
    /// binary cross-entropy read the output as logits (that is what the loss
    /// does), so softmax/sigmoid is applied too; MSE outputs are returned
    /// as they are.
    pub fn probabilities(&self, forward_output: &Tensor) -> Result<Tensor> {
        Ok(match (self.fused, self.loss) {
            (Some(Fused::Softmax), _) | (None, Loss::CrossEntropy) => {
                candle_nn::ops::softmax(forward_output, D::Minus1)?
            }
            (Some(Fused::Sigmoid), _) | (None, Loss::BinaryCrossEntropy) => {
                candle_nn::ops::sigmoid(forward_output)?
            }
            (None, Loss::Mse) => forward_output.clone(),
        })
    }

    /// The trainable variables in layer order, kernel before bias, γ before
    /// β, under Keras-style names (`conv2d/kernel`).
    /// Frozen layers have none.
    pub fn trainable(&self) -> Vec<(String, Var)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_frozen(*i))
            .flat_map(|(_, n)| match n {
                Node::Dense(d) => d.variables(),
                Node::Conv(c) => c.variables(),
                Node::BatchNorm(bn) => bn.variables(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Every variable, trainable or not (batch norm's moving statistics
    /// follow each layer's γ and β).
    fn all_variables(&self) -> Vec<(String, Var)> {
        self.nodes
            .iter()
            .flat_map(|n| match n {
                Node::Dense(d) => d.variables(),
                Node::Conv(c) => c.variables(),
                Node::BatchNorm(bn) => {
                    let mut v = bn.variables();
                    v.extend(bn.moving());
                    v
                }
                _ => Vec::new(),
            })
            .collect()
    }

    /// Number of scalars in all variables (Keras' "Total params").
    pub fn param_count(&self) -> usize {
        self.all_variables()
            .iter()
            .map(|(_, v)| v.elem_count())
            .sum()
    }

    /// Number of trainable scalars (Keras' "Trainable params").
    pub fn trainable_count(&self) -> usize {
        self.trainable().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Σ over layers with `l2 = λ > 0` of λ·Σ kernel² (Keras'
    /// `regularizers.l2`), a scalar tracked by autograd; `None` when no layer
    /// is regularised. Frozen layers add nothing (Keras counts the
    /// regularisers of trainable weights only).
    pub fn l2_penalty(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            if self.is_frozen(i) {
                continue;
            }
            let (kernel, l2) = match n {
                Node::Dense(d) => (&d.kernel, d.l2),
                Node::Conv(c) => (&c.kernel, c.l2),
                _ => continue,
            };
            if l2 <= 0.0 {
                continue;
            }
            let term = (kernel.as_tensor().sqr()?.sum_all()? * l2)?;
            total = Some(match total {
                None => term,
                Some(t) => (t + term)?,
            });
        }
        Ok(total)
    }

    /// Copies of every tensor (weights and moving statistics), by name.
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        self.all_variables()
            .into_iter()
            .map(|(name, v)| Ok((name, v.as_detached_tensor().copy()?)))
            .collect()
    }

    /// Sets every variable from `state`. Checks all names and shapes first,
    /// so a bad state changes nothing; extra entries are an error too (they
    /// mean the state belongs to another model).
    pub fn load_state(&self, state: &HashMap<String, Tensor>) -> Result<()> {
        let vars = self.all_variables();
        let mut problems = Vec::new();
        for (name, v) in &vars {
            match state.get(name) {
                None => problems.push(format!("missing tensor `{name}`")),
                Some(t) if t.dims() != v.dims() => problems.push(format!(
                    "tensor `{name}` has shape {:?}, the model needs {:?}",
                    t.dims(),
                    v.dims()
                )),
                Some(_) => {}
            }
        }
        let mut extra: Vec<&String> = state
            .keys()
            .filter(|k| !vars.iter().any(|(n, _)| n == *k))
            .collect();
        extra.sort();
        for k in extra {
            problems.push(format!("unexpected tensor `{k}` (not in this model)"));
        }
        if !problems.is_empty() {
            return Err(Error::Runtime(format!(
                "weights do not fit the model: {}",
                problems.join("; ")
            )));
        }
        for (name, v) in &vars {
            if let Some(t) = state.get(name) {
                v.set(&t.to_dtype(DType::F32)?.to_device(&self.device)?)?;
            }
        }
        Ok(())
    }

    /// Writes the state as safetensors, atomically
    /// ([`crate::records::atomic::write`]): a crash or a full disk never
    /// leaves half a file, and an error names the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::records::atomic::write_safetensors(path, self.state()?, None)
    }

    /// Reads weights written by [`Model::save`]. A missing, corrupt or
    /// mismatched file is an [`Error::File`] naming it.
    pub fn load(&self, path: &Path) -> Result<()> {
        if !path.exists() {
            return Err(Error::file(path, "weights file not found"));
        }
        let state = candle_core::safetensors::load(path, &self.device)
            .map_err(|e| Error::file(path, format!("not a readable safetensors file: {e}")))?;
        self.load_state(&state).map_err(|e| match e {
            Error::Runtime(msg) => Error::file(path, msg),
            other => other,
        })
    }
}

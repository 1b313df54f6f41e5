//! 2-D convolutions on the GPU through cuDNN: forward with the
//! heuristically fastest algorithm, chosen once per shape (cuDNN's
//! forward algorithms are all deterministic), backward-data and
//! backward-filter with cuDNN's deterministic `ALGO_1`, the bias and ReLU
//! as one epilogue kernel, the bias gradient as a fixed-order channel sum.
//! TensorFlow's asymmetric `same` padding (the extra row after) is done by
//! padding the input first; symmetric padding goes to cuDNN.

use super::batch_norm::channel_sum;
use super::{Kernel, alloc, cuda_only, elementwise, run, storage, view};
use crate::ops::geometry::{ConvGeometry, geometry};
use crate::ops::{Relu, same_padding};
use crate::plan::Padding;
use candle_core::cuda_backend::cudarc::cudnn::{self, Cudnn};
use candle_core::cuda_backend::cudarc::driver::PushKernelArg;
use candle_core::cuda_backend::{CudaDevice, CudaStorage};
use candle_core::{
    CpuStorage, CustomOp1, CustomOp3, DType, Error, Layout, Result, Shape, Tensor, bail,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use cudnn::sys::cudnnConvolutionBwdDataAlgo_t::CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
use cudnn::sys::cudnnConvolutionBwdFilterAlgo_t::CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
use cudnn::sys::cudnnConvolutionFwdAlgo_t::{self, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM};
use cudnn::sys::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION;
use cudnn::sys::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW;

thread_local! {
    // cuDNN handles are neither Send nor Sync: one per thread and GPU. Every
    // candle device of a GPU shares its primary context and works on the
    // thread's default stream, so a handle serves them all (a sweep makes a
    // device per trial).
    static HANDLES: RefCell<HashMap<usize, Arc<Cudnn>>> = RefCell::new(HashMap::new());
    // The descriptors, forward algorithm and workspace sizes of each
    // convolution shape met on this thread, made once: a run meets a few
    // (each layer at the batch size, the last batch's and evaluation's).
    static PLANS: RefCell<HashMap<(usize, ConvGeometry, usize), Rc<ConvPlan>>> =
        RefCell::new(HashMap::new());
}

/// The GPU of a device.
fn ordinal(dev: &CudaDevice) -> usize {
    dev.cuda_stream().context().ordinal()
}

fn handle(dev: &CudaDevice) -> Result<Arc<Cudnn>> {
    let gpu = ordinal(dev);
    HANDLES.with(|h| {
        if let Some(c) = h.borrow().get(&gpu) {
            return Ok(c.clone());
        }
        let c = Cudnn::new(dev.cuda_stream()).map_err(Error::wrap)?;
        h.borrow_mut().insert(gpu, c.clone());
        Ok(c)
    })
}

/// How one convolution shape runs: its descriptors, the forward algorithm
/// cuDNN's heuristic picks (implicit GEMM, which takes every shape, if it
/// picks none), and the workspace each pass needs.
struct ConvPlan {
    d: Descriptors,
    forward: (cudnnConvolutionFwdAlgo_t, usize),
    backward_data: usize,
    backward_filter: usize,
}

/// The plan of `g` on a batch of `n` images on `dev`.
fn plan(dev: &CudaDevice, g: &ConvGeometry, n: usize) -> Result<Rc<ConvPlan>> {
    let key = (ordinal(dev), *g, n);
    if let Some(p) = PLANS.with(|p| p.borrow().get(&key).cloned()) {
        return Ok(p);
    }
    let cudnn = handle(dev)?;
    let d = descriptors(&cudnn, g, n)?;
    let forward = cudnn::ConvForward {
        conv: &d.conv,
        x: &d.x,
        w: &d.w,
        y: &d.y,
    };
    let algo = forward
        .pick_algorithm()
        .unwrap_or(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
    let forward = (algo, forward.get_workspace_size(algo).map_err(Error::wrap)?);
    let backward_data = cudnn::ConvBackwardData {
        conv: &d.conv,
        dx: &d.x,
        w: &d.w,
        dy: &d.y,
    }
    .get_workspace_size(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1)
    .map_err(Error::wrap)?;
    let backward_filter = cudnn::ConvBackwardFilter {
        conv: &d.conv,
        x: &d.x,
        dw: &d.w,
        dy: &d.y,
    }
    .get_workspace_size(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1)
    .map_err(Error::wrap)?;
    let plan = Rc::new(ConvPlan {
        d,
        forward,
        backward_data,
        backward_filter,
    });
    PLANS.with(|p| p.borrow_mut().insert(key, plan.clone()));
    Ok(plan)
}

/// `relu(conv2d(x, w) + b)` as [`crate::ops::conv2d`] and its fused
/// variants, on CUDA f32 tensors.
pub(crate) fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: Padding,
    relu: Relu,
) -> Result<Tensor> {
    let g = geometry(x, w, stride, padding)?;
    let ((top, bottom), (left, right)) = match padding {
        Padding::Valid => ((0, 0), (0, 0)),
        Padding::Same => (
            same_padding(g.h, g.kh, stride),
            same_padding(g.w, g.kw, stride),
        ),
    };
    // Padding cuDNN cannot express (bottom ≠ top, right ≠ left) is added
    // to the input first; the convolution is then a valid one.
    let (x, g) = if top != bottom || left != right {
        let x = x
            .pad_with_zeros(2, top, bottom)?
            .pad_with_zeros(3, left, right)?;
        let g = geometry(&x, w, stride, Padding::Valid)?;
        (x, g)
    } else {
        (x.clone(), g)
    };
    let bias = match b {
        Some(b) if b.dims1()? != g.f => {
            bail!(
                "conv2d: bias has {} entries for {} filters",
                b.dims1()?,
                g.f
            )
        }
        Some(b) => b.contiguous()?,
        // A one-value stand-in operand, never read.
        None => Tensor::zeros(1, DType::F32, x.device())?,
    };
    x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &bias,
        Conv {
            g,
            relu,
            bias: b.is_some(),
        },
    )
}

struct Conv {
    g: ConvGeometry,
    relu: Relu,
    bias: bool,
}

/// The cuDNN descriptors of one convolution of a batch of `n` images.
struct Descriptors {
    conv: cudnn::ConvDescriptor<f32>,
    x: cudnn::TensorDescriptor<f32>,
    w: cudnn::FilterDescriptor<f32>,
    y: cudnn::TensorDescriptor<f32>,
}

fn descriptors(cudnn: &Arc<Cudnn>, g: &ConvGeometry, n: usize) -> Result<Descriptors> {
    let i = |v: usize| v as i32;
    Ok(Descriptors {
        conv: cudnn
            .create_conv2d::<f32>(
                [i(g.pad_top), i(g.pad_left)],
                [i(g.stride), i(g.stride)],
                [1, 1],
                CUDNN_CROSS_CORRELATION,
            )
            .map_err(Error::wrap)?,
        x: cudnn
            .create_4d_tensor::<f32>(CUDNN_TENSOR_NCHW, [i(n), i(g.c), i(g.h), i(g.w)])
            .map_err(Error::wrap)?,
        w: cudnn
            .create_4d_filter::<f32>(CUDNN_TENSOR_NCHW, [i(g.f), i(g.c), i(g.kh), i(g.kw)])
            .map_err(Error::wrap)?,
        y: cudnn
            .create_4d_tensor::<f32>(CUDNN_TENSOR_NCHW, [i(n), i(g.f), i(g.oh), i(g.ow)])
            .map_err(Error::wrap)?,
    })
}

/// A scratch buffer of `bytes` for cuDNN (at least one byte).
fn workspace(
    dev: &CudaDevice,
    bytes: usize,
) -> Result<candle_core::cuda_backend::cudarc::driver::CudaSlice<u8>> {
    // SAFETY: cuDNN's scratch space; its contents are never read by us.
    unsafe { dev.alloc::<u8>(bytes.max(1)) }
}

impl CustomOp3 for Conv {
    fn name(&self) -> &'static str {
        "dlp-cuda-conv2d"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
        s3: &CudaStorage,
        l3: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let dev = &s1.device;
        let (x, w, b) = (view(s1, l1)?, view(s2, l2)?, view(s3, l3)?);
        let g = &self.g;
        let n = l1.dims()[0];
        let len = n * g.f * g.oh * g.ow;
        let mut y = alloc(dev, len)?;
        let p = plan(dev, g, n)?;
        let d = &p.d;
        let op = cudnn::ConvForward {
            conv: &d.conv,
            x: &d.x,
            w: &d.w,
            y: &d.y,
        };
        let (algo, bytes) = p.forward;
        let mut ws = workspace(dev, bytes)?;
        // SAFETY: the buffers have the shapes and dtype of the descriptors.
        unsafe { op.launch(algo, Some(&mut ws), (1.0, 0.0), &x, &w, &mut y) }
            .map_err(Error::wrap)?;
        if self.bias || self.relu != Relu::Off {
            let k = Kernel::new(dev, "bias_relu")?;
            let null = 0u64;
            let (len64, f32c, hw) = (len as u64, g.f as u32, (g.oh * g.ow) as u64);
            let relu = i32::from(self.relu != Relu::Off);
            let mut args = k.args();
            args.arg(&mut y);
            if self.bias {
                args.arg(&b);
            } else {
                args.arg(&null);
            }
            args.arg(&len64).arg(&f32c).arg(&hw).arg(&relu);
            run(args, elementwise(len))?;
        }
        Ok((storage(y, dev), Shape::from((n, g.f, g.oh, g.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = if self.relu == Relu::On {
            super::elementwise::relu_grad(y, dy)?
        } else {
            dy.contiguous()?
        };
        let with_dx = x.track_op();
        let grads = x.apply_op3_no_bwd(w, &dy, &ConvGrad { g: self.g, with_dx })?;
        let (dx_len, dw_len) = (if with_dx { x.elem_count() } else { 0 }, w.elem_count());
        let dx = match with_dx {
            true => Some(grads.narrow(0, 0, dx_len)?.reshape(x.shape())?),
            false => None,
        };
        let dw = grads.narrow(0, dx_len, dw_len)?.reshape(w.shape())?;
        let db = match self.bias {
            true => Some(dy.apply_op1_no_bwd(&BiasGrad)?),
            false => None,
        };
        Ok((dx, Some(dw), db))
    }
}

/// Backward: operands (x, w, dy) → [dx | dw] flat (dx only `with_dx`).
struct ConvGrad {
    g: ConvGeometry,
    with_dx: bool,
}

impl CustomOp3 for ConvGrad {
    fn name(&self) -> &'static str {
        "dlp-cuda-conv2d-grad"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
        s3: &CudaStorage,
        l3: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let dev = &s1.device;
        let (x, w, dy) = (view(s1, l1)?, view(s2, l2)?, view(s3, l3)?);
        let g = &self.g;
        let n = l1.dims()[0];
        let dx_len = if self.with_dx { x.len() } else { 0 };
        let mut out = alloc(dev, dx_len + w.len())?;
        let p = plan(dev, g, n)?;
        let d = &p.d;
        if self.with_dx {
            let op = cudnn::ConvBackwardData {
                conv: &d.conv,
                dx: &d.x,
                w: &d.w,
                dy: &d.y,
            };
            let algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
            let mut ws = workspace(dev, p.backward_data)?;
            let mut dx = out.slice_mut(0..dx_len);
            // SAFETY: the buffers have the shapes and dtype of the descriptors.
            unsafe { op.launch(algo, Some(&mut ws), (1.0, 0.0), &mut dx, &w, &dy) }
                .map_err(Error::wrap)?;
        }
        let op = cudnn::ConvBackwardFilter {
            conv: &d.conv,
            x: &d.x,
            dw: &d.w,
            dy: &d.y,
        };
        let algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
        let mut ws = workspace(dev, p.backward_filter)?;
        let total = out.len();
        let mut dw = out.slice_mut(dx_len..total);
        // SAFETY: the buffers have the shapes and dtype of the descriptors.
        unsafe { op.launch(algo, Some(&mut ws), (1.0, 0.0), &x, &mut dw, &dy) }
            .map_err(Error::wrap)?;
        Ok((storage(out, dev), Shape::from(total)))
    }
}

/// The bias gradient: Σ dy over (N, H, W) per channel.
struct BiasGrad;

impl CustomOp1 for BiasGrad {
    fn name(&self) -> &'static str {
        "dlp-cuda-conv2d-bias-grad"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        cuda_only(self.name())
    }

    fn cuda_fwd(&self, s: &CudaStorage, l: &Layout) -> Result<(CudaStorage, Shape)> {
        let &[n, f, h, w] = l.dims() else {
            bail!("conv2d bias gradient: expected (N, F, H, W)");
        };
        let dev = &s.device;
        let sums = channel_sum(dev, &view(s, l)?, (n, f, h * w))?;
        Ok((storage(sums, dev), Shape::from(f)))
    }
}

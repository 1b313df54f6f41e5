//! Each optimizer's first three steps on a fixed problem against Keras 3's
//! update rules, and exact resume from exported state.
//!
//! Problem: w₀ = [1, −0.5], L(w) = ½·w₀² + 2·w₁², so g = [w₀, 4·w₁].
//! Reference (Python, float64, the Keras 3 `update_step` formulas; clipping
//! as `clip_by_global_norm`, decay as lr/(1 + decay·iterations)):
//!
//! ```python
//! import math
//! def grad(w): return [w[0], 4*w[1]]
//! def run(rule, lr=0.1, clip=None, decay=0.0, steps=3):
//!     w=[1.0,-0.5]; st={}; out=[]
//!     for it in range(steps):
//!         g=grad(w)
//!         if clip is not None:
//!             n=math.sqrt(sum(x*x for x in g))
//!             if n>clip: g=[x*clip/n for x in g]
//!         l=lr/(1+decay*it)
//!         w=[rule(i,w[i],g[i],l,it+1,st) for i in range(2)]
//!         out.append(list(w))
//!     return out
//! def sgd(mu,nest):
//!     def r(i,w,g,lr,t,st):
//!         if mu==0: return w-lr*g
//!         v=st.get(i,0.0); v=mu*v-lr*g; st[i]=v
//!         return w+mu*v-lr*g if nest else w+v
//!     return r
//! def sgdw(mu,nest,wd):  # Keras 3 SGD(weight_decay=wd): decoupled, before the step
//!     base=sgd(mu,nest)
//!     def r(i,w,g,lr,t,st): return base(i,w-w*wd*lr,g,lr,t,st)
//!     return r
//! def adam(b1=0.9,b2=0.999,eps=1e-7,wd=0.0):
//!     def r(i,w,g,lr,t,st):
//!         w=w-w*wd*lr
//!         m,v=st.get(i,(0.0,0.0)); m=m+(g-m)*(1-b1); v=v+(g*g-v)*(1-b2); st[i]=(m,v)
//!         a=lr*math.sqrt(1-b2**t)/(1-b1**t)
//!         return w-a*m/(math.sqrt(v)+eps)
//!     return r
//! def rms(rho=0.9,mu=0.0,eps=1e-7):
//!     def r(i,w,g,lr,t,st):
//!         s,b=st.get(i,(0.0,0.0)); s=rho*s+(1-rho)*g*g; inc=lr*g/math.sqrt(s+eps)
//!         if mu>0: b=mu*b+inc; st[i]=(s,b); return w-b
//!         st[i]=(s,b); return w-inc
//!     return r
//! def adagrad(init=0.1,eps=1e-7):
//!     def r(i,w,g,lr,t,st):
//!         a=st.get(i,init)+g*g; st[i]=a; return w-lr*g/math.sqrt(a+eps)
//!     return r
//! ```
//!
//! The `sgd_wd` rows are also Keras 3.15.1's own optimizer (jax backend):
//!
//! ```python
//! import os; os.environ["KERAS_BACKEND"] = "jax"
//! import numpy as np, keras
//! for mu, nest in [(0.0, False), (0.9, False), (0.9, True)]:
//!     w = keras.Variable(np.array([1.0, -0.5], dtype="float32"))
//!     opt = keras.optimizers.SGD(learning_rate=0.1, momentum=mu, nesterov=nest, weight_decay=0.1)
//!     for _ in range(3):
//!         g = w.numpy() * np.array([1.0, 4.0], dtype="float32")
//!         opt.apply([keras.ops.convert_to_tensor(g)], [w]); print(w.numpy())
//! # [0.89, -0.295], [0.7921, -0.17405], [0.70496905, -0.1026895]
//! # [0.89, -0.295], [0.70210004, 0.00595], [0.46376905, 0.27171052]
//! # [0.8, -0.115], [0.559, 0.13554998], [0.30949998, 0.21423648]
//! ```

use candle_core::{Device, Tensor, Var};
use dlp::optim;
use dlp::plan::{Optimizer, OptimizerPlan};
use std::collections::HashMap;

fn plan(kind: Optimizer, clip_norm: Option<f64>, decay: f64) -> OptimizerPlan {
    OptimizerPlan {
        kind,
        clip_norm,
        decay,
    }
}

fn loss(w: &Var) -> candle_core::Result<Tensor> {
    let c = Tensor::new(&[0.5f32, 2.0], w.device())?;
    (w.as_tensor().sqr()? * c)?.sum_all()
}

/// Runs `steps` steps at `lr` and returns w after each.
fn trajectory(p: &OptimizerPlan, lr: f64, steps: usize) -> dlp::error::Result<Vec<Vec<f32>>> {
    let w = Var::new(&[1f32, -0.5], &Device::Cpu)?;
    let mut opt = optim::build(p, vec![("w".into(), w.clone())])?;
    let mut out = Vec::new();
    for _ in 0..steps {
        let grads = loss(&w)?.backward()?;
        opt.step(&grads, lr)?;
        out.push(w.as_tensor().to_vec1::<f32>()?);
    }
    assert_eq!(opt.iterations(), steps as u64);
    Ok(out)
}

#[test]
fn first_three_steps_match_keras_rules() -> dlp::error::Result<()> {
    let adam = Optimizer::Adam {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-7,
    };
    let sgd = |momentum, nesterov| Optimizer::Sgd {
        lr: 0.1,
        momentum,
        nesterov,
        weight_decay: 0.0,
    };
    let sgd_wd = |momentum, nesterov| Optimizer::Sgd {
        lr: 0.1,
        momentum,
        nesterov,
        weight_decay: 0.1,
    };
    let rms = |momentum| Optimizer::RmsProp {
        lr: 0.01,
        rho: 0.9,
        momentum,
        epsilon: 1e-7,
    };
    #[rustfmt::skip]
    let table: Vec<(&str, OptimizerPlan, f64, [[f32; 2]; 3])> = vec![
        ("sgd", plan(sgd(0.0, false), None, 0.0), 0.1,
            [[0.9, -0.3], [0.81, -0.18], [0.729, -0.108]]),
        ("sgd_momentum", plan(sgd(0.9, false), None, 0.0), 0.1,
            [[0.9, -0.3], [0.72, 0.0], [0.486, 0.27]]),
        ("sgd_nesterov", plan(sgd(0.9, true), None, 0.0), 0.1,
            [[0.81, -0.12], [0.5751, 0.1332], [0.327321, 0.216648]]),
        ("sgd_wd", plan(sgd_wd(0.0, false), None, 0.0), 0.1,
            [[0.89, -0.295], [0.7921, -0.17405], [0.70496905, -0.1026895]]),
        ("sgd_momentum_wd", plan(sgd_wd(0.9, false), None, 0.0), 0.1,
            [[0.89, -0.295], [0.70210004, 0.00595], [0.46376905, 0.27171052]]),
        ("sgd_nesterov_wd", plan(sgd_wd(0.9, true), None, 0.0), 0.1,
            [[0.8, -0.115], [0.559, 0.13554998], [0.30949998, 0.21423648]]),
        ("adam", plan(adam, None, 0.0), 0.1,
            [[0.9000003, -0.4000002], [0.8004128, -0.3011877], [0.701587, -0.2048716]]),
        ("adamw", plan(Optimizer::AdamW { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay: 0.1 }, None, 0.0), 0.1,
            [[0.8900003, -0.3950002], [0.7815724, -0.292339], [0.675102, -0.193416]]),
        ("rmsprop", plan(rms(0.0), None, 0.0), 0.01,
            [[0.9683772, -0.4683772], [0.945788, -0.4461585], [0.9270531, -0.4279289]]),
        ("rmsprop_momentum", plan(rms(0.5), None, 0.0), 0.01,
            [[0.9683772, -0.4683772], [0.9299767, -0.4303471], [0.8922465, -0.3935414]]),
        ("adagrad", plan(Optimizer::Adagrad { lr: 0.1, initial_accumulator: 0.1, epsilon: 1e-7 }, None, 0.0), 0.1,
            [[0.9046537, -0.401227], [0.8393387, -0.3391114], [0.7875128, -0.2926286]]),
        ("sgd_clip_norm_1", plan(sgd(0.0, false), Some(1.0), 0.0), 0.1,
            [[0.9552786, -0.4105573], [0.9049972, -0.3241179], [0.8477585, -0.2421195]]),
        ("sgd_decay_0.5", plan(sgd(0.0, false), None, 0.5), 0.1,
            [[0.9, -0.3], [0.84, -0.22], [0.798, -0.176]]),
    ];
    for (name, p, lr, want) in table {
        let got = trajectory(&p, lr, 3)?;
        for (step, (g, w)) in got.iter().zip(want.iter()).enumerate() {
            for (a, b) in g.iter().zip(w) {
                assert!(
                    (a - b).abs() < 2e-6,
                    "{name} step {}: got {g:?}, Keras rule gives {w:?}",
                    step + 1
                );
            }
        }
    }
    Ok(())
}

#[test]
fn decay_is_reported_as_the_effective_rate() -> dlp::error::Result<()> {
    let p = plan(
        Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        },
        None,
        0.5,
    );
    let w = Var::new(&[1f32, -0.5], &Device::Cpu)?;
    let mut opt = optim::build(&p, vec![("w".into(), w.clone())])?;
    assert_eq!(opt.effective_lr(0.1), 0.1);
    opt.step(&loss(&w)?.backward()?, 0.1)?;
    assert!((opt.effective_lr(0.1) - 0.1 / 1.5).abs() < 1e-15);
    Ok(())
}

/// Two steps, export, a fresh optimizer imports the state and takes the
/// third: the result equals three uninterrupted steps bit for bit.
#[test]
fn exported_state_resumes_exactly() -> dlp::error::Result<()> {
    let kinds = [
        Optimizer::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        },
        Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.0,
        },
        Optimizer::RmsProp {
            lr: 0.01,
            rho: 0.9,
            momentum: 0.5,
            epsilon: 1e-7,
        },
        Optimizer::Adagrad {
            lr: 0.1,
            initial_accumulator: 0.1,
            epsilon: 1e-7,
        },
    ];
    for kind in kinds {
        let p = plan(kind, None, 0.01);
        let straight = trajectory(&p, 0.1, 3)?;
        let w = Var::new(&[1f32, -0.5], &Device::Cpu)?;
        let mut opt = optim::build(&p, vec![("w".into(), w.clone())])?;
        for _ in 0..2 {
            opt.step(&loss(&w)?.backward()?, 0.1)?;
        }
        let state: HashMap<String, Tensor> = opt.state()?.into_iter().collect();
        let w2 = Var::new(w.as_tensor().to_vec1::<f32>()?.as_slice(), &Device::Cpu)?;
        let mut resumed = optim::build(&p, vec![("w".into(), w2.clone())])?;
        resumed.load_state(&state)?;
        assert_eq!(resumed.iterations(), 2);
        resumed.step(&loss(&w2)?.backward()?, 0.1)?;
        assert_eq!(w2.as_tensor().to_vec1::<f32>()?, straight[2], "{kind:?}");
    }
    Ok(())
}

#[test]
fn a_state_for_other_variables_is_refused_by_name() -> dlp::error::Result<()> {
    let p = plan(
        Optimizer::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        },
        None,
        0.0,
    );
    let w = Var::new(&[1f32, -0.5], &Device::Cpu)?;
    let mut opt = optim::build(&p, vec![("w".into(), w)])?;
    let mut state: HashMap<String, Tensor> = opt.state()?.into_iter().collect();
    state.remove("w/v");
    state.insert(
        "w/m".into(),
        Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu)?,
    );
    let err = opt
        .load_state(&state)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("missing tensor `w/v`"), "{err}");
    assert!(err.contains("`w/m` has shape [3]"), "{err}");
    Ok(())
}

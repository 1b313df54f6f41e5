//! The fused batch-norm and ReLU custom ops against `ops::reference`
//! (candle primitives) on each device: values, statistics and gradients
//! of x, γ, β; the dropout mask and the Adam update against the CPU's.

use super::common::{random, random_on, rel_err, test_device, value_and_grads};
use candle_core::{Device, Result, Tensor, Var};
use dlp::ops;

type Bn = fn(&Tensor, &Tensor, &Tensor, f64) -> Result<Bn3>;

/// A training batch norm's `(y, mean, var)`.
type Bn3 = (Tensor, Tensor, Tensor);

test_device!(batch_norm_matches_reference, super::batch_norm_reference);

fn batch_norm_reference(dev: &Device) -> Result<()> {
    for (i, shape) in [[4, 3, 5, 5], [2, 8, 4, 3], [16, 2, 1, 1], [3, 5, 8, 8]]
        .iter()
        .enumerate()
    {
        let seed = 50 * i as u64;
        let c = shape[1];
        // Shift and scale x so the statistics are not (0, 1/3) already.
        let x = ((random_on(shape, seed, dev)? * 3.0)? + 2.0)?;
        let vars = [
            Var::from_tensor(&x)?,
            Var::from_tensor(&random_on(&[c], seed + 1, dev)?)?,
            Var::from_tensor(&random_on(&[c], seed + 2, dev)?)?,
        ];
        let run = |bn: Bn| -> Result<(Tensor, Vec<Tensor>, Tensor, Tensor)> {
            let stats = std::cell::RefCell::new(None);
            let (y, g) = value_and_grads(
                &vars,
                |t| {
                    let (y, m, v) = bn(&t[0], &t[1], &t[2], 1e-3)?;
                    *stats.borrow_mut() = Some((m, v));
                    Ok(y)
                },
                seed + 3,
            )?;
            let (m, v) = stats.into_inner().expect("statistics");
            Ok((y, g, m, v))
        };
        let (y, g, m, v) = run(ops::batch_norm_train)?;
        let (yr, gr, mr, vr) = run(ops::reference::batch_norm_train)?;
        assert!(rel_err(&y, &yr)? < 1e-4, "{shape:?}: values");
        assert!(rel_err(&m, &mr)? < 1e-5, "{shape:?}: mean");
        assert!(rel_err(&v, &vr)? < 1e-4, "{shape:?}: variance");
        for (j, (a, b)) in g.iter().zip(&gr).enumerate() {
            let e = rel_err(a, b)?;
            assert!(
                e < 1e-4,
                "{shape:?}: gradient {} off by {e}",
                ["x", "γ", "β"][j]
            );
        }
    }
    Ok(())
}

test_device!(batch_norm_by_hand, super::batch_norm_hand);

fn batch_norm_hand(dev: &Device) -> Result<()> {
    // One channel, values 1, 3: mean 2, var 1; ε = 0, γ = 2, β = 1 → y = -1, 3.
    let x = Tensor::new(&[[[[1f32]]], [[[3.]]]], dev)?;
    let g = Tensor::new(&[2f32], dev)?;
    let b = Tensor::new(&[1f32], dev)?;
    let (y, m, v) = ops::batch_norm_train(&x, &g, &b, 0.0)?;
    assert_eq!(y.flatten_all()?.to_vec1::<f32>()?, vec![-1., 3.]);
    assert_eq!(m.to_vec1::<f32>()?, vec![2.]);
    assert_eq!(v.to_vec1::<f32>()?, vec![1.]);
    Ok(())
}

test_device!(
    relu_matches_reference_and_zero_has_no_gradient,
    super::relu_reference
);

fn relu_reference(dev: &Device) -> Result<()> {
    let x = Var::from_tensor(&random_on(&[3, 4, 5, 6], 9, dev)?)?;
    let (y, g) = value_and_grads(std::slice::from_ref(&x), |t| ops::relu(&t[0]), 1)?;
    let (yr, gr) = value_and_grads(&[x], |t| t[0].relu(), 1)?;
    assert!(rel_err(&y, &yr)? == 0.0);
    assert!(rel_err(&g[0], &gr[0])? == 0.0);
    // PyTorch: relu'(0) = 0.
    let x = Var::new(&[-1f32, 0., 2.], dev)?;
    let grads = ops::relu(x.as_tensor())?.sum_all()?.backward()?;
    let gx = grads.get(&x).expect("gradient").to_vec1::<f32>()?;
    assert_eq!(gx, vec![0., 0., 1.]);
    Ok(())
}

#[test]
fn batch_norm_and_pool_bits_do_not_depend_on_threads() -> Result<()> {
    let bits = |threads: usize| -> Result<Vec<Vec<u32>>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let vars = [
                Var::from_tensor(&random(&[6, 4, 12, 12], 3)?)?,
                Var::from_tensor(&random(&[4], 4)?)?,
                Var::from_tensor(&random(&[4], 5)?)?,
            ];
            let (y, g) = value_and_grads(
                &vars,
                |t| {
                    let y = ops::batch_norm_train(&t[0], &t[1], &t[2], 1e-3)?.0;
                    let fused = ops::batch_norm_relu_train(&t[0], &t[1], &t[2], 1e-3)?.0;
                    ops::max_pool2d(&(ops::relu(&y)? + fused)?, 3, 2)
                },
                6,
            )?;
            std::iter::once(y)
                .chain(g)
                .map(|t| {
                    let v = t.flatten_all()?.to_vec1::<f32>()?;
                    Ok(v.iter().map(|x| x.to_bits()).collect())
                })
                .collect()
        })
    };
    assert_eq!(bits(1)?, bits(2)?);
    Ok(())
}

test_device!(
    conv_relu_batch_norm_in_one_call_is_the_two_ops_bit_for_bit,
    super::conv_relu_batch_norm_one_call
);

/// A ReLU convolution feeding batch norm in one call (the ReLU's gradient
/// mask applied in batch norm's backward) gives exactly the values,
/// statistics and gradients of the two ops one after the other, and the
/// same as candle's reference ops within rounding.
fn conv_relu_batch_norm_one_call(dev: &Device) -> Result<()> {
    use dlp::plan::Padding;
    for (i, (x_shape, f)) in [([2, 3, 8, 8], 4), ([3, 5, 6, 7], 6)]
        .into_iter()
        .enumerate()
    {
        let seed = 700 + 10 * i as u64;
        let vars = [
            Var::from_tensor(&random_on(&x_shape, seed, dev)?)?,
            Var::from_tensor(&random_on(&[f, x_shape[1], 3, 3], seed + 1, dev)?)?,
            Var::from_tensor(&random_on(&[f], seed + 2, dev)?)?,
            Var::from_tensor(&(random_on(&[f], seed + 3, dev)? + 1.0)?)?,
            Var::from_tensor(&random_on(&[f], seed + 4, dev)?)?,
        ];
        let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
        let fused = value_and_grads(
            &vars,
            |t| {
                let (w, b) = (&t[1], Some(&t[2]));
                ops::conv2d_relu_batch_norm_train(
                    &t[0],
                    (w, b),
                    1,
                    Padding::Same,
                    (&t[3], &t[4]),
                    1e-3,
                )
                .map(|r| r.0)
            },
            seed + 5,
        )?;
        let apart = value_and_grads(
            &vars,
            |t| {
                let h = ops::conv2d_relu(&t[0], &t[1], Some(&t[2]), 1, Padding::Same)?;
                ops::batch_norm_train(&h, &t[3], &t[4], 1e-3).map(|r| r.0)
            },
            seed + 5,
        )?;
        let reference = value_and_grads(
            &vars,
            |t| {
                let h =
                    ops::reference::conv2d(&t[0], &t[1], Some(&t[2]), 1, Padding::Same)?.relu()?;
                ops::reference::batch_norm_train(&h, &t[3], &t[4], 1e-3).map(|r| r.0)
            },
            seed + 5,
        )?;
        assert_eq!(flat(&fused.0)?, flat(&apart.0)?, "{x_shape:?}: values");
        for (j, (a, b)) in fused.1.iter().zip(&apart.1).enumerate() {
            assert_eq!(flat(a)?, flat(b)?, "{x_shape:?}: gradient {j}");
        }
        assert!(
            rel_err(&fused.0, &reference.0)? < 1e-4,
            "{x_shape:?}: values"
        );
        for (j, (a, b)) in fused.1.iter().zip(&reference.1).enumerate() {
            let e = rel_err(a, b)?;
            assert!(e < 1e-3, "{x_shape:?}: gradient {j} off by {e}");
        }
    }
    Ok(())
}

test_device!(
    batch_norm_relu_in_one_call_is_the_two_ops_bit_for_bit,
    super::batch_norm_relu_one_call
);

/// Batch norm feeding a ReLU in one call (the ReLU in batch norm's output
/// pass, its gradient mask in batch norm's backward) gives exactly the
/// values, statistics and gradients of the two ops one after the other,
/// and candle's reference ops' within rounding. β is drawn around 0 so a
/// good share of the outputs is cut.
fn batch_norm_relu_one_call(dev: &Device) -> Result<()> {
    for (i, shape) in [[4, 3, 5, 5], [2, 8, 4, 3], [3, 5, 8, 8]]
        .iter()
        .enumerate()
    {
        let seed = 800 + 10 * i as u64;
        let c = shape[1];
        let vars = [
            Var::from_tensor(&((random_on(shape, seed, dev)? * 3.0)? + 2.0)?)?,
            Var::from_tensor(&(random_on(&[c], seed + 1, dev)? + 1.0)?)?,
            Var::from_tensor(&random_on(&[c], seed + 2, dev)?)?,
        ];
        let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
        let run = |f: &dyn Fn(&[Tensor]) -> Result<Bn3>| {
            let stats = std::cell::RefCell::new(Vec::new());
            let (y, g) = value_and_grads(
                &vars,
                |t| {
                    let (y, m, v) = f(t)?;
                    *stats.borrow_mut() = vec![m, v];
                    Ok(y)
                },
                seed + 3,
            )?;
            Ok::<_, candle_core::Error>((y, g, stats.into_inner()))
        };
        let fused = run(&|t| ops::batch_norm_relu_train(&t[0], &t[1], &t[2], 1e-3))?;
        let apart = run(&|t| {
            let (y, m, v) = ops::batch_norm_train(&t[0], &t[1], &t[2], 1e-3)?;
            Ok((ops::relu(&y)?, m, v))
        })?;
        let reference = run(&|t| {
            let (y, m, v) = ops::reference::batch_norm_train(&t[0], &t[1], &t[2], 1e-3)?;
            Ok((y.relu()?, m, v))
        })?;
        let cut = flat(&fused.0)?.iter().filter(|v| **v == 0.0).count();
        assert!(
            cut > 0 && cut < fused.0.elem_count(),
            "{shape:?}: {cut} cut"
        );
        assert_eq!(flat(&fused.0)?, flat(&apart.0)?, "{shape:?}: values");
        for (j, (a, b)) in fused.2.iter().zip(&apart.2).enumerate() {
            assert_eq!(flat(a)?, flat(b)?, "{shape:?}: statistic {j}");
        }
        for (j, (a, b)) in fused.1.iter().zip(&apart.1).enumerate() {
            assert_eq!(flat(a)?, flat(b)?, "{shape:?}: gradient {j}");
        }
        assert!(rel_err(&fused.0, &reference.0)? < 1e-4, "{shape:?}: values");
        for (j, (a, b)) in fused.1.iter().zip(&reference.1).enumerate() {
            let e = rel_err(a, b)?;
            assert!(e < 1e-3, "{shape:?}: gradient {j} off by {e}");
        }
    }
    Ok(())
}

test_device!(
    inference_batch_norm_matches_reference,
    super::batch_norm_eval_reference
);

/// Inference batch norm (the one-pass per-channel map) against the
/// reference's broadcast ops: the same bits, (N, C, H, W) and (N, C).
fn batch_norm_eval_reference(dev: &Device) -> Result<()> {
    for (i, shape) in [vec![4, 3, 5, 5], vec![7, 3]].into_iter().enumerate() {
        let seed = 900 + 10 * i as u64;
        let x = random_on(&shape, seed, dev)?;
        let mean = random_on(&[3], seed + 1, dev)?;
        let var = (random_on(&[3], seed + 2, dev)?.abs()? + 0.1)?;
        let (gamma, beta) = (
            random_on(&[3], seed + 3, dev)?,
            random_on(&[3], seed + 4, dev)?,
        );
        let y = ops::batch_norm_eval(&x, &mean, &var, &gamma, &beta, 1e-3)?;
        let r = ops::reference::batch_norm_eval(&x, &mean, &var, &gamma, &beta, 1e-3)?;
        let bits = |t: &Tensor| -> Result<Vec<u32>> {
            Ok(t.flatten_all()?
                .to_vec1::<f32>()?
                .iter()
                .map(|v| v.to_bits())
                .collect())
        };
        assert_eq!(bits(&y)?, bits(&r)?, "{shape:?}");
    }
    Ok(())
}

test_device!(
    dropout_masks_are_the_cpus_bit_for_bit,
    super::dropout_masks_match_the_cpu
);

/// A dropout mask drawn on the device is the CPU's (the same ChaCha8
/// streams, block by block), over several blocks with a partial last
/// one; the multiply passes the gradient to x through the mask only.
fn dropout_masks_match_the_cpu(dev: &Device) -> Result<()> {
    let dims = [3, (1 << 16) / 2 + 7];
    let on_device = ops::dropout_mask(&dims, 0.3, 11, dev)?;
    let on_cpu = ops::dropout_mask(&dims, 0.3, 11, &Device::Cpu)?;
    assert_eq!(on_device.dims(), &dims);
    let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
    assert_eq!(flat(&on_device)?, flat(&on_cpu)?);
    let x = Var::from_tensor(&random_on(&[4, 5], 3, dev)?)?;
    let mask = ops::dropout_mask(&[4, 5], 0.5, 2, dev)?;
    let grads = ops::mask_mul(x.as_tensor(), &mask)?.sum_all()?.backward()?;
    assert_eq!(flat(grads.get(&x).expect("gradient"))?, flat(&mask)?);
    Ok(())
}

test_device!(
    adam_update_is_the_cpus_bit_for_bit,
    super::adam_matches_the_cpu
);

/// Keras' Adam on the device gives the CPU kernel's bits (whose own test
/// holds it to candle's ops), over three steps.
fn adam_matches_the_cpu(dev: &Device) -> Result<()> {
    let shape = [7, 13];
    let w0 = random(&shape, 1)?;
    let (mut cpu, mut gpu) = (
        (w0.clone(), w0.zeros_like()?, w0.zeros_like()?),
        (
            w0.to_device(dev)?,
            w0.zeros_like()?.to_device(dev)?,
            w0.zeros_like()?.to_device(dev)?,
        ),
    );
    let bits = |t: &Tensor| -> Result<Vec<u32>> {
        Ok(t.flatten_all()?
            .to_vec1::<f32>()?
            .iter()
            .map(|v| v.to_bits())
            .collect())
    };
    for t in 1..=3u64 {
        let step = ops::AdamStep::keras(1e-3, 0.9, 0.999, 1e-7, t);
        let g = random(&shape, 10 + t)?;
        cpu = ops::adam_update(&cpu.0, &g, &cpu.1, &cpu.2, &step)?;
        gpu = ops::adam_update(&gpu.0, &g.to_device(dev)?, &gpu.1, &gpu.2, &step)?;
        assert_eq!(bits(&cpu.0)?, bits(&gpu.0)?, "w at step {t}");
        assert_eq!(bits(&cpu.1)?, bits(&gpu.1)?, "m at step {t}");
        assert_eq!(bits(&cpu.2)?, bits(&gpu.2)?, "v at step {t}");
    }
    Ok(())
}

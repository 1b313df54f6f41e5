//! The custom convolution against candle's own (`ops::reference`) on
//! each device: values and the gradients of x, w and b on a table of
//! shapes, and on the CPU the same bits with one and two threads.

use super::common::{random_on, rel_err, test_device, value_and_grads};
use candle_core::{Device, Result, Tensor, Var};
use dlp::ops;
use dlp::plan::Padding;

struct Case {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    f: usize,
    k: usize,
    stride: usize,
    padding: Padding,
    bias: bool,
}

#[allow(clippy::too_many_arguments)]
const fn case(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    f: usize,
    k: usize,
    stride: usize,
    padding: Padding,
    bias: bool,
) -> Case {
    Case {
        n,
        c,
        h,
        w,
        f,
        k,
        stride,
        padding,
        bias,
    }
}

use Padding::{Same, Valid};

const CASES: &[Case] = &[
    case(2, 3, 8, 8, 4, 3, 1, Same, true),
    // Rows a multiple of 8 wide at stride 1 (the direct kernel): valid
    // padding, an even kernel, 5×5, filters not a multiple of its tile.
    case(3, 2, 10, 10, 7, 3, 1, Valid, true),
    case(2, 3, 8, 16, 5, 2, 1, Same, false),
    case(2, 4, 16, 16, 13, 5, 1, Same, true),
    case(5, 6, 24, 24, 6, 3, 1, Same, false),
    case(3, 4, 9, 7, 5, 3, 2, Same, true),
    case(2, 2, 6, 6, 3, 3, 1, Valid, true),
    case(1, 5, 11, 10, 2, 3, 2, Valid, false),
    case(4, 3, 7, 7, 6, 1, 1, Same, true),
    case(2, 3, 7, 8, 2, 1, 2, Valid, true),
    case(2, 2, 9, 9, 3, 5, 1, Same, true),
    case(3, 2, 10, 9, 4, 5, 2, Same, false),
    case(2, 3, 12, 12, 4, 5, 3, Valid, true),
    case(2, 4, 4, 4, 3, 4, 2, Same, true),
    case(2, 3, 3, 3, 2, 3, 1, Valid, true),
    // The CIFAR shapes, small batch: 3→32 and 32→32 at 32², 64→128 at 8².
    case(2, 3, 32, 32, 8, 3, 1, Same, true),
    case(9, 16, 8, 8, 16, 3, 1, Same, true),
    // 20 images of 8×8: weight-gradient chunks of 16 and 4 images.
    case(20, 2, 8, 8, 3, 3, 1, Same, true),
    // Column matrices over the L2 tile size: 2 and 4 tiles of output rows.
    case(2, 16, 32, 32, 4, 3, 1, Same, true),
    case(2, 32, 40, 40, 3, 5, 2, Same, true),
    // Stride 1 with C ≥ F: the input gradient runs as a forward convolution
    // of dy with flipped kernels; even and odd kernels, same and valid,
    // non-square images, a 1×1 kernel.
    case(2, 5, 7, 6, 3, 4, 1, Same, true),
    case(3, 6, 9, 8, 4, 5, 1, Valid, false),
    case(2, 4, 6, 5, 4, 2, 1, Valid, true),
    case(2, 6, 5, 7, 3, 1, 1, Same, true),
    // 16 and 32 filters at stride 1 (the direct weight gradient): two
    // filter tiles, valid padding, rows not a multiple of 8 wide, an even
    // kernel.
    case(3, 5, 10, 13, 32, 3, 1, Valid, true),
    case(2, 3, 9, 6, 16, 2, 1, Same, false),
    // Kernels wider than the image: im2col's shifted copies start and end
    // outside the plane.
    case(2, 3, 5, 1, 2, 5, 1, Same, true),
    case(1, 2, 2, 2, 2, 5, 1, Same, false),
];

fn run(c: &Case, fast: bool, seed: u64, dev: &Device) -> Result<(Tensor, Vec<Tensor>)> {
    run_with(c, fast, false, seed, dev)
}

fn run_with(
    c: &Case,
    fast: bool,
    relu: bool,
    seed: u64,
    dev: &Device,
) -> Result<(Tensor, Vec<Tensor>)> {
    let x = Var::from_tensor(&random_on(&[c.n, c.c, c.h, c.w], seed, dev)?)?;
    let w = Var::from_tensor(&random_on(&[c.f, c.c, c.k, c.k], seed + 1, dev)?)?;
    let b = Var::from_tensor(&random_on(&[c.f], seed + 2, dev)?)?;
    let mut vars = vec![x, w];
    if c.bias {
        vars.push(b);
    }
    value_and_grads(
        &vars,
        |t| {
            let (x, w, b) = (&t[0], &t[1], t.get(2));
            match (fast, relu) {
                (true, true) => ops::conv2d_relu(x, w, b, c.stride, c.padding),
                (true, false) => ops::conv2d(x, w, b, c.stride, c.padding),
                (false, true) => ops::reference::conv2d(x, w, b, c.stride, c.padding)?.relu(),
                (false, false) => ops::reference::conv2d(x, w, b, c.stride, c.padding),
            }
        },
        seed + 3,
    )
}

test_device!(
    conv_matches_reference_values_and_gradients,
    super::conv_matches_reference
);

fn conv_matches_reference(dev: &Device) -> Result<()> {
    for (i, c) in CASES.iter().enumerate() {
        let seed = 100 * i as u64;
        let (y, g) = run(c, true, seed, dev)?;
        let (y_ref, g_ref) = run(c, false, seed, dev)?;
        let label = format!("case {i} (k {} s {} {:?})", c.k, c.stride, c.padding);
        assert!(rel_err(&y, &y_ref)? < 1e-4, "{label}: values");
        for (j, (a, b)) in g.iter().zip(&g_ref).enumerate() {
            let e = rel_err(a, b)?;
            assert!(
                e < 1e-4,
                "{label}: gradient {} off by {e}",
                ["x", "w", "b"][j]
            );
        }
    }
    Ok(())
}

fn bits(c: &Case, threads: usize) -> Result<Vec<Vec<u32>>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| {
        let (y, g) = run(c, true, 7, &Device::Cpu)?;
        std::iter::once(y)
            .chain(g)
            .map(|t| {
                Ok(t.flatten_all()?
                    .to_vec1::<f32>()?
                    .iter()
                    .map(|v| v.to_bits())
                    .collect())
            })
            .collect()
    })
}

#[test]
fn conv_bits_do_not_depend_on_threads() -> Result<()> {
    // Batch 1 exercises gemm's own threading and the direct weight
    // gradient's tiles of taps in parallel, batch 12 the per-image split
    // and the chunked weight-gradient sum (64 columns → chunks of 64 images
    // would be one chunk, so use shapes with several chunks: P = 1024),
    // through `gemm` (8 filters) and the direct kernel (16).
    let cases = [
        case(1, 8, 16, 16, 16, 3, 1, Same, true),
        case(12, 4, 32, 32, 8, 3, 1, Same, true),
        case(12, 4, 32, 32, 16, 3, 1, Same, true),
    ];
    for c in &cases {
        assert_eq!(bits(c, 1)?, bits(c, 2)?, "thread count changed the results");
    }
    Ok(())
}

test_device!(
    data_input_gets_no_gradient_but_weights_do,
    super::data_input_gradient
);

fn data_input_gradient(dev: &Device) -> Result<()> {
    // The first layer's input is data: its gradient is skipped, the
    // weight and bias gradients must still match the reference.
    let x = random_on(&[3, 3, 10, 10], 11, dev)?;
    let w = Var::from_tensor(&random_on(&[4, 3, 3, 3], 12, dev)?)?;
    let b = Var::from_tensor(&random_on(&[4], 13, dev)?)?;
    let vars = [w, b];
    let f = |conv: fn(&Tensor, &Tensor, Option<&Tensor>, usize, Padding) -> Result<Tensor>| {
        value_and_grads(&vars, |t| conv(&x, &t[0], Some(&t[1]), 1, Same), 14)
    };
    let (y, g) = f(ops::conv2d)?;
    let (yr, gr) = f(ops::reference::conv2d)?;
    assert!(rel_err(&y, &yr)? < 1e-4);
    assert!(rel_err(&g[0], &gr[0])? < 1e-4);
    assert!(rel_err(&g[1], &gr[1])? < 1e-4);
    Ok(())
}

test_device!(fused_conv_relu_matches_reference, super::fused_conv_relu);

fn fused_conv_relu(dev: &Device) -> Result<()> {
    for (i, c) in CASES.iter().enumerate().step_by(2) {
        let seed = 1000 + 10 * i as u64;
        let (y, g) = run_with(c, true, true, seed, dev)?;
        let (y_ref, g_ref) = run_with(c, false, true, seed, dev)?;
        assert!(rel_err(&y, &y_ref)? < 1e-4, "case {i}: values");
        for (j, (a, b)) in g.iter().zip(&g_ref).enumerate() {
            let e = rel_err(a, b)?;
            assert!(e < 1e-4, "case {i}: gradient {j} off by {e}");
        }
    }
    Ok(())
}

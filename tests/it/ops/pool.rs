//! The custom CPU pooling against `ops::reference` (windows stacked and
//! reduced with candle's `max`/`mean`, whose gradients are right): values
//! and input gradients for sizes 2/3 and strides 1/2/3, plus hand cases.

use super::common::{random_on, rel_err, test_device, value_and_grads};
use candle_core::{Device, Result, Tensor, Var};
use dlp::ops;

type Pool = fn(&Tensor, usize, usize) -> Result<Tensor>;

test_device!(
    pools_match_reference_values_and_gradients,
    super::pools_match_reference
);

fn pools_match_reference(dev: &Device) -> Result<()> {
    // 2×2 windows: 4 per row (the scalar kernel), 20 (vector lanes and
    // a tail), 16 (the model's 32×32 layer: lanes only).
    let shapes = [
        [2, 3, 8, 8],
        [1, 2, 7, 9],
        [3, 1, 6, 5],
        [2, 2, 6, 40],
        [1, 2, 32, 32],
    ];
    let pairs: [(&str, Pool, Pool); 2] = [
        ("max", ops::max_pool2d, ops::reference::max_pool2d),
        ("avg", ops::avg_pool2d, ops::reference::avg_pool2d),
    ];
    let mut seed = 0;
    for shape in shapes {
        for size in [2, 3] {
            for stride in [1, 2, 3] {
                for (name, fast, reference) in pairs {
                    seed += 10;
                    let x = Var::from_tensor(&random_on(&shape, seed, dev)?)?;
                    let (y, g) = value_and_grads(
                        std::slice::from_ref(&x),
                        |t| fast(&t[0], size, stride),
                        seed,
                    )?;
                    let (yr, gr) = value_and_grads(&[x], |t| reference(&t[0], size, stride), seed)?;
                    let label = format!("{name} {shape:?} size {size} stride {stride}");
                    assert!(rel_err(&y, &yr)? < 1e-5, "{label}: values");
                    assert!(rel_err(&g[0], &gr[0])? < 1e-5, "{label}: gradient");
                }
            }
        }
    }
    Ok(())
}

test_device!(
    max_pool_gradient_goes_to_first_maximum_on_ties,
    super::max_pool_ties
);

fn max_pool_ties(dev: &Device) -> Result<()> {
    // PyTorch: x = [[1,1],[1,0]] → max_pool2d(2).backward() gives [[1,0],[0,0]].
    // Overlapping windows (size 2, stride 1) over [[0,5,0],[0,0,0]]: both
    // windows pick the 5, which collects 2.
    let x = Var::new(&[[[[1f32, 1.], [1., 0.]]]], dev)?;
    let g = ops::max_pool2d(x.as_tensor(), 2, 2)?
        .sum_all()?
        .backward()?;
    let gx = g
        .get(&x)
        .expect("gradient")
        .flatten_all()?
        .to_vec1::<f32>()?;
    assert_eq!(gx, vec![1., 0., 0., 0.]);

    let x = Var::new(&[[[[0f32, 5., 0.], [0., 0., 0.]]]], dev)?;
    let g = ops::max_pool2d(x.as_tensor(), 2, 1)?
        .sum_all()?
        .backward()?;
    let gx = g
        .get(&x)
        .expect("gradient")
        .flatten_all()?
        .to_vec1::<f32>()?;
    assert_eq!(gx, vec![0., 2., 0., 0., 0., 0.]);
    Ok(())
}

test_device!(avg_pool_by_hand, super::avg_pool_hand);

fn avg_pool_hand(dev: &Device) -> Result<()> {
    // [[1,2,3],[4,5,6],[7,8,9]], size 2 stride 1 → [[3,4],[6,7]];
    // gradient of the sum: each pixel gets (windows covering it)/4.
    let x = Var::new(&[[[[1f32, 2., 3.], [4., 5., 6.], [7., 8., 9.]]]], dev)?;
    let y = ops::avg_pool2d(x.as_tensor(), 2, 1)?;
    assert_eq!(y.flatten_all()?.to_vec1::<f32>()?, vec![3., 4., 6., 7.]);
    let g = y.sum_all()?.backward()?;
    let gx = g
        .get(&x)
        .expect("gradient")
        .flatten_all()?
        .to_vec1::<f32>()?;
    assert_eq!(gx, vec![0.25, 0.5, 0.25, 0.5, 1., 0.5, 0.25, 0.5, 0.25]);
    Ok(())
}

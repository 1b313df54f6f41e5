//! Augmentation against hand-checked 3×3 images, and determinism that does
//! not depend on the number of threads.
//!
//! Reference for the affine cases (Keras 2 / keras-preprocessing with
//! scipy.ndimage, order=1; note Keras' `tx` lands on the column axis):
//! ```python
//! import numpy as np
//! from keras.preprocessing.image import apply_affine_transform as t
//! x = np.arange(1, 10, dtype=float).reshape(3, 3, 1)
//! t(x, tx=1, row_axis=0, col_axis=1, channel_axis=2, fill_mode='nearest')[..., 0]
//! # [[2,3,3],[5,6,6],[8,9,9]]
//! t(x, tx=1, ..., fill_mode='constant')[..., 0]   # [[2,3,0],[5,6,0],[8,9,0]]
//! t(x, theta=90, ..., fill_mode='nearest')[..., 0] # np.rot90(x[..., 0]) = [[3,6,9],[2,5,8],[1,4,7]]
//! t(x, tx=2, ..., fill_mode='reflect')[..., 0]    # rows [3,3,2]: index 3 → 2, 4 → 1
//! t(x, tx=2, ..., fill_mode='wrap')[..., 0]       # rows [3,2,1]: scipy wrap has period n−1 = 2
//! t(x, tx=0.5, ..., fill_mode='nearest')[..., 0]  # rows [1.5,2.5,3] for [1,2,3]
//! ```

use dlp::data::augment::{self, AffineParams};
use dlp::plan::{AugmentPlan, FillMode};

fn img() -> Vec<f32> {
    (1..=9).map(|v| v as f32).collect()
}

fn run(p: AffineParams, fill: FillMode) -> Vec<f32> {
    let mut out = vec![f32::NAN; 9];
    augment::affine(&img(), &mut out, 1, 3, 3, &p, fill);
    out
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-4, "{a:?} != {b:?}");
    }
}

fn shift_col(s: f64) -> AffineParams {
    AffineParams {
        shift_col: s,
        ..AffineParams::IDENTITY
    }
}

#[test]
fn affine_table() {
    let rows: [(AffineParams, FillMode, [f32; 9]); 7] = [
        (
            AffineParams::IDENTITY,
            FillMode::Nearest,
            [1., 2., 3., 4., 5., 6., 7., 8., 9.],
        ),
        (
            shift_col(1.0),
            FillMode::Nearest,
            [2., 3., 3., 5., 6., 6., 8., 9., 9.],
        ),
        (
            shift_col(1.0),
            FillMode::Constant,
            [2., 3., 0., 5., 6., 0., 8., 9., 0.],
        ),
        (
            shift_col(2.0),
            FillMode::Reflect,
            [3., 3., 2., 6., 6., 5., 9., 9., 8.],
        ),
        (
            shift_col(2.0),
            FillMode::Wrap,
            [3., 2., 1., 6., 5., 4., 9., 8., 7.],
        ),
        (
            shift_col(0.5),
            FillMode::Nearest,
            [1.5, 2.5, 3., 4.5, 5.5, 6., 7.5, 8.5, 9.],
        ),
        (
            AffineParams {
                theta: 90.0,
                ..AffineParams::IDENTITY
            },
            FillMode::Nearest,
            [3., 6., 9., 2., 5., 8., 1., 4., 7.],
        ),
    ];
    for (p, fill, want) in rows {
        close(&run(p, fill), &want);
    }
}

#[test]
fn shift_rows_moves_content_up() {
    let p = AffineParams {
        shift_row: 1.0,
        ..AffineParams::IDENTITY
    };
    close(
        &run(p, FillMode::Nearest),
        &[4., 5., 6., 7., 8., 9., 7., 8., 9.],
    );
}

/// Zoom reads input = z·(output − centre) + centre, centre (n − 1)/2.
/// (Zoom 2 on a 3×3 image with `nearest` fill reads rows −1, 1, 3 →
/// clamped 0, 1, 2: the identity, so that case could not catch a zoom
/// being ignored; these can.)
#[test]
fn zoom_reads_around_the_centre() {
    // Zoom 2, constant fill: rows/cols −1, 1, 3; only (1, 1) is inside.
    let p = AffineParams {
        zoom_row: 2.0,
        zoom_col: 2.0,
        ..AffineParams::IDENTITY
    };
    close(
        &run(p, FillMode::Constant),
        &[0., 0., 0., 0., 5., 0., 0., 0., 0.],
    );
    // Zoom 1.5 on rows only, nearest fill, on the 5×5 ramp 5r + c + 1:
    // rows read 1.5·(r − 2) + 2 = −1, 0.5, 2, 3.5, 5 → clamped 0, 0.5, 2,
    // 3.5, 4; bilinear on a ramp is exact, so out = 5·row + c + 1.
    let ramp: Vec<f32> = (1..=25).map(|v| v as f32).collect();
    let p = AffineParams {
        zoom_row: 1.5,
        ..AffineParams::IDENTITY
    };
    let mut out = vec![f32::NAN; 25];
    augment::affine(&ramp, &mut out, 1, 5, 5, &p, FillMode::Nearest);
    close(
        &out,
        &[
            1., 2., 3., 4., 5., //
            3.5, 4.5, 5.5, 6.5, 7.5, //
            11., 12., 13., 14., 15., //
            18.5, 19.5, 20.5, 21.5, 22.5, //
            21., 22., 23., 24., 25.,
        ],
    );
    // Zoom 0.5 (zooming in), nearest: reads 0.5·(r − 1) + 1 = 0.5, 1, 1.5.
    let p = AffineParams {
        zoom_row: 0.5,
        zoom_col: 0.5,
        ..AffineParams::IDENTITY
    };
    close(
        &run(p, FillMode::Nearest),
        &[3., 3.5, 4., 4.5, 5., 5.5, 6., 6.5, 7.],
    );
}

#[test]
fn flips() {
    let mut x = img();
    augment::flip(&mut x, 1, 3, 3, true, false);
    assert_eq!(x, [3., 2., 1., 6., 5., 4., 9., 8., 7.]);
    let mut x = img();
    augment::flip(&mut x, 1, 3, 3, false, true);
    assert_eq!(x, [7., 8., 9., 4., 5., 6., 1., 2., 3.]);
}

#[test]
fn crop_of_zero_padded_image() {
    let mut out = vec![f32::NAN; 9];
    augment::crop(&img(), &mut out, 1, 3, 3, 3, 1, (0, 0));
    assert_eq!(out, [0., 0., 0., 0., 1., 2., 0., 4., 5.]);
    augment::crop(&img(), &mut out, 1, 3, 3, 3, 1, (2, 1));
    assert_eq!(out, [4., 5., 6., 7., 8., 9., 0., 0., 0.]);
}

#[test]
fn brightness_multiplies_and_clamps_to_pixel_range() {
    let plan = AugmentPlan {
        brightness: Some((2.0, 2.0)),
        ..Default::default()
    };
    let mut x = vec![10.0, 100.0, 200.0];
    augment::apply(&plan, 0, 0, &mut x, &mut Vec::new(), (1, 1, 3), 255.0);
    assert_eq!(x, [20.0, 200.0, 255.0]);
}

#[test]
fn draws_are_per_sample_and_per_epoch() {
    let plan = AugmentPlan {
        rotate: Some(15.0),
        shift: Some((0.1, 0.1)),
        zoom: Some(0.2),
        seed: 9,
        ..Default::default()
    };
    let d = |e, i| augment::draw(&plan, dlp::rng::derive(plan.seed, &[e, i]), 32, 32);
    assert_eq!(d(0, 5), d(0, 5));
    assert_ne!(d(0, 5), d(1, 5));
    assert_ne!(d(0, 5), d(0, 6));
    for i in 0..200 {
        let a = d(3, i).affine.unwrap();
        assert!(a.theta.abs() <= 15.0);
        assert!(a.shift_col.abs() <= 3.2 && a.shift_row.abs() <= 3.2);
        assert!((0.8..=1.2).contains(&a.zoom_row) && (0.8..=1.2).contains(&a.zoom_col));
    }
}

/// A general draw on a 5×5 image in every fill mode, against Keras'
/// `apply_affine_transform` run with scipy 1.17 (the function transcribed
/// from keras-preprocessing 1.1.2, `row_axis=0, col_axis=1, channel_axis=2`):
/// ```python
/// y = np.random.RandomState(0).randint(0, 256, size=(5, 5, 1)).astype(float)
/// apply_affine_transform(y, theta=17, tx=0.7, ty=-1.3, zx=0.9, zy=1.15, fill_mode=m)
/// ```
/// Keras' `tx`/`zx` act on columns, `ty`/`zy` on rows.
#[test]
fn general_affine_matches_keras_and_scipy() {
    let y: Vec<f32> = [
        172, 47, 117, 192, 67, 251, 195, 103, 9, 211, 21, 242, 36, 87, 70, 216, 88, 140, 58, 193,
        230, 39, 87, 174, 88,
    ]
    .iter()
    .map(|&v| v as f32)
    .collect();
    let p = AffineParams {
        theta: 17.0,
        shift_row: -1.3,
        shift_col: 0.7,
        zoom_row: 1.15,
        zoom_col: 0.9,
    };
    let table: [(FillMode, [f32; 25]); 4] = [
        (
            FillMode::Nearest,
            [
                117.0452, 181.5958, 101.7561, 67.0, 67.0, 93.5063, 156.3787, 143.7845, 84.9781,
                122.8695, 111.2443, 99.1007, 25.4267, 165.6045, 142.2296, 219.3977, 76.501,
                72.9359, 96.1329, 142.2605, 144.432, 116.9739, 110.8081, 117.007, 120.8404,
            ],
        ),
        (
            FillMode::Constant,
            [
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 111.2443, 99.1007, 25.4267,
                165.6045, 0.0, 219.3977, 76.501, 72.9359, 96.1329, 0.0, 144.432, 116.9739,
                110.8081, 117.007, 0.0,
            ],
        ),
        (
            FillMode::Reflect,
            [
                106.2671, 101.631, 114.3906, 67.0, 122.4125, 93.5063, 156.3787, 143.7845, 84.9781,
                122.6692, 111.2443, 99.1007, 25.4267, 165.6045, 142.2296, 219.3977, 76.501,
                72.9359, 96.1329, 142.2605, 144.432, 116.9739, 110.8081, 117.007, 120.8404,
            ],
        ),
        (
            FillMode::Wrap,
            [
                60.524, 74.6626, 136.2452, 140.8541, 96.4171, 105.2193, 118.3352, 136.5747,
                153.1858, 105.1867, 111.2443, 99.1007, 25.4267, 165.6045, 199.7968, 219.3977,
                76.501, 72.9359, 96.1329, 142.4994, 144.432, 116.9739, 110.8081, 117.007, 208.7675,
            ],
        ),
    ];
    for (fill, want) in table {
        let mut out = vec![f32::NAN; 25];
        augment::affine(&y, &mut out, 1, 5, 5, &p, fill);
        for (a, b) in out.iter().zip(want) {
            assert!((a - b).abs() < 1e-3, "{fill:?}: {out:?}");
        }
    }
}

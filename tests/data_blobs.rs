//! `make_blobs` statistics: the center box, the cluster std, per-center
//! counts (sklearn gives the first `samples % centers` centers one more)
//! and sklearn's final shuffle.
//!
//! Reference: sklearn.datasets.make_blobs(n_samples=10, centers=3) gives
//! centers 4, 3, 3 samples; centers ~ U(-10, 10) per feature.

use dlp::data::blobs::make_blobs;

#[test]
fn counts_spread_evenly_first_centers_take_the_rest() {
    let (_, y, _) = make_blobs(10, 3, 2, 1.0, 1).unwrap();
    let count = |k| y.iter().filter(|&&l| l == k).count();
    assert_eq!([count(0), count(1), count(2)], [4, 3, 3]);
}

#[test]
fn centers_in_box_std_and_shuffled() {
    let (x, y, centers) = make_blobs(30000, 3, 2, 2.0, 7).unwrap();
    for c in centers.iter().flatten() {
        assert!((-10.0..10.0).contains(c));
    }
    for k in 0..3u32 {
        let pts: Vec<&[f32]> = x
            .chunks(2)
            .zip(&y)
            .filter(|(_, l)| **l == k)
            .map(|(p, _)| p)
            .collect();
        assert_eq!(pts.len(), 10000);
        for f in 0..2 {
            let n = pts.len() as f64;
            let mean = pts.iter().map(|p| f64::from(p[f])).sum::<f64>() / n;
            let var = pts
                .iter()
                .map(|p| (f64::from(p[f]) - mean).powi(2))
                .sum::<f64>()
                / n;
            // Standard error of the mean 2/√10000 = 0.02; of σ ≈ 0.014.
            assert!((mean - centers[k as usize][f]).abs() < 0.08, "{mean}");
            assert!((var.sqrt() - 2.0).abs() < 0.06, "{}", var.sqrt());
        }
    }
    // Shuffled: not all of center 0 first.
    assert!(y[..10000].iter().any(|&l| l != 0));
    // Same seed, same data.
    assert_eq!(
        make_blobs(50, 3, 2, 2.0, 7).unwrap().0,
        make_blobs(50, 3, 2, 2.0, 7).unwrap().0
    );
}

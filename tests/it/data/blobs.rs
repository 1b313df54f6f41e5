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

// `source blobs … generator=numpy` against scikit-learn 1.9.1 on NumPy
// 2.4.6 (python3.11):
//
//     from sklearn.datasets import make_blobs
//     X, y, c = make_blobs(n_samples=1000, centers=3, n_features=2,
//                          cluster_std=2, random_state=2, return_centers=True)
//     print([repr(v) for v in c.ravel()])
//     for i in [0, 1, 2, 3, 4, 999]: print(repr(X[i, 0]), repr(X[i, 1]), y[i])
//     print(np.bincount(y), np.bincount(y[:800]), np.bincount(y[800:]))
//     s = 0.0
//     for v in X.ravel().tolist(): s += v        # sequential sum
//     print(repr(s), sum((i + 1) * l for i, l in enumerate(y.tolist())))
//     X2, y2 = make_blobs(n_samples=10, centers=4, n_features=3,
//                         cluster_std=0.5, random_state=4294967295)
//     for i in range(10): print(repr(X2[i, 0]), repr(X2[i, 1]), repr(X2[i, 2]), y2[i])
//
// Python's repr is the shortest text that reads back as the same double,
// so equality below is bit for bit.

use dlp::data::blobs::make_blobs_numpy;

#[test]
fn numpy_generator_is_scikit_learns_make_blobs_bit_for_bit() {
    let (x, y, centers) = make_blobs_numpy(1000, 3, 2, 2.0, 2).unwrap();
    assert_eq!(
        centers,
        [
            [-1.2801019571599248, -9.481475363442174],
            [0.9932495575741829, -1.293552147634463],
            [-1.5926439582502194, -3.3933035799225175],
        ]
    );
    let rows: &[(usize, f64, f64, u32)] = &[
        (0, 0.4871981127474787, -0.4316054814243375, 2),
        (1, -1.4895887915186194, -3.4791574150716293, 2),
        (2, -2.0625044401902253, -7.7330041875347355, 2),
        (3, -0.5136930302397951, -10.31546366119282, 0),
        (4, 0.5624012552965646, -2.182461690448445, 1),
        (999, -2.32988529140032, -10.661092730273328, 0),
    ];
    for &(i, a, b, label) in rows {
        assert_eq!((x[2 * i], x[2 * i + 1], y[i]), (a, b, label), "row {i}");
    }
    let count = |part: &[u32]| -> Vec<usize> {
        (0..3)
            .map(|k| part.iter().filter(|&&l| l == k).count())
            .collect()
    };
    assert_eq!(count(&y), [334, 333, 333]);
    // The book's split: the first 800 rows train, the last 200 test.
    assert_eq!(count(&y[..800]), [263, 270, 267]);
    assert_eq!(count(&y[800..]), [71, 63, 66]);
    let sum = x.iter().fold(0.0f64, |s, v| s + v);
    assert_eq!(sum, -5456.281100421169);
    let weighted: usize = y
        .iter()
        .enumerate()
        .map(|(i, &l)| (i + 1) * l as usize)
        .sum();
    assert_eq!(weighted, 495130);
}

/// Odd numbers of Gaussians per center (3 × 3 = 9 for the first), so the
/// cached second value of the polar method crosses from one center to the
/// next; the largest seed NumPy accepts.
#[test]
fn numpy_generator_carries_the_cached_gaussian_across_centers() {
    let (x, y, _) = make_blobs_numpy(10, 4, 3, 0.5, u32::MAX).unwrap();
    let want: [[f64; 3]; 10] = [
        [5.526880504066373, -10.114287791959434, 9.34329854085716],
        [0.4354145707016126, 10.089983395526753, -1.381785251835334],
        [6.26859267236594, -9.425542794328777, 10.067732605367876],
        [-7.545171210187404, 8.56984415866496, 5.0880167096567455],
        [1.1259425355642627, 9.815728875862714, -2.0046507718542226],
        [2.5682908819332857, -7.746973394715416, 7.647538798666779],
        [1.603072932897849, -7.091382967537106, 7.72640038348029],
        [-8.541474495551716, 7.974695549026657, 5.767626968969618],
        [-7.837332208762634, 8.964252740894151, 5.823748775079632],
        [5.399419009399856, -9.115045301048255, 9.406280667897223],
    ];
    let got: Vec<[f64; 3]> = x.chunks(3).map(|r| [r[0], r[1], r[2]]).collect();
    assert_eq!(got, want);
    assert_eq!(y, [1, 3, 1, 0, 3, 2, 2, 0, 0, 1]);
}

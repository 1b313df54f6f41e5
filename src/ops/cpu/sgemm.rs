//! A bounds-checked f32 matrix product on top of the `gemm` crate (the
//! kernel candle's own matmul uses), for the custom ops.
//!
//! `gemm` splits the work over blocks of the *output* only; every output
//! element is reduced over `k` in the same order whatever the thread count,
//! so results do not depend on how many threads run (tested in `conv`).

use gemm::Parallelism;

/// A read-only matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major matrix with row stride `ld`.
    pub(crate) fn rows(data: &'a [f32], ld: usize) -> Self {
        Self {
            data,
            rs: ld,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix with row stride `ld`.
    pub(crate) fn transposed(data: &'a [f32], ld: usize) -> Self {
        Self {
            data,
            rs: 1,
            cs: ld,
        }
    }

    fn check(&self, r: usize, c: usize) {
        if r > 0 && c > 0 {
            let last = (r - 1) * self.rs + (c - 1) * self.cs;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// How to split one product over threads.
pub(crate) fn parallelism(threads: usize) -> Parallelism {
    if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// `dst (m×n, row-major, row stride ldd) = [dst +] a (m×k) · b (k×n)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    ldd: usize,
    accumulate: bool,
    a: MatRef,
    b: MatRef,
    par: Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * ldd + n <= dst.len(),
        "gemm destination out of bounds"
    );
    // Rows that overlap would be written by two threads at once.
    assert!(
        m == 1 || ldd >= n,
        "gemm destination rows overlap: row stride {ldd} < row width {n}"
    );
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                dst[row * ldd..row * ldd + n].fill(0.0);
            }
        }
        return;
    }
    a.check(m, k);
    b.check(k, n);
    // SAFETY: every index the product touches was bounds-checked above;
    // `dst` is borrowed mutably so it aliases neither input; and its rows
    // do not overlap (row stride ≥ row width, checked above), so the
    // blocks of the output that `gemm` hands to different threads are
    // disjoint.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            ldd as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "gemm destination rows overlap: row stride 2 < row width 3")]
    fn overlapping_destination_rows_are_refused() {
        let (a, b) = ([1.0; 6], [1.0; 9]);
        let mut dst = [0.0; 7];
        sgemm(
            2,
            3,
            3,
            &mut dst,
            2,
            false,
            MatRef::rows(&a, 3),
            MatRef::rows(&b, 3),
            Parallelism::None,
        );
    }
}

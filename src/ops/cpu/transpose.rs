//! A cache-friendly transpose of a row-major f32 matrix.

/// `dst (cols × rows) = srcᵀ` for a row-major `src (rows × cols)`, by
/// blocks of 8 source rows so each destination row is written as one run.
pub(super) fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const B: usize = 8;
    let (src, dst) = (&src[..rows * cols], &mut dst[..rows * cols]);
    for r0 in (0..rows).step_by(B) {
        let r1 = (r0 + B).min(rows);
        let block = &src[r0 * cols..r1 * cols];
        for (c, out) in dst.chunks_exact_mut(rows).enumerate() {
            for (d, row) in out[r0..r1].iter_mut().zip(block.chunks_exact(cols)) {
                *d = row[c];
            }
        }
    }
}

//! Run outputs: CSVs, manifest, learning curves, diagnosis, diff, expectations, progress, tracing.

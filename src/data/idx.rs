//! MNIST's IDX format: a magic number (two zero bytes, a type byte, the
//! number of dimensions), big-endian u32 dimensions, then the data.
//! Gzipped files are recognised by their magic bytes, not their name.

use super::table::Values;
use super::table::{Names, Table};
use crate::error::{Error, Result};
use crate::plan::Shape;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// The dims and bytes of one IDX file of unsigned bytes.
#[derive(Debug)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads the file, gunzipping it when it is gzip, up to `limit` bytes of
/// the decompressed stream (`usize::MAX` for all of it).
fn read_bytes(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 2];
    let mut reader = std::io::BufReader::new(file);
    let n = reader.read(&mut head).map_err(|e| Error::io(path, e))?;
    let chained = std::io::Cursor::new(head[..n].to_vec()).chain(reader);
    let mut out = Vec::new();
    if is_gzip(&head[..n]) {
        GzDecoder::new(chained)
            .take(limit as u64)
            .read_to_end(&mut out)
            .map_err(|e| Error::file(path, format!("corrupt gzip data: {e}")))?;
    } else {
        chained
            .take(limit as u64)
            .read_to_end(&mut out)
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(out)
}

/// Parses the header; returns the dims and the header's length.
fn header(path: &Path, bytes: &[u8]) -> Result<(Vec<usize>, usize)> {
    if bytes.len() < 4 {
        return Err(Error::file(
            path,
            format!("{} bytes is too short for an IDX header", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::file(
            path,
            format!(
                "not an IDX file: starts with 0x{:02x} 0x{:02x}, expected 0x00 0x00",
                bytes[0], bytes[1]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(Error::file(
            path,
            format!(
                "IDX data type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
                bytes[2]
            ),
        ));
    }
    let rank = usize::from(bytes[3]);
    let len = 4 + 4 * rank;
    if rank == 0 || bytes.len() < len {
        return Err(Error::file(
            path,
            format!("truncated IDX header: {rank} dimensions need {len} bytes"),
        ));
    }
    let dims = (0..rank)
        .map(|i| {
            let b = &bytes[4 + 4 * i..8 + 4 * i];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    Ok((dims, len))
}

/// The dims of an IDX file, reading only its header.
pub fn read_dims(path: &Path) -> Result<Vec<usize>> {
    let bytes = read_bytes(path, 4 + 4 * 255)?;
    Ok(header(path, &bytes)?.0)
}

/// Reads a whole IDX file and checks its size against its header.
pub fn read(path: &Path) -> Result<Idx> {
    let mut bytes = read_bytes(path, usize::MAX)?;
    let (dims, len) = header(path, &bytes)?;
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let have = bytes.len() - len;
    if expected != Some(have) {
        let expected = expected.map_or("more than memory holds".to_string(), |e| e.to_string());
        let shape: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        return Err(Error::file(
            path,
            format!(
                "header says {} = {expected} data bytes but the file has {have}",
                shape.join("×")
            ),
        ));
    }
    bytes.drain(..len);
    Ok(Idx { dims, data: bytes })
}

/// The sample shape of an images file's dims: `(N, H, W)` is a grey
/// image, `(N, D)` a feature vector.
pub(crate) fn sample_shape(path: &Path, dims: &[usize]) -> Result<Shape> {
    if dims.len() > 1 && dims[1..].contains(&0) {
        return Err(Error::file(path, "a sample dimension is 0"));
    }
    match dims {
        [_, h, w] => Ok(Shape::Image {
            channels: 1,
            height: *h,
            width: *w,
        }),
        [_, d] => Ok(Shape::Flat(*d)),
        _ => Err(Error::file(
            path,
            format!(
                "{} dimensions: expected (count, height, width) images or (count, features)",
                dims.len()
            ),
        )),
    }
}

/// Reads an images file and its labels file into a table.
pub fn read_pair(images: &Path, labels: &Path) -> Result<(Table, Shape)> {
    let img = read(images)?;
    let shape = sample_shape(images, &img.dims)?;
    let lab = read(labels)?;
    if lab.dims.len() != 1 {
        return Err(Error::file(
            labels,
            format!(
                "{} dimensions: a labels file has one (count)",
                lab.dims.len()
            ),
        ));
    }
    if lab.dims[0] != img.dims[0] {
        return Err(Error::file(
            labels,
            format!(
                "{} labels but {} has {} samples",
                lab.dims[0],
                images.display(),
                img.dims[0]
            ),
        ));
    }
    Ok((
        Table {
            values: Values::U8(img.data),
            numel: shape.numel(),
            labels: lab.data.iter().map(|&l| u32::from(l)).collect(),
            names: Names::Records(vec![(images.display().to_string(), img.dims[0])]),
        },
        shape,
    ))
}

//! Reading and writing little-endian float32 `.npy` files (format version 1.0, C order), so
//! features can be diffed against a Python pipeline with `numpy.load`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::write_atomically;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Writes `data` with `shape` to `path` (atomically: the file appears complete or not at all).
pub fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let expected: usize = shape.iter().product();
    if expected != data.len() {
        return Err(Error::Internal(format!(
            "shape {shape:?} holds {expected} values but {} were given",
            data.len()
        )));
    }
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + header length (2) + header + newline: a multiple of 64.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * data.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for x in data {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    write_atomically(path, &bytes)
}

/// Reads a little-endian float32, C-order `.npy` file: `(shape, values)`.
pub fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: &str| Error::in_file(path, format!("not a float32 .npy file: {m}"));
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("missing the NUMPY magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(&format!("unsupported version {v}"))),
    };
    let header = std::str::from_utf8(
        bytes
            .get(start..start + header_len)
            .ok_or_else(|| bad("truncated header"))?,
    )
    .map_err(|_| bad("header is not text"))?;
    if !header.contains("'descr': '<f4'") {
        return Err(bad("dtype is not '<f4'"));
    }
    if header.contains("'fortran_order': True") {
        return Err(bad("Fortran order is not supported"));
    }
    let open = header.find("'shape': (").ok_or_else(|| bad("no shape"))? + 10;
    let close = open + header[open..].find(')').ok_or_else(|| bad("no shape"))?;
    let shape = header[open..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("bad shape")))
        .collect::<Result<Vec<_>>>()?;
    let body = &bytes[start + header_len..];
    let count: usize = shape.iter().product();
    if body.len() != 4 * count {
        return Err(bad(&format!(
            "shape {shape:?} needs {} bytes of data, found {}",
            4 * count,
            body.len()
        )));
    }
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((shape, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_and_has_an_aligned_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.5).collect();
        write_npy(&path, &[1, 2, 3], &data).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!((bytes.len() - 4 * 6) % 64, 0);
        assert_eq!(read_npy(&path).unwrap(), (vec![1, 2, 3], data));
        write_npy(&path, &[4], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(read_npy(&path).unwrap().0, vec![4]);
    }
}

//! FNV-1a 64: a small, stable, dependency-free hash of bytes. The same input gives the same
//! value on every machine, process and version, which is what config fingerprints, per-unit
//! seeds and shard assignment need (a `std` hasher promises none of that).

const OFFSET_BASIS: u64 = 0xcbf29ce484222325;
const PRIME: u64 = 0x100000001b3;

/// FNV-1a 64 of `bytes`.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(OFFSET_BASIS, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_input_hashes_to_the_offset_basis_and_one_byte_changes_everything() {
        assert_eq!(fnv1a([]), OFFSET_BASIS);
        assert_ne!(fnv1a(*b"track000"), fnv1a(*b"track001"));
        assert_eq!(fnv1a(*b"track000"), fnv1a(b"track000".iter().copied()));
    }
}

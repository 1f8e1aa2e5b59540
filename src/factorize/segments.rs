//! Temporal segmentation (spec §2): `n` fixed-length segments of `len / n` samples (integer
//! division; the trailing remainder lies outside every segment, as in the reference) or manual
//! `(start, end)` sample pairs.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the explained signal is cut in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Segmentation {
    /// The reference default: `min(len / sample_rate, 10)` segments (one per second, at most 10).
    #[default]
    Default,
    /// This many segments of equal length.
    FixedCount(usize),
    /// Explicit `[start, end)` sample ranges.
    Manual(Vec<(usize, usize)>),
}

/// The `[start, end)` sample range of every segment of a signal of `len` samples.
pub fn segment_bounds(
    len: usize,
    sample_rate: u32,
    segmentation: &Segmentation,
) -> Result<Vec<(usize, usize)>> {
    let count = match segmentation {
        Segmentation::Default => (len / sample_rate.max(1) as usize).clamp(1, 10),
        Segmentation::FixedCount(n) => *n,
        Segmentation::Manual(pairs) => {
            if pairs.is_empty() {
                return Err(Error::param(
                    "segments",
                    "manual segmentation needs at least one (start, end) pair",
                ));
            }
            for &(start, end) in pairs {
                if start >= end || end > len {
                    return Err(Error::param(
                        "segments",
                        format!("segment ({start}, {end}) is not a non-empty range inside the {len} samples of the audio"),
                    ));
                }
            }
            return Ok(pairs.clone());
        }
    };
    if count == 0 {
        return Err(Error::param("segments", "must be at least 1"));
    }
    if len < count {
        return Err(Error::param(
            "segments",
            format!("the audio has {len} samples, fewer than the {count} segments asked for; use fewer segments or longer audio"),
        ));
    }
    let per_segment = len / count;
    Ok((0..count)
        .map(|s| (s * per_segment, (s + 1) * per_segment))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_segments_use_integer_division_and_drop_the_remainder() {
        let bounds = segment_bounds(103, 10, &Segmentation::FixedCount(10)).unwrap();
        assert_eq!(bounds.len(), 10);
        assert_eq!(bounds[0], (0, 10));
        assert_eq!(bounds[9], (90, 100));
    }

    #[test]
    fn default_is_one_segment_per_second_up_to_ten() {
        assert_eq!(
            segment_bounds(35_000, 10_000, &Segmentation::Default)
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            segment_bounds(300_000, 10_000, &Segmentation::Default)
                .unwrap()
                .len(),
            10
        );
        assert_eq!(
            segment_bounds(5_000, 10_000, &Segmentation::Default)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn too_few_samples_or_bad_manual_ranges_are_rejected() {
        assert!(segment_bounds(5, 10, &Segmentation::FixedCount(10)).is_err());
        assert!(segment_bounds(50, 10, &Segmentation::FixedCount(0)).is_err());
        assert!(segment_bounds(50, 10, &Segmentation::Manual(vec![(10, 5)])).is_err());
        assert!(segment_bounds(50, 10, &Segmentation::Manual(vec![(0, 60)])).is_err());
        assert_eq!(
            segment_bounds(50, 10, &Segmentation::Manual(vec![(0, 5), (20, 50)])).unwrap(),
            vec![(0, 5), (20, 50)]
        );
    }
}

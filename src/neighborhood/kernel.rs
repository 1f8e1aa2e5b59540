//! Distances of perturbed samples to the explained instance and the kernels that turn them
//! into sample weights (spec §4).

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::statistics::ln_gamma;

/// The proximity kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// lime's exponential kernel `sqrt(exp(-d² / width²))` on the (scaled) cosine distance.
    #[default]
    Lime,
    /// The KernelSHAP coalition weighting `(M - 1) / (C(M, z) z (M - z))`, see [`kernelshap_weight`].
    Kernelshap,
}

impl Kernel {
    /// The kernel's name, as configs and flags spell it.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Lime => "lime",
            Kernel::Kernelshap => "kernelshap",
        }
    }

    /// Parses `lime` or `kernelshap`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "lime" => Ok(Kernel::Lime),
            "kernelshap" => Ok(Kernel::Kernelshap),
            other => Err(Error::param(
                "kernel",
                format!("unknown kernel `{other}`; use `lime` or `kernelshap`"),
            )),
        }
    }
}

/// Kernel parameters. Paper mode: width 25, distance scale 1 (lime's text explainer uses 100).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KernelParams {
    /// The kernel.
    pub kernel: Kernel,
    /// Width of the exponential kernel.
    pub kernel_width: f64,
    /// Factor applied to computed cosine distances (not to distances read from a file).
    pub distance_scale: f64,
}

impl Default for KernelParams {
    fn default() -> Self {
        KernelParams {
            kernel: Kernel::Lime,
            kernel_width: 25.0,
            distance_scale: 1.0,
        }
    }
}

/// Weight given to the empty and the full coalition by the KernelSHAP kernel, whose exact
/// weight is infinite, relative to the mean weight (1) of the other rows.
pub(crate) const KERNELSHAP_ENDPOINT_WEIGHT: f64 = 1e6;

impl KernelParams {
    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        if !(self.kernel_width.is_finite() && self.kernel_width > 0.0) {
            return Err(Error::param(
                "kernel_width",
                format!("is {}; it must be a positive number", self.kernel_width),
            ));
        }
        if !(self.distance_scale.is_finite() && self.distance_scale > 0.0) {
            return Err(Error::param(
                "distance_scale",
                format!("is {}; it must be a positive number", self.distance_scale),
            ));
        }
        Ok(())
    }

    /// Sample weights for binary `masks`. `given_distances`, when present (e.g. read from a
    /// neighbourhood file), are used as they are; otherwise cosine distances to row 0 are
    /// computed and multiplied by `distance_scale`.
    pub fn weights(
        &self,
        masks: ArrayView2<f64>,
        given_distances: Option<&Array1<f64>>,
    ) -> Result<Array1<f64>> {
        self.check()?;
        match self.kernel {
            Kernel::Lime => {
                let distances = match given_distances {
                    Some(d) => d.clone(),
                    None => cosine_distances_to_first(masks) * self.distance_scale,
                };
                Ok(distances.mapv(|d| exponential_kernel(d, self.kernel_width)))
            }
            Kernel::Kernelshap => Ok(kernelshap_weights(masks)),
        }
    }
}

/// lime's kernel: `sqrt(exp(-d² / width²))`.
pub(crate) fn exponential_kernel(distance: f64, width: f64) -> f64 {
    (-(distance * distance) / (width * width)).exp().sqrt()
}

/// Cosine distance of every row to row 0, clipped to `[0, 2]` as scikit-learn does. A row
/// with zero norm (nothing switched on) has distance 1.
pub(crate) fn cosine_distances_to_first(rows: ArrayView2<f64>) -> Array1<f64> {
    let first = rows.row(0);
    let first_norm = first.dot(&first).sqrt();
    rows.rows()
        .into_iter()
        .map(|row| {
            let norm = row.dot(&row).sqrt();
            if norm == 0.0 || first_norm == 0.0 {
                return 1.0;
            }
            let similarity = row.dot(&first) / (norm * first_norm);
            (1.0 - similarity).clamp(0.0, 2.0)
        })
        .collect()
}

/// The Shapley kernel weight of a coalition of `z` of `m` features:
/// `(m - 1) / (C(m, z) z (m - z))`, computed in log space; infinite for `z = 0` or `z = m`.
pub fn kernelshap_weight(m: usize, z: usize) -> f64 {
    if z == 0 || z >= m {
        return f64::INFINITY;
    }
    let ln_choose =
        ln_gamma(m as f64 + 1.0) - ln_gamma(z as f64 + 1.0) - ln_gamma((m - z) as f64 + 1.0);
    ((m as f64 - 1.0).ln() - ln_choose - (z as f64).ln() - ((m - z) as f64).ln()).exp()
}

/// KernelSHAP weights for every row, rescaled so the finite ones average 1; the empty and
/// full coalitions (infinite weight) get [`KERNELSHAP_ENDPOINT_WEIGHT`].
pub(crate) fn kernelshap_weights(masks: ArrayView2<f64>) -> Array1<f64> {
    let m = masks.ncols();
    let raw: Vec<f64> = masks
        .rows()
        .into_iter()
        .map(|row| kernelshap_weight(m, row.iter().filter(|v| **v != 0.0).count()))
        .collect();
    let finite: Vec<f64> = raw.iter().copied().filter(|w| w.is_finite()).collect();
    let mean = if finite.is_empty() {
        1.0
    } else {
        finite.iter().sum::<f64>() / finite.len() as f64
    };
    raw.into_iter()
        .map(|w| {
            if w.is_finite() {
                w / mean
            } else {
                KERNELSHAP_ENDPOINT_WEIGHT
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cosine_distance_of_binary_rows_to_all_ones() {
        let rows = array![
            [1.0, 1.0, 1.0, 1.0],
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0]
        ];
        let d = cosine_distances_to_first(rows.view());
        assert!(d[0].abs() < 1e-15);
        assert!((d[1] - 0.5).abs() < 1e-15); // 1 - 1/sqrt(4)
        assert_eq!(d[2], 1.0);
    }

    #[test]
    fn paper_kernel_is_nearly_flat() {
        let w = exponential_kernel(1.0, 25.0);
        assert!((w - (-1.0f64 / 625.0).exp().sqrt()).abs() < 1e-15);
        assert!(w > 0.9991);
    }

    #[test]
    fn kernelshap_weight_matches_the_closed_form() {
        // m = 4, z = 1: 3 / (4 * 1 * 3) = 0.25; z = 2: 3 / (6 * 2 * 2) = 0.125.
        assert!((kernelshap_weight(4, 1) - 0.25).abs() < 1e-12);
        assert!((kernelshap_weight(4, 2) - 0.125).abs() < 1e-12);
        assert!(kernelshap_weight(4, 0).is_infinite() && kernelshap_weight(4, 4).is_infinite());
        assert!(kernelshap_weight(400, 200).is_finite());
    }

    #[test]
    fn bad_kernel_parameters_are_rejected() {
        assert!(KernelParams {
            kernel_width: 0.0,
            ..Default::default()
        }
        .check()
        .is_err());
        assert!(KernelParams {
            distance_scale: f64::NAN,
            ..Default::default()
        }
        .check()
        .is_err());
    }
}

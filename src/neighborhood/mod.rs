//! A neighbourhood: the binary masks of the perturbed samples (row 0 = the unperturbed
//! instance), the model's class probabilities for each, optional distances, and optional
//! feature and class metadata. Saved as Parquet so surrogates and metrics can be refitted
//! without calling the model again.

pub mod io;
pub mod kernel;
pub mod sampler;

use ndarray::{Array1, Array2};

use crate::error::{Error, Result};
use crate::features::Feature;

/// Masks, model outputs and metadata of one explained instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighborhood {
    /// `n x d` binary masks; row 0 is all ones.
    pub masks: Array2<u8>,
    /// `n x c` model outputs (class probabilities).
    pub probs: Array2<f64>,
    /// Distances to row 0, when they were stored (used as given).
    pub distances: Option<Array1<f64>>,
    /// One entry per mask column, when known.
    pub features: Option<Vec<Feature>>,
    /// One name per probability column, when known.
    pub classes: Option<Vec<String>>,
}

impl Neighborhood {
    /// A neighbourhood without metadata.
    pub fn new(masks: Array2<u8>, probs: Array2<f64>) -> Self {
        Neighborhood {
            masks,
            probs,
            distances: None,
            features: None,
            classes: None,
        }
    }

    /// Number of rows (samples, including row 0).
    pub fn num_samples(&self) -> usize {
        self.masks.nrows()
    }

    /// Number of features (mask columns).
    pub fn num_features(&self) -> usize {
        self.masks.ncols()
    }

    /// Number of model outputs (probability columns).
    pub fn num_classes(&self) -> usize {
        self.probs.ncols()
    }

    /// The masks as floating-point data for the surrogate.
    pub fn data(&self) -> Array2<f64> {
        self.masks.mapv(f64::from)
    }

    /// Checks every invariant; `origin` (a file name) is used in error messages.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let (n, d) = self.masks.dim();
        if n == 0 {
            return Err(Error::input(
                origin,
                "the neighbourhood has no rows; it needs at least row 0 (the unperturbed instance)",
            ));
        }
        if d == 0 {
            return Err(Error::input(
                origin,
                "the neighbourhood has no mask columns (`mask_0`, `mask_1`, ...)",
            ));
        }
        if self.probs.ncols() == 0 {
            return Err(Error::input(
                origin,
                "the neighbourhood has no probability columns (`prob_0`, `prob_1`, ...)",
            ));
        }
        if self.probs.nrows() != n {
            return Err(Error::input(
                origin,
                format!("{n} mask rows but {} probability rows", self.probs.nrows()),
            ));
        }
        if let Some((j, v)) = self.masks.row(0).iter().enumerate().find(|(_, v)| **v != 1) {
            return Err(Error::input(
                origin,
                format!(
                    "row 0 must be all ones (it is the unperturbed instance), but mask_{j} is {v}"
                ),
            ));
        }
        for ((i, j), v) in self.masks.indexed_iter() {
            if *v > 1 {
                return Err(Error::input(
                    origin,
                    format!("masks must be 0 or 1, but mask_{j} is {v} in row {i}"),
                ));
            }
        }
        for ((i, k), p) in self.probs.indexed_iter() {
            if !p.is_finite() {
                return Err(Error::input(
                    origin,
                    format!("prob_{k} is {p} in row {i}; model outputs must be finite"),
                ));
            }
        }
        if let Some(distances) = &self.distances {
            if distances.len() != n {
                return Err(Error::input(
                    origin,
                    format!("{n} rows but {} distances", distances.len()),
                ));
            }
            if let Some((i, v)) = distances
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(Error::input(
                    origin,
                    format!("distance is {v} in row {i}; distances must be finite and >= 0"),
                ));
            }
        }
        if let Some(features) = &self.features {
            if features.len() != d {
                return Err(Error::input(
                    origin,
                    format!(
                        "{} feature descriptions for {d} mask columns",
                        features.len()
                    ),
                ));
            }
        }
        if let Some(classes) = &self.classes {
            if classes.len() != self.probs.ncols() {
                return Err(Error::input(
                    origin,
                    format!(
                        "{} class names for {} probability columns",
                        classes.len(),
                        self.probs.ncols()
                    ),
                ));
            }
        }
        Ok(())
    }
}

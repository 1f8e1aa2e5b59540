//! The fast path: each audio component's linear transform, computed once per instance, so a
//! perturbed sample's features are a sum of stored spectra followed by the non-linear part.
//!
//! A component is non-zero only in its time segment, so only the frames that segment reaches
//! are stored and added: the cost per sample is proportional to the selected components'
//! length, with no composition, resampling or FFT.

use rayon::prelude::*;

use super::{AudioFrontend, Linear};
use crate::error::Result;
use crate::factorize::Factorization;

/// The linear transforms of every component of one factorization, for one frontend.
pub struct ComponentSpectra<'a> {
    frontend: &'a AudioFrontend,
    /// Per component: first row and its rows.
    components: Vec<(usize, Linear)>,
    units: usize,
    stride: usize,
}

impl<'a> ComponentSpectra<'a> {
    /// Transforms every component of `audio` (in parallel; the result does not depend on the
    /// thread count).
    pub fn new(frontend: &'a AudioFrontend, audio: &dyn Factorization) -> Result<Self> {
        let len = frontend.fitted_len(audio.signal_len(), audio.sample_rate());
        let units = frontend.linear_units(len);
        let stride = frontend.linear_stride();
        let components = (0..audio.len())
            .into_par_iter()
            .map(|k| {
                let mut wave = vec![0.0f32; audio.signal_len()];
                audio.add_component(k, &mut wave);
                let fitted = frontend.fit_length(&wave, audio.sample_rate())?;
                Ok(frontend.linear_support(&fitted))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ComponentSpectra {
            frontend,
            components,
            units,
            stride,
        })
    }

    /// The linear part of the composition that keeps the components `mask` selects.
    pub fn linear(&self, mask: &[bool]) -> Linear {
        let mut sum = Linear::zeros(self.units, self.stride);
        for ((first, rows), _) in self.components.iter().zip(mask).filter(|(_, &on)| on) {
            let start = first * self.stride;
            for (acc, x) in sum.data[start..start + rows.data.len()]
                .iter_mut()
                .zip(&rows.data)
            {
                *acc += x;
            }
        }
        sum
    }

    /// The features of the composition that keeps the components `mask` selects.
    pub fn features(&self, mask: &[bool]) -> Vec<f32> {
        self.frontend.finish(&self.linear(mask))
    }

    /// Floats stored for all components (a measure of the memory used).
    pub fn stored_floats(&self) -> usize {
        self.components.iter().map(|(_, l)| l.data.len()).sum()
    }
}

//! Waveform separators (`kind: waveform`, Demucs's form): the mixture is cut into chunks of
//! `segment` samples starting every `(1 − overlap) · segment` samples (the last padded with
//! zeros), the graph writes each stem's samples for each chunk, and overlapping chunks are
//! cross-faded with triangle weights `min(i + 1, segment − i)` (demucs's `apply_model` weights
//! with `transition_power` 1), normalised by the weights' sum at every sample. Stems are the
//! mean of the channels. At most `max_batch` chunks go to one ONNX Runtime run.

use super::spec::DEFAULT_OVERLAP;
use super::OnnxSeparator;
use crate::error::Result;

/// Chunk starts for `len` samples: every `hop` from 0 while the start is inside the signal.
pub(crate) fn chunk_starts(len: usize, hop: usize) -> Vec<usize> {
    (0..len.max(1)).step_by(hop.max(1)).collect()
}

/// The cross-fade weight of each sample of a chunk.
pub(crate) fn crossfade(segment: usize) -> Vec<f32> {
    (0..segment)
        .map(|i| (i + 1).min(segment - i) as f32)
        .collect()
}

impl OnnxSeparator {
    /// Each stem's samples at the separator's rate (`mix`'s length).
    pub(super) fn waveform_stems(&mut self, mix: &[f32]) -> Result<Vec<Vec<f32>>> {
        let (channels, stems) = (self.spec.channels, self.spec.stems.len());
        let segment = self.spec.segment.unwrap_or(mix.len()).max(2);
        let overlap = self.spec.overlap.unwrap_or(DEFAULT_OVERLAP);
        let hop = (((1.0 - overlap) * segment as f64) as usize).max(1);
        let starts = chunk_starts(mix.len(), hop);
        let weights = crossfade(segment);
        let mut sums = vec![vec![0.0f64; mix.len()]; stems];
        let mut total = vec![0.0f64; mix.len()];
        for batch in starts.chunks(self.spec.max_batch.max(1)) {
            let mut input = vec![0.0f32; batch.len() * channels * segment];
            for (b, &start) in batch.iter().enumerate() {
                let end = (start + segment).min(mix.len());
                for c in 0..channels {
                    let at = (b * channels + c) * segment;
                    input[at..at + end - start].copy_from_slice(&mix[start..end]);
                }
            }
            let shape = vec![batch.len(), channels, segment];
            let what = format!("{} chunk(s) of {segment} samples", batch.len());
            let output = self.run_graph(input, shape, &what)?;
            for (b, &start) in batch.iter().enumerate() {
                let end = (start + segment).min(mix.len());
                for (i, sample) in (start..end).enumerate() {
                    total[sample] += weights[i] as f64;
                }
                for (s, sum) in sums.iter_mut().enumerate() {
                    for c in 0..channels {
                        let at = ((b * stems + s) * channels + c) * segment;
                        for (i, sample) in (start..end).enumerate() {
                            sum[sample] += (weights[i] * output[at + i]) as f64 / channels as f64;
                        }
                    }
                }
            }
        }
        Ok(sums
            .into_iter()
            .map(|sum| {
                sum.iter()
                    .zip(&total)
                    .map(|(v, w)| (v / w.max(f64::MIN_POSITIVE)) as f32)
                    .collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_signal_and_weights_are_a_triangle() {
        assert_eq!(chunk_starts(10, 3), vec![0, 3, 6, 9]);
        assert_eq!(chunk_starts(0, 3), vec![0]);
        assert_eq!(crossfade(4), vec![1.0, 2.0, 2.0, 1.0]);
        assert_eq!(crossfade(5), vec![1.0, 2.0, 3.0, 2.0, 1.0]);
    }
}

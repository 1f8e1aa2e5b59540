//! Audio: decoding files of any common format to mono ([`decode`]), resampling
//! ([`resample`]), and writing WAV ([`wav`]).

pub mod decode;
pub mod resample;
pub mod stft;
pub mod wav;

use crate::error::{Error, Result};

/// A mono signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples in [-1, 1] (nominally; nothing is clipped).
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Audio {
    /// A signal from samples and a rate.
    pub fn new(samples: Vec<f32>, sample_rate: u32) -> Self {
        Audio {
            samples,
            sample_rate,
        }
    }

    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }

    /// The part starting `offset_s` seconds in and lasting `duration_s` seconds (to the end when
    /// `None`). `origin` names the file in error messages.
    pub fn crop(&self, offset_s: f64, duration_s: Option<f64>, origin: &str) -> Result<Audio> {
        if !(offset_s.is_finite() && offset_s >= 0.0) {
            return Err(Error::param(
                "offset",
                format!("is {offset_s}; it must be >= 0 seconds"),
            ));
        }
        let start = (offset_s * self.sample_rate as f64).round() as usize;
        if start >= self.samples.len() {
            return Err(Error::input(
                origin,
                format!(
                    "offset {offset_s} s is past the end of the audio ({:.3} s long)",
                    self.duration_s()
                ),
            ));
        }
        let end = match duration_s {
            Some(d) if !(d.is_finite() && d > 0.0) => {
                return Err(Error::param(
                    "duration",
                    format!("is {d}; it must be a positive number of seconds"),
                ))
            }
            Some(d) => {
                (start + (d * self.sample_rate as f64).round() as usize).min(self.samples.len())
            }
            None => self.samples.len(),
        };
        Ok(Audio::new(
            self.samples[start..end].to_vec(),
            self.sample_rate,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_takes_the_requested_span_and_rejects_a_late_offset() {
        let audio = Audio::new((0..100).map(|i| i as f32).collect(), 10);
        let part = audio.crop(2.0, Some(3.0), "x").unwrap();
        assert_eq!(part.samples.first(), Some(&20.0));
        assert_eq!(part.samples.len(), 30);
        assert_eq!(audio.crop(9.5, Some(3.0), "x").unwrap().samples.len(), 5);
        assert!(audio.crop(10.0, None, "x").is_err());
        assert!(audio.crop(1.0, Some(0.0), "x").is_err());
    }
}

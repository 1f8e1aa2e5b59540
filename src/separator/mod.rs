//! Source separation by an ONNX graph described in a `separator.yaml` ([`spec`]): the
//! mixture's stems (vocals, accompaniment, …) for the stems factorization and for listening
//! (`musiclime separate`).
//!
//! A spectrogram-mask separator (Spleeter, Open-Unmix) runs in three parts: musiclime computes
//! the STFT of the mixture and the magnitudes of its lowest `bins` bins, cut into chunks of
//! `frames` frames (the last zero-padded) and sent `max_batch` chunks per ONNX Runtime run (the
//! cap on its memory, whatever the song's length); the graph estimates each stem's magnitude;
//! musiclime turns the estimates into ratio masks `(e_s^p + eps / 2) / (Σ e^p + eps)`, applies
//! them to the complex STFT (bins above `bins` belong to no stem) and inverts it. The mono
//! mixture goes to every channel the graph reads, and each stem is the mean of its channels
//! (the STFT is linear, so that is the inverse of the channel-averaged mask).

pub mod spec;
mod waveform;
mod wiener;

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::{Tensor, ValueType};

use crate::audio::resample::resample;
use crate::audio::stft::Stft;
use crate::audio::wav::{write_wav, WavEncoding};
use crate::audio::Audio;
use crate::error::{Error, Result};
use crate::factorize::window::ExplainedSpan;
use crate::factorize::{segment_sources, SourceSegments, STEMS_FILE};
use crate::fs::write_directory_atomically;
use crate::model::onnx::providers::{session_builder, SessionSettings};
use crate::model::onnx::spec::ExecutionProvider;
use realfft::num_complex::Complex;
use spec::{MaskKind, SpectrogramLayout};
pub use spec::{SeparatorKind, SeparatorSpec};

/// Residuals (mixture − Σ stems) louder than this, relative to the mixture, get a warning.
pub const RESIDUAL_WARNING_DB: f64 = -40.0;

/// The ONNX metadata key in which an exported separator names the sample rate it expects.
pub const GRAPH_SAMPLE_RATE: &str = "sample_rate";

/// A loaded separator.
pub struct OnnxSeparator {
    path: PathBuf,
    spec: SeparatorSpec,
    session: Session,
}

/// A mixture's stems.
#[derive(Debug, Clone)]
pub struct Separated {
    /// `(stem, samples)` in the separator's order, at the mixture's rate and length.
    pub stems: Vec<(String, Vec<f32>)>,
    /// Their sample rate (the mixture's).
    pub sample_rate: u32,
    /// Level of mixture − Σ stems relative to the mixture, in dB (−∞ when they sum exactly).
    pub residual_db: f64,
}

impl Separated {
    /// A warning when the stems do not sum to the mixture (the explained signal is their sum,
    /// not the mixture, as in the reference).
    pub fn residual_note(&self, separator: &Path) -> Option<String> {
        (self.residual_db > RESIDUAL_WARNING_DB).then(|| {
            format!(
                "the stems of {} sum to the mixture only within {:.1} dB (the residual's level relative to the mixture; e.g. the bins the separator does not model): explanations compose the stems, so that part of the mixture is in none of them",
                separator.display(),
                self.residual_db
            )
        })
    }
}

/// Separates `audio` with the separator.yaml at `path` and splits the `span` of each stem into
/// `segments` time segments (what `explain --separator` and the notebook's
/// `Explainer::separator` explain); with the note to show when the stems do not sum to the
/// mixture.
pub fn separate_into_segments(
    path: &Path,
    audio: &Audio,
    segments: usize,
    span: &ExplainedSpan,
) -> Result<(SourceSegments, Option<String>)> {
    let separated = OnnxSeparator::load(path)?.separate(audio)?;
    let note = separated.residual_note(path);
    let factorization = segment_sources(separated.stems, audio.sample_rate, segments, span)
        .map_err(|e| Error::in_file(path, e.to_string()))?;
    Ok((factorization, note))
}

impl Separated {
    /// Writes the stems into the directory `dir`, all or nothing: `<stem>.wav` (mono float32)
    /// each, the decoded `mixture` as `mixture.wav` when given, and `stems.json` (the stems'
    /// names, the separator, the residual), so that `dir` is a stems directory any
    /// factorization reads (`--stems DIR`, a manifest's `stems` column).
    pub fn write(&self, dir: &Path, separator: &Path, mixture: Option<&Audio>) -> Result<()> {
        write_directory_atomically(dir, |tmp| {
            for (name, samples) in &self.stems {
                let stem = Audio::new(samples.clone(), self.sample_rate);
                write_wav(
                    &tmp.join(format!("{name}.wav")),
                    &stem,
                    WavEncoding::Float32,
                )?;
            }
            if let Some(audio) = mixture {
                write_wav(&tmp.join("mixture.wav"), audio, WavEncoding::Float32)?;
            }
            let names: Vec<&str> = self.stems.iter().map(|(n, _)| n.as_str()).collect();
            let info = serde_json::json!({
                "stems": names,
                "separator": separator.display().to_string(),
                "sample_rate": self.sample_rate,
                "residual_db": self.residual_db,
            });
            let text = serde_json::to_string_pretty(&info)
                .map_err(|e| Error::serialization(STEMS_FILE, e))?;
            crate::fs::write_atomically(&tmp.join(STEMS_FILE), text.as_bytes())
        })
    }
}

impl OnnxSeparator {
    /// Loads `path` (a separator.yaml) and its graph, checking the graph's input and output
    /// against the spec.
    pub fn load(path: &Path) -> Result<Self> {
        let spec = SeparatorSpec::load(path)?;
        let env = crate::model::onnx::runtime::environment()?;
        let settings = SessionSettings {
            provider: ExecutionProvider::Cpu,
            threads: None,
            cpu_arena: true,
            optimization: None,
        };
        let session = session_builder(env, settings, &spec.onnx)?
            .commit_from_file(&spec.onnx)
            .map_err(|e| {
                Error::in_file(
                    &spec.onnx,
                    format!("ONNX Runtime could not load the separator: {e}"),
                )
            })?;
        let separator = OnnxSeparator {
            path: path.to_path_buf(),
            spec,
            session,
        };
        separator.check_graph()?;
        Ok(separator)
    }

    /// The spec.
    pub fn spec(&self) -> &SeparatorSpec {
        &self.spec
    }

    /// The graph reads `input` and writes `output`, float32, with the spec's fixed dimensions,
    /// at the spec's sample rate when the graph's metadata names one.
    fn check_graph(&self) -> Result<()> {
        self.check_sample_rate()?;
        let spec = &self.spec;
        let find = |outlets: &[ort::value::Outlet], name: &str, what: &str| {
            let names: Vec<&str> = outlets.iter().map(|o| o.name()).collect();
            outlets
                .iter()
                .find(|o| o.name() == name)
                .map(|o| o.dtype().clone())
                .ok_or_else(|| {
                    Error::in_file(
                        &self.path,
                        format!("`{what}: {name}`: the graph has no such {what}; it has {names:?}"),
                    )
                })
        };
        let input = find(self.session.inputs(), &spec.input, "input")?;
        let output = find(self.session.outputs(), &spec.output, "output")?;
        check_shape(&self.path, &spec.input, &input, &spec.input_shape())?;
        check_shape(&self.path, &spec.output, &output, &spec.output_shape())
    }

    /// The graph's metadata `sample_rate` (written by musiclime's exporters; a graph without it
    /// is not checked) equals the spec's: a separator run at another rate than it was trained
    /// for gives wrong stems without any other sign.
    fn check_sample_rate(&self) -> Result<()> {
        let declared = self
            .session
            .metadata()
            .ok()
            .and_then(|m| m.custom(GRAPH_SAMPLE_RATE));
        let Some(declared) = declared else {
            return Ok(());
        };
        match declared.trim().parse::<u32>() {
            Ok(rate) if rate == self.spec.sample_rate => Ok(()),
            Ok(rate) => Err(Error::in_file(
                &self.path,
                format!(
                    "`sample_rate: {}`, but {} was exported for {rate} Hz (its metadata `{GRAPH_SAMPLE_RATE}`); set `sample_rate: {rate}`",
                    self.spec.sample_rate,
                    self.spec.onnx.display()
                ),
            )),
            Err(_) => Err(Error::in_file(
                &self.spec.onnx,
                format!("the metadata `{GRAPH_SAMPLE_RATE}` is {declared:?}, not a whole number of Hz"),
            )),
        }
    }

    /// Separates `audio` into the spec's stems (at `audio`'s rate and length).
    pub fn separate(&mut self, audio: &Audio) -> Result<Separated> {
        let rate = self.spec.sample_rate;
        let mix = match audio.sample_rate == rate {
            true => audio.clone(),
            false => resample(audio, rate)?,
        };
        let separated = match self.spec.kind {
            SeparatorKind::SpectrogramMask => self.spectrogram_stems(&mix.samples)?,
            SeparatorKind::Waveform => self.waveform_stems(&mix.samples)?,
        };
        let mut stems = Vec::with_capacity(self.spec.stems.len());
        for (name, samples) in self.spec.stems.iter().zip(separated) {
            let mut stem = match audio.sample_rate == rate {
                true => samples,
                false => resample(&Audio::new(samples, rate), audio.sample_rate)?.samples,
            };
            stem.resize(audio.samples.len(), 0.0);
            stems.push((name.clone(), stem));
        }
        Ok(Separated {
            residual_db: residual_db(&audio.samples, &stems),
            stems,
            sample_rate: audio.sample_rate,
        })
    }

    /// Each stem's samples at the separator's rate: the mixture's STFT, the stems' spectrograms
    /// from the graph's estimates, the inverse STFT.
    fn spectrogram_stems(&mut self, mix: &[f32]) -> Result<Vec<Vec<f32>>> {
        let spec = self.spec.stft;
        let stft = Stft::with_padding(spec.n_fft, spec.hop, spec.pad);
        let spectrum = stft.forward(mix);
        let spectra = self.stem_spectra(&spectrum.frames)?;
        let bins = spec.bins;
        let stems = (0..self.spec.stems.len())
            .map(|s| {
                stft.inverse_with(
                    spectrum.frames.len(),
                    |t, buffer| {
                        for (f, slot) in buffer.iter_mut().enumerate() {
                            *slot = match f < bins {
                                true => spectra.value(s, t * bins + f, spectrum.frames[t][f]),
                                false => Default::default(),
                            };
                        }
                    },
                    mix.len(),
                )
            })
            .collect();
        Ok(stems)
    }

    /// Each stem's spectrogram: masks of the mixture, or (`mask.wiener`) the Wiener filter's
    /// output.
    fn stem_spectra(&mut self, frames: &[Vec<Complex<f32>>]) -> Result<StemSpectra> {
        let spec = self.spec.clone();
        let (bins, channels, stems) = (spec.stft.bins, spec.channels, spec.stems.len());
        match spec.mask.wiener {
            None => {
                let mut masks = vec![vec![0.0f32; frames.len() * bins]; stems];
                self.estimate(frames, |separator, estimates, done| {
                    separator.add_masks(estimates, done, frames, &mut masks)
                })?;
                Ok(StemSpectra::Masks(masks))
            }
            Some(w) => {
                let mut magnitudes = vec![0.0f32; stems * channels * frames.len() * bins];
                self.estimate(frames, |separator, estimates, done| {
                    separator.keep_estimates(estimates, done, frames.len(), &mut magnitudes)
                })?;
                let input = wiener::WienerInput {
                    mixture: frames,
                    magnitudes: &magnitudes,
                    stems,
                    channels,
                    bins,
                };
                let filtered =
                    wiener::wiener_stems(&input, w.iterations, w.window_frames, spec.mask.eps);
                Ok(StemSpectra::Filtered(filtered))
            }
        }
    }

    /// Runs the graph on the mixture's magnitudes chunk by chunk (at most `max_batch` chunks
    /// per run) and hands each run's estimates to `sink`.
    fn estimate(
        &mut self,
        frames: &[Vec<Complex<f32>>],
        mut sink: impl FnMut(&Self, &[f32], Chunks),
    ) -> Result<()> {
        let (bins, channels) = (self.spec.stft.bins, self.spec.channels);
        let chunk = self.spec.frames.unwrap_or(frames.len()).max(1);
        let chunks = frames.len().div_ceil(chunk);
        let mut first = 0;
        while first < chunks {
            let batch = self.spec.max_batch.min(chunks - first);
            let mut input = vec![0.0f32; batch * channels * chunk * bins];
            for b in 0..batch {
                for t in 0..chunk {
                    let Some(frame) = frames.get((first + b) * chunk + t) else {
                        break;
                    };
                    for c in 0..channels {
                        let base = (b * channels + c) * chunk * bins;
                        for (f, x) in frame[..bins].iter().enumerate() {
                            input[base + self.spec.cell(t, f, chunk)] = x.norm();
                        }
                    }
                }
            }
            let estimates = self.run(input, batch, chunk)?;
            let done = Chunks {
                first,
                batch,
                size: chunk,
            };
            sink(self, &estimates, done);
            first += batch;
        }
        Ok(())
    }

    /// Copies the estimated magnitudes of the chunks `done` into `magnitudes`
    /// (`[stem][channel][frame][bin]` over `frames` frames).
    fn keep_estimates(
        &self,
        estimates: &[f32],
        done: Chunks,
        frames: usize,
        magnitudes: &mut [f32],
    ) {
        let spec = &self.spec;
        let (bins, channels, stems, size) =
            (spec.stft.bins, spec.channels, spec.stems.len(), done.size);
        for b in 0..done.batch {
            for t in 0..size {
                let frame = (done.first + b) * size + t;
                if frame >= frames {
                    break;
                }
                for s in 0..stems {
                    for c in 0..channels {
                        let from = ((b * stems + s) * channels + c) * size * bins;
                        let to = ((s * channels + c) * frames + frame) * bins;
                        for f in 0..bins {
                            magnitudes[to + f] = estimates[from + spec.cell(t, f, size)];
                        }
                    }
                }
            }
        }
    }

    /// One ONNX Runtime run on `batch` spectrogram chunks of `chunk` frames; the estimates.
    fn run(&mut self, input: Vec<f32>, batch: usize, chunk: usize) -> Result<Vec<f32>> {
        let spec = &self.spec;
        let shape = match spec.layout {
            SpectrogramLayout::FramesBins => vec![batch, spec.channels, chunk, spec.stft.bins],
            SpectrogramLayout::BinsFrames => vec![batch, spec.channels, spec.stft.bins, chunk],
        };
        let what = format!("{batch} chunk(s) of {chunk} frames");
        self.run_graph(input, shape, &what)
    }

    /// One ONNX Runtime run of the graph on `input` of `shape` (`[batch, channels, …]`); its
    /// output, `stems` values for each input value, checked finite. `what` names the run.
    fn run_graph(&mut self, input: Vec<f32>, shape: Vec<usize>, what: &str) -> Result<Vec<f32>> {
        let spec = &self.spec;
        let fail = |e: &dyn std::fmt::Display| {
            Error::in_file(&spec.onnx, format!("ONNX Runtime failed to separate: {e}"))
        };
        let tensor = Tensor::from_array((shape.clone(), input)).map_err(|e| fail(&e))?;
        let outputs = self
            .session
            .run(vec![(spec.input.clone(), tensor.into_dyn())])
            .map_err(|e| fail(&e))?;
        let (_, data) = outputs[spec.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| fail(&e))?;
        let expected = spec.stems.len() * shape.iter().product::<usize>();
        if data.len() != expected {
            return Err(Error::in_file(
                &self.path,
                format!("the graph wrote {} values for {what}; {} stems of input {shape:?} need {expected}", data.len(), spec.stems.len()),
            ));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::in_file(
                &self.path,
                format!(
                    "the separator wrote {} (value {i} of a run); its estimates must be finite",
                    data[i]
                ),
            ));
        }
        Ok(data.to_vec())
    }

    /// Adds the channel-averaged masks of the chunks `done`: the ratio of the estimates, or
    /// each estimate over the mixture's magnitude (the mixture's phase).
    fn add_masks(
        &self,
        estimates: &[f32],
        done: Chunks,
        frames: &[Vec<Complex<f32>>],
        masks: &mut [Vec<f32>],
    ) {
        let spec = &self.spec;
        let (bins, channels, stems) = (spec.stft.bins, spec.channels, spec.stems.len());
        let (power, eps, size) = (spec.mask.power, spec.mask.eps, done.size);
        let at = |b: usize, s: usize, c: usize, t: usize, f: usize| {
            ((b * stems + s) * channels + c) * size * bins + spec.cell(t, f, size)
        };
        let mut energy = vec![0.0f64; stems];
        for b in 0..done.batch {
            for t in 0..size {
                let frame = (done.first + b) * size + t;
                let Some(mixture) = frames.get(frame) else {
                    break;
                };
                for c in 0..channels {
                    for f in 0..bins {
                        for (s, e) in energy.iter_mut().enumerate() {
                            *e = estimates[at(b, s, c, t, f)] as f64;
                        }
                        let total: f64 = match spec.mask.kind {
                            MaskKind::Ratio => {
                                energy.iter().map(|x| x.powf(power)).sum::<f64>() + eps
                            }
                            MaskKind::MixturePhase => 0.0,
                        };
                        let share = |e: f64| match spec.mask.kind {
                            MaskKind::Ratio => (e.powf(power) + eps / 2.0) / total,
                            MaskKind::MixturePhase => {
                                let norm = mixture[f].norm() as f64;
                                if norm > 0.0 {
                                    e / norm
                                } else {
                                    0.0
                                }
                            }
                        };
                        for (s, e) in energy.iter().enumerate() {
                            masks[s][frame * bins + f] += (share(*e) / channels as f64) as f32;
                        }
                    }
                }
            }
        }
    }
}

/// Each stem's spectrogram, `[frame * bins + bin]` of the modelled bins.
enum StemSpectra {
    /// Real masks of the mixture.
    Masks(Vec<Vec<f32>>),
    /// The Wiener filter's complex estimates.
    Filtered(Vec<Vec<Complex<f32>>>),
}

impl StemSpectra {
    /// Stem `s` at cell `i`, given the mixture's value there.
    fn value(&self, s: usize, i: usize, mixture: Complex<f32>) -> Complex<f32> {
        match self {
            StemSpectra::Masks(masks) => mixture * masks[s][i],
            StemSpectra::Filtered(stems) => stems[s][i],
        }
    }
}

/// Chunks `first..first + batch` of `size` frames each.
#[derive(Debug, Clone, Copy)]
struct Chunks {
    first: usize,
    batch: usize,
    size: usize,
}

/// Level of `mixture − Σ stems` relative to `mixture`, in dB.
fn residual_db(mixture: &[f32], stems: &[(String, Vec<f32>)]) -> f64 {
    let (mut residual, mut power) = (0.0f64, 0.0f64);
    for (i, &x) in mixture.iter().enumerate() {
        let sum: f64 = stems.iter().map(|(_, s)| s[i] as f64).sum();
        residual += (x as f64 - sum).powi(2);
        power += (x as f64).powi(2);
    }
    10.0 * (residual / power.max(f64::MIN_POSITIVE)).log10()
}

/// The graph's `name` is float32 with the spec's fixed dimensions (`None`: any).
fn check_shape(path: &Path, name: &str, found: &ValueType, want: &[Option<usize>]) -> Result<()> {
    let ValueType::Tensor { ty, shape, .. } = found else {
        return Err(Error::in_file(path, format!("`{name}` is not a tensor")));
    };
    let dims: Vec<i64> = shape.to_vec();
    let fits = *ty == ort::value::TensorElementType::Float32
        && dims.len() == want.len()
        && dims
            .iter()
            .zip(want)
            .all(|(&d, w)| d < 0 || w.is_none_or(|w| d as usize == w));
    if !fits {
        let want: Vec<String> = want
            .iter()
            .map(|w| w.map_or("batch".to_string(), |w| w.to_string()))
            .collect();
        return Err(Error::in_file(
            path,
            format!(
                "the graph's `{name}` is {ty:?} {dims:?} (-1 = any), the spec says float32 [{}]; fix stems, channels, frames or stft.bins",
                want.join(", ")
            ),
        ));
    }
    Ok(())
}

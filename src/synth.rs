//! The synthetic benchmark: tracks whose class evidence is planted in known audio components
//! and lyric words, so an explanation can be scored against the truth.
//!
//! Every track has four stems that sum to the mixture, each in its own frequency band:
//! `bass` (sines, 40–120 Hz), `other` (chord pads, 180–360 Hz), `vocals` (formant-shaped
//! harmonic tones, 500–2000 Hz, in syllables) and `drums` (band-limited noise bursts,
//! 3–7 kHz). Each source plays quietly everywhere; class `c` is indicated by source
//! `CLASS_SOURCES[c]` played loud (20 dB up) in two or three random segments (of
//! [`SEGMENTS`] equal segments), and by two of the class's words in the lyrics. Every fourth
//! track's lyrics carry another class's words instead, so its modalities disagree. The label is
//! the audio's class, which carries more evidence and is what the planted model predicts. The
//! manifest's `tags` column names the loud source, the tag a tagger of the four sources should
//! find.
//!
//! Everything is drawn from ChaCha8 streams seeded by `(seed, track index)`, so the files are
//! byte-for-byte identical for a seed on any machine.

use std::collections::BTreeMap;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

use crate::audio::wav::{write_wav, WavEncoding};
use crate::audio::Audio;
use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// The source whose loud segments indicate each class.
pub const CLASS_SOURCES: [&str; 4] = ["drums", "vocals", "bass", "other"];
/// Words that indicate each class.
pub const CLASS_WORDS: [[&str; 3]; 4] = [
    ["fire", "burn", "flame"],
    ["ocean", "wave", "tide"],
    ["moon", "star", "dream"],
    ["road", "wheel", "engine"],
];
/// Words that indicate nothing.
pub const NEUTRAL_WORDS: [&str; 24] = [
    "we", "you", "the", "and", "walk", "talk", "all", "day", "long", "come", "home", "again",
    "hold", "on", "to", "this", "feeling", "never", "let", "go", "time", "is", "our", "song",
];
/// Number of equal time segments the planted evidence is placed in (and the planted model reads).
pub const SEGMENTS: usize = 10;
/// Amplitude of a source playing quietly, and loudly (20 dB up).
pub(crate) const QUIET: f32 = 0.02;
/// See [`QUIET`].
pub(crate) const LOUD: f32 = 0.2;

/// Parameters of `musiclime synth`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthParams {
    /// Number of tracks.
    pub tracks: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Track length in seconds.
    pub seconds: f64,
    /// Sample rate of the written WAV files.
    pub sample_rate: u32,
    /// Number of classes (2 to 4).
    pub classes: usize,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            tracks: 12,
            seed: 0,
            seconds: 10.0,
            sample_rate: 16_000,
            classes: 3,
        }
    }
}

/// The planted truth of one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedTruth {
    /// The class.
    pub label: usize,
    /// Audio components carrying evidence (`drums3`, …), in segment order.
    pub audio: Vec<String>,
    /// Lyric words carrying evidence (possibly another class's, when modalities disagree).
    pub words: Vec<String>,
}

/// One generated track.
#[derive(Debug, Clone)]
pub struct SynthTrack {
    /// Identifier (`track000`, …).
    pub id: String,
    /// The four stems, in [`crate::factorize::DEFAULT_SOURCES`] order.
    pub stems: Vec<(String, Vec<f32>)>,
    /// The lyrics.
    pub lyrics: String,
    /// The truth.
    pub truth: PlantedTruth,
}

impl SynthTrack {
    /// The mixture (sum of the stems).
    pub fn mixture(&self) -> Vec<f32> {
        let mut mix = vec![0.0f32; self.stems[0].1.len()];
        for (_, stem) in &self.stems {
            for (m, s) in mix.iter_mut().zip(stem) {
                *m += s;
            }
        }
        mix
    }
}

impl SynthParams {
    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        if self.tracks == 0 {
            return Err(Error::param("tracks", "must be at least 1"));
        }
        if !(2..=4).contains(&self.classes) {
            return Err(Error::param(
                "classes",
                format!(
                    "is {}; the synthetic benchmark has 2 to 4 classes (one per source)",
                    self.classes
                ),
            ));
        }
        if !(self.seconds.is_finite() && self.seconds >= 1.0 && self.seconds <= 600.0) {
            return Err(Error::param(
                "seconds",
                format!("is {}; use 1 to 600 seconds", self.seconds),
            ));
        }
        if !(8_000..=192_000).contains(&self.sample_rate) {
            return Err(Error::param(
                "sample_rate",
                format!(
                    "is {}; use 8000 to 192000 Hz (drums need content up to 7 kHz)",
                    self.sample_rate
                ),
            ));
        }
        Ok(())
    }

    /// Generates track `index`.
    pub fn track(&self, index: usize) -> SynthTrack {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(index as u64 + 1);
        let rate = self.sample_rate as f32;
        let len = (self.seconds * self.sample_rate as f64).round() as usize;
        let segment_len = len / SEGMENTS;
        let label = index % self.classes;
        let loud_count = rng.random_range(2..=3);
        let mut loud: Vec<usize> =
            rand::seq::index::sample(&mut rng, SEGMENTS, loud_count).into_vec();
        loud.sort_unstable();
        let class_source = CLASS_SOURCES[label];
        let amplitude = |source: &str, segment: usize| -> f32 {
            if source == class_source && loud.contains(&segment) {
                LOUD
            } else {
                QUIET
            }
        };
        let envelope = |source: &str, i: usize| -> f32 {
            let segment = (i / segment_len.max(1)).min(SEGMENTS - 1);
            amplitude(source, segment)
        };
        let stems = source_signals(&mut rng, len, rate, segment_len, &envelope);
        let (lyrics, class_words) = self.lyrics(&mut rng, index, label);
        SynthTrack {
            id: format!("track{index:03}"),
            stems,
            lyrics,
            truth: PlantedTruth {
                label,
                audio: loud.iter().map(|s| format!("{class_source}{s}")).collect(),
                words: class_words.iter().map(|w| w.to_string()).collect(),
            },
        }
    }

    /// The lyrics of track `index` with class `label`: four neutral lines carrying two class
    /// words (another class's on every fourth track), and those words.
    fn lyrics(
        &self,
        rng: &mut ChaCha8Rng,
        index: usize,
        label: usize,
    ) -> (String, Vec<&'static str>) {
        // Lyrics: neutral lines with two class words; every fourth track disagrees.
        let word_class = if index % 4 == 3 {
            (label + 1) % self.classes
        } else {
            label
        };
        let class_words: Vec<&str> = rand::seq::index::sample(rng, 3, 2)
            .into_iter()
            .map(|k| CLASS_WORDS[word_class][k])
            .collect();
        let mut lines = Vec::new();
        for line in 0..4 {
            let mut words: Vec<&str> = (0..rng.random_range(5..8))
                .map(|_| NEUTRAL_WORDS[rng.random_range(0..NEUTRAL_WORDS.len())])
                .collect();
            if let Some(word) = class_words.get(line) {
                let at = rng.random_range(0..=words.len());
                words.insert(at, word);
            }
            lines.push(words.join(" "));
        }
        let mut lyrics = lines.join("\n");
        lyrics.push('\n');
        (lyrics, class_words)
    }

    /// Writes every track under `dir`: `<id>/mixture.wav`, `<id>/stems/<source>.wav`,
    /// `<id>/lyrics.txt`, plus `manifest.csv` and `ground_truth.json`. Each file is written
    /// atomically; the manifest and ground truth last.
    pub fn write(&self, dir: &Path) -> Result<Vec<SynthTrack>> {
        self.check()?;
        // `tags`: the source played loud, for multi-label taggers of the four sources.
        let mut manifest = String::from("id,audio,lyrics,stems,label,tags\n");
        let mut truth = BTreeMap::new();
        let mut tracks = Vec::new();
        for index in 0..self.tracks {
            let track = self.track(index);
            let base = dir.join(&track.id);
            for (name, stem) in &track.stems {
                write_wav(
                    &base.join("stems").join(format!("{name}.wav")),
                    &Audio::new(stem.clone(), self.sample_rate),
                    WavEncoding::Float32,
                )?;
            }
            write_wav(
                &base.join("mixture.wav"),
                &Audio::new(track.mixture(), self.sample_rate),
                WavEncoding::Float32,
            )?;
            write_atomically(&base.join("lyrics.txt"), track.lyrics.as_bytes())?;
            manifest.push_str(&format!(
                "{0},{0}/mixture.wav,{0}/lyrics.txt,{0}/stems,{1},{2}\n",
                track.id, track.truth.label, CLASS_SOURCES[track.truth.label]
            ));
            truth.insert(track.id.clone(), track.truth.clone());
            tracks.push(track);
        }
        let json = serde_json::to_string_pretty(&truth)
            .map_err(|e| Error::serialization("ground_truth.json", e))?;
        write_atomically(
            &dir.join("ground_truth.json"),
            format!("{json}\n").as_bytes(),
        )?;
        write_atomically(&dir.join("manifest.csv"), manifest.as_bytes())?;
        let stamp = serde_json::to_string_pretty(self)
            .map_err(|e| Error::serialization(SYNTH_PARAMS_FILE, e))?;
        write_atomically(
            &dir.join(SYNTH_PARAMS_FILE),
            format!("{stamp}\n").as_bytes(),
        )?;
        Ok(tracks)
    }

    /// Whether `dir` holds the tracks these parameters generate (its `synthetic.json`, written
    /// last by [`SynthParams::write`], matches), so that a changed config regenerates them.
    pub(crate) fn written_in(&self, dir: &Path) -> bool {
        std::fs::read_to_string(dir.join(SYNTH_PARAMS_FILE))
            .ok()
            .and_then(|text| serde_json::from_str::<SynthParams>(&text).ok())
            .is_some_and(|written| written == *self)
    }
}

/// The file in a generated dataset's directory that records its [`SynthParams`].
pub(crate) const SYNTH_PARAMS_FILE: &str = "synthetic.json";

/// The four sources of a track, in order vocals, drums, bass, other, each scaled by
/// `envelope(source, sample)` (the random draws in a fixed order, so a seed gives the same
/// track).
fn source_signals(
    rng: &mut ChaCha8Rng,
    len: usize,
    rate: f32,
    segment_len: usize,
    envelope: &dyn Fn(&str, usize) -> f32,
) -> Vec<(String, Vec<f32>)> {
    let two_pi = 2.0 * std::f32::consts::PI;
    // bass: a sine whose pitch changes every segment.
    let bass_pitches: Vec<f32> = (0..SEGMENTS)
        .map(|_| rng.random_range(45.0..100.0))
        .collect();
    let mut phase = 0.0f32;
    let bass: Vec<f32> = (0..len)
        .map(|i| {
            let segment = (i / segment_len.max(1)).min(SEGMENTS - 1);
            phase = (phase + two_pi * bass_pitches[segment] / rate) % two_pi;
            envelope("bass", i) * phase.sin()
        })
        .collect();
    // other: a three-note chord pad per segment with a slow swell.
    let chords: Vec<[f32; 3]> = (0..SEGMENTS)
        .map(|_| {
            let root = rng.random_range(180.0..240.0);
            [root, root * 1.26, root * 1.5]
        })
        .collect();
    let other: Vec<f32> = (0..len)
        .map(|i| {
            let segment = (i / segment_len.max(1)).min(SEGMENTS - 1);
            let t = i as f32 / rate;
            let swell = 0.75 + 0.25 * (two_pi * 0.5 * t).sin();
            let pad: f32 = chords[segment]
                .iter()
                .map(|f| (two_pi * f * t).sin())
                .sum::<f32>()
                / 3.0;
            envelope("other", i) * swell * pad
        })
        .collect();
    // vocals: syllables of a harmonic tone (f0 500-650 Hz) shaped by a formant near 1 kHz.
    let f0s: Vec<f32> = (0..SEGMENTS * 4)
        .map(|_| rng.random_range(500.0..650.0))
        .collect();
    let syllable_len = (segment_len / 4).max(1);
    let vocals: Vec<f32> = (0..len)
        .map(|i| {
            let syllable = (i / syllable_len).min(f0s.len() - 1);
            let within = (i % syllable_len) as f32 / syllable_len as f32;
            let gate = (std::f32::consts::PI * within).sin().powi(2);
            let t = i as f32 / rate;
            let f0 = f0s[syllable];
            let mut voice = 0.0;
            for h in 1..=3 {
                let f = f0 * h as f32;
                let formant = (-((f - 1000.0) / 600.0).powi(2)).exp();
                voice += formant * (two_pi * f * t).sin();
            }
            envelope("vocals", i) * gate * voice
        })
        .collect();
    // drums: 3-7 kHz noise (random phases, synthesised in the frequency domain) in bursts.
    let noise = band_noise(rng, len, rate, 3000.0, 7000.0);
    let beat = (rate * 0.25) as usize;
    let drums: Vec<f32> = (0..len)
        .map(|i| {
            let decay = (-((i % beat.max(1)) as f32) / (0.03 * rate)).exp();
            envelope("drums", i) * decay * noise[i]
        })
        .collect();
    vec![
        ("vocals".to_string(), vocals),
        ("drums".to_string(), drums),
        ("bass".to_string(), bass),
        ("other".to_string(), other),
    ]
}

/// White noise limited to `[low, high]` Hz, unit RMS, of `len` samples.
fn band_noise(rng: &mut ChaCha8Rng, len: usize, rate: f32, low: f32, high: f32) -> Vec<f32> {
    let mut planner = RealFftPlanner::<f32>::new();
    let inverse = planner.plan_fft_inverse(len.max(2));
    let mut spectrum = inverse.make_input_vec();
    let bins = spectrum.len();
    for (k, bin) in spectrum.iter_mut().enumerate() {
        let f = k as f32 * rate / len.max(2) as f32;
        *bin = if f >= low && f <= high && k > 0 && k + 1 < bins {
            let phase = rng.random_range(0.0..(2.0 * std::f32::consts::PI));
            Complex::from_polar(1.0, phase)
        } else {
            Complex::new(0.0, 0.0)
        };
    }
    let mut out = inverse.make_output_vec();
    inverse
        .process(&mut spectrum, &mut out)
        .expect("buffer lengths come from the plan");
    out.truncate(len);
    let rms = (out.iter().map(|x| x * x).sum::<f32>() / len.max(1) as f32).sqrt();
    if rms > 0.0 {
        for x in &mut out {
            *x /= rms;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_are_deterministic_and_stems_sum_to_the_mixture() {
        let params = SynthParams {
            tracks: 2,
            seconds: 2.0,
            ..Default::default()
        };
        let a = params.track(1);
        let b = params.track(1);
        assert_eq!(a.stems, b.stems);
        assert_eq!(a.lyrics, b.lyrics);
        assert_eq!(a.truth, b.truth);
        assert_ne!(params.track(0).stems, a.stems);
        let mix = a.mixture();
        assert_eq!(mix.len(), 32_000);
        assert!(
            a.truth.audio.iter().all(|c| c.starts_with("vocals")),
            "class 1 is vocals: {:?}",
            a.truth.audio
        );
        assert_eq!(a.truth.words.len(), 2);
        for w in &a.truth.words {
            assert!(a.lyrics.contains(w.as_str()));
        }
    }

    #[test]
    fn every_fourth_track_has_disagreeing_lyrics() {
        let params = SynthParams::default();
        let t = params.track(3);
        assert_eq!(t.truth.label, 0);
        assert!(CLASS_WORDS[1].contains(&t.truth.words[0].as_str()));
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(SynthParams {
            classes: 5,
            ..Default::default()
        }
        .check()
        .is_err());
        assert!(SynthParams {
            tracks: 0,
            ..Default::default()
        }
        .check()
        .is_err());
        assert!(SynthParams {
            sample_rate: 4000,
            ..Default::default()
        }
        .check()
        .is_err());
    }
}

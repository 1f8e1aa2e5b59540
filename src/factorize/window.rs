//! Which part of a track is explained: the window the model reads, the whole clip, or a span
//! the user names (`audio_window: model | all | START..END`, seconds).
//!
//! A model that reads a fixed length of audio (AST reads 1024 frames, 10.26 s) cannot hear the
//! rest of a longer clip, yet LIME's regression gives the segments there weight all the same:
//! noise presented as explanation. A model that declares its window (`window_seconds` in
//! model.yaml) is therefore explained on that window by default, and segments divide it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::audio::Audio;
use crate::error::{Error, Result};

/// Which part of a track the explanation covers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum AudioWindow {
    /// The window the model declares it reads (from the start of the clip); the whole clip
    /// for models that declare none.
    #[default]
    Model,
    /// The whole clip, even where the model cannot hear it.
    All,
    /// From `start` to `end` seconds into the clip.
    Span {
        /// Start, seconds.
        start: f64,
        /// End, seconds.
        end: f64,
    },
}

impl AudioWindow {
    /// Whether this is the default (`model`).
    pub fn is_default(&self) -> bool {
        *self == AudioWindow::Model
    }
}

impl fmt::Display for AudioWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudioWindow::Model => f.write_str("model"),
            AudioWindow::All => f.write_str("all"),
            AudioWindow::Span { start, end } => write!(f, "{start}..{end}"),
        }
    }
}

impl FromStr for AudioWindow {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        match text {
            "model" => return Ok(AudioWindow::Model),
            "all" => return Ok(AudioWindow::All),
            _ => {}
        }
        let wrong = || {
            format!("`{text}` is not a window; write `model` (the model's window), `all` (the whole clip) or START..END in seconds, e.g. 0..10.24")
        };
        let (start, end) = text.split_once("..").ok_or_else(wrong)?;
        let start: f64 = start.trim().parse().map_err(|_| wrong())?;
        let end: f64 = end.trim().parse().map_err(|_| wrong())?;
        if !(start.is_finite() && end.is_finite() && start >= 0.0 && end > start) {
            return Err(format!(
                "`{text}`: a window needs 0 <= START < END (seconds)"
            ));
        }
        Ok(AudioWindow::Span { start, end })
    }
}

impl Serialize for AudioWindow {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AudioWindow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The span of a clip an explanation covers, resolved for one clip and one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExplainedSpan {
    /// What was asked for.
    pub window: AudioWindow,
    /// Start of the explained audio, seconds into the clip.
    pub start_s: f64,
    /// End of the explained audio, seconds into the clip.
    pub end_s: f64,
    /// Length of the whole clip, seconds.
    pub clip_s: f64,
    /// The audio the model reads, seconds from the start of its input (`None`: the model
    /// declares no window).
    pub model_window_s: Option<f64>,
}

impl ExplainedSpan {
    /// Resolves `window` for a clip of `clip_s` seconds and a model that reads
    /// `model_window_s` seconds; a span outside the clip is an error naming `origin`.
    pub fn resolve(
        window: AudioWindow,
        model_window_s: Option<f64>,
        clip_s: f64,
        origin: &str,
    ) -> Result<ExplainedSpan> {
        let (start_s, end_s) = match window {
            AudioWindow::All => (0.0, clip_s),
            AudioWindow::Model => (0.0, model_window_s.map_or(clip_s, |w| w.min(clip_s))),
            AudioWindow::Span { start, end } => {
                // A millisecond of slack: a window written to the clip's printed length.
                if end > clip_s + 1e-3 || start + 1e-3 >= clip_s {
                    return Err(Error::input(
                        origin,
                        format!("audio_window {window} ends after the clip ({clip_s:.3} s long); choose a window inside it"),
                    ));
                }
                (start, end.min(clip_s))
            }
        };
        Ok(ExplainedSpan {
            window,
            start_s,
            end_s,
            clip_s,
            model_window_s,
        })
    }

    /// The whole of `audio`, as `audio_window: all` resolves it.
    pub fn whole_clip(audio: &Audio) -> ExplainedSpan {
        ExplainedSpan {
            window: AudioWindow::All,
            start_s: 0.0,
            end_s: audio.duration_s(),
            clip_s: audio.duration_s(),
            model_window_s: None,
        }
    }

    /// Whether the span is the whole clip (nothing to cut).
    pub fn is_whole_clip(&self) -> bool {
        self.start_s == 0.0 && self.end_s >= self.clip_s
    }

    /// Length of the explained audio, seconds.
    pub fn seconds(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// The explained part of `audio` (a copy of `audio` when it is the whole clip); an empty
    /// part is an error naming `origin`.
    pub fn cut(&self, audio: &Audio, origin: &str) -> Result<Audio> {
        let samples = self.cut_samples(&audio.samples, audio.sample_rate);
        if samples.is_empty() {
            return Err(Error::input(
                origin,
                format!(
                    "audio_window {} holds no audio of the {:.3} s clip",
                    self.window, self.clip_s
                ),
            ));
        }
        Ok(Audio::new(samples, audio.sample_rate))
    }

    /// The explained samples of a signal at `rate` (the mixture, or a stem of the same clip):
    /// samples `round(start · rate)` to `round(end · rate)`, so the mixture and its stems are
    /// cut alike.
    pub fn cut_samples(&self, samples: &[f32], rate: u32) -> Vec<f32> {
        if self.is_whole_clip() {
            return samples.to_vec();
        }
        let at = |s: f64| ((s * rate as f64).round() as usize).min(samples.len());
        samples[at(self.start_s)..at(self.end_s).max(at(self.start_s))].to_vec()
    }

    /// What the user should know about this span for `model`: the clip was cut to the model's
    /// window, or explained audio runs past what the model hears (its segments there cannot
    /// change the output). `None` when the model hears all of it.
    pub fn note(&self, model: &str) -> Option<String> {
        let heard = self.model_window_s?;
        if self.seconds() <= heard + 1e-3 {
            return (!self.is_whole_clip() && self.window == AudioWindow::Model).then(|| {
                format!(
                    "{model} reads {heard:.2} s of audio; explaining the first {:.2} s of the {:.2} s clip (audio_window: all explains the whole clip, START..END another part)",
                    self.end_s, self.clip_s
                )
            });
        }
        Some(format!(
            "{model} reads only {heard:.2} s of audio, but audio_window {} explains {:.2} s ({:.2} to {:.2} s of the clip): segments after {:.2} s cannot change its output, and any weight they get is noise (audio_window: model explains what it reads)",
            self.window,
            self.seconds(),
            self.start_s,
            self.end_s,
            self.start_s + heard
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_print_and_refuse_nonsense() {
        assert_eq!("model".parse::<AudioWindow>(), Ok(AudioWindow::Model));
        assert_eq!("all".parse::<AudioWindow>(), Ok(AudioWindow::All));
        let span: AudioWindow = " 2.5..12.5 ".parse().unwrap();
        assert_eq!(
            span,
            AudioWindow::Span {
                start: 2.5,
                end: 12.5
            }
        );
        assert_eq!(span.to_string(), "2.5..12.5");
        for bad in ["first", "5..2", "-1..3", "1..", "a..b", "3..3"] {
            assert!(bad.parse::<AudioWindow>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_window_is_the_models_and_a_span_must_lie_in_the_clip() {
        let model = ExplainedSpan::resolve(AudioWindow::Model, Some(10.0), 30.0, "x").unwrap();
        assert_eq!((model.start_s, model.end_s), (0.0, 10.0));
        assert!(model.note("ast").unwrap().contains("first 10.00 s"));
        let short = ExplainedSpan::resolve(AudioWindow::Model, Some(10.0), 6.0, "x").unwrap();
        assert!(short.is_whole_clip() && short.note("ast").is_none());
        let none = ExplainedSpan::resolve(AudioWindow::Model, None, 30.0, "x").unwrap();
        assert!(none.is_whole_clip() && none.note("m").is_none());
        let all = ExplainedSpan::resolve(AudioWindow::All, Some(10.0), 30.0, "x").unwrap();
        assert!(all.note("ast").unwrap().contains("after 10.00 s"));
        let late = AudioWindow::Span {
            start: 25.0,
            end: 31.0,
        };
        assert!(ExplainedSpan::resolve(late, Some(10.0), 30.0, "x").is_err());
        let after = AudioWindow::Span {
            start: 30.0,
            end: 30.0005,
        };
        assert!(ExplainedSpan::resolve(after, None, 30.0, "x").is_err());
        let inside = AudioWindow::Span {
            start: 5.0,
            end: 15.0,
        };
        let span = ExplainedSpan::resolve(inside, Some(10.0), 30.0, "x").unwrap();
        assert!(span.note("ast").is_none());
        let samples: Vec<f32> = (0..300).map(|i| i as f32).collect();
        assert_eq!(span.cut_samples(&samples, 10), samples[50..150].to_vec());
    }
}

//! Precomputed stems: a directory with one audio file per source (`vocals.wav`, `drums.wav`,
//! … as Demucs or Open-Unmix write them).

use std::path::{Path, PathBuf};

use crate::audio::decode::decode_file;
use crate::audio::resample::resample;
use crate::error::{Error, Result};

/// The reference's sources, in its order (Open-Unmix).
pub const DEFAULT_SOURCES: [&str; 4] = ["vocals", "drums", "bass", "other"];

/// Extensions tried for each stem, in order.
const EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "aiff"];

/// Stems longer than the shortest by at most this many seconds are cut to the shared length;
/// a larger difference means they do not belong together.
pub const LENGTH_TOLERANCE_S: f64 = 0.05;

/// Loaded stems: `(source name, signal)` at one sample rate, cut to their shared length.
#[derive(Debug, Clone)]
pub struct Stems {
    /// `(name, samples)` in the order asked for.
    pub sources: Vec<(String, Vec<f32>)>,
    /// Common sample rate.
    pub sample_rate: u32,
    /// The files read, in source order.
    pub files: Vec<PathBuf>,
}

impl Stems {
    /// The mixture the stems add up to (what an explanation with every component on hears).
    pub fn mixture(&self) -> Vec<f32> {
        let len = self.sources.first().map(|(_, s)| s.len()).unwrap_or(0);
        let mut mix = vec![0.0f32; len];
        for (_, signal) in &self.sources {
            for (m, s) in mix.iter_mut().zip(signal) {
                *m += s;
            }
        }
        mix
    }
}

/// The file that names a stems directory's sources when they are not the reference's four
/// (`musiclime separate` and the separator cache write it): `{"stems": ["vocals", ...]}`.
pub const STEMS_FILE: &str = "stems.json";

/// The sources of the stems in `dir`: those its [`STEMS_FILE`] names, else [`DEFAULT_SOURCES`].
pub fn sources_of(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join(STEMS_FILE);
    if !path.is_file() {
        return Ok(DEFAULT_SOURCES.iter().map(|s| s.to_string()).collect());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::in_file(&path, format!("not valid JSON: {e}")))?;
    let names: Option<Vec<String>> = value["stems"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    match names {
        Some(names) if !names.is_empty() => Ok(names),
        _ => Err(Error::in_file(
            &path,
            "expected {\"stems\": [\"<source>\", ...]}, naming each stem file of the directory",
        )),
    }
}

fn find_stem(dir: &Path, source: &str) -> Option<PathBuf> {
    EXTENSIONS
        .iter()
        .map(|e| dir.join(format!("{source}.{e}")))
        .find(|p| p.is_file())
}

/// Reads `sources` from `dir`, resampling each to `sample_rate` (or to the first stem's rate
/// when `None`), and cuts them to their shared length. Stems whose lengths differ by more than
/// [`LENGTH_TOLERANCE_S`] are rejected, naming both files.
pub fn load_stems(dir: &Path, sources: &[&str], sample_rate: Option<u32>) -> Result<Stems> {
    if !dir.is_dir() {
        return Err(Error::in_file(
            dir,
            "is not a directory of stems (one audio file per source)",
        ));
    }
    if sources.is_empty() {
        return Err(Error::param("sources", "name at least one source"));
    }
    let mut files = Vec::new();
    for source in sources {
        let file = find_stem(dir, source).ok_or_else(|| {
            Error::in_file(
                dir,
                format!(
                    "has no `{source}` stem (looked for {source}.{{{}}}); every source needs one file",
                    EXTENSIONS.join(",")
                ),
            )
        })?;
        files.push(file);
    }
    let mut decoded = Vec::new();
    for file in &files {
        decoded.push(decode_file(file)?);
    }
    let rate = sample_rate.unwrap_or(decoded[0].sample_rate);
    let mut signals = Vec::new();
    for audio in &decoded {
        signals.push(resample(audio, rate)?.samples);
    }
    let (shortest, longest) = signals.iter().enumerate().fold((0, 0), |(s, l), (i, x)| {
        (
            if x.len() < signals[s].len() { i } else { s },
            if x.len() > signals[l].len() { i } else { l },
        )
    });
    let difference_s = (signals[longest].len() - signals[shortest].len()) as f64 / rate as f64;
    if difference_s > LENGTH_TOLERANCE_S {
        return Err(Error::in_file(
            &files[longest],
            format!(
                "is {:.3} s long but {} is {:.3} s; stems must have the same length (differences up to {LENGTH_TOLERANCE_S} s are cut to the shortest)",
                decoded[longest].duration_s(),
                files[shortest].display(),
                decoded[shortest].duration_s()
            ),
        ));
    }
    let shared = signals[shortest].len();
    let sources = sources
        .iter()
        .zip(signals)
        .map(|(name, mut s)| {
            s.truncate(shared);
            (name.to_string(), s)
        })
        .collect();
    Ok(Stems {
        sources,
        sample_rate: rate,
        files,
    })
}

//! Lyric features with the semantics of `lime`'s `IndexedString` (spec §2).
//!
//! The text is split with the regex `(SEP)|$` keeping separators; empty pieces are dropped; a
//! piece is a *word* unless the separator matches at its start. With `bow = true` a feature is
//! a distinct word (case-sensitive, in order of first appearance) and removing it deletes every
//! occurrence while keeping all separators; with `bow = false` every occurrence is a feature and
//! removal replaces it by a mask string. Line features (one per non-blank line) are an option.
//!
//! Python's `\w` is "alphanumeric or underscore" (`str.isalnum`), which differs from Rust
//! `regex`'s Unicode `\w` (that also includes combining marks and all connector punctuation).
//! Separator patterns are therefore translated: `\w` becomes `[\p{L}\p{N}_]` and `\W` its
//! complement, so splitting matches Python's `re` on Unicode text.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// lime's default separator expression.
pub(crate) const DEFAULT_SPLIT_EXPRESSION: &str = r"\W+";
/// lime's default mask string for `bow = false`.
pub const DEFAULT_MASK_STRING: &str = "UNKWORDZ";

/// How lyrics are cut into interpretable features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LyricsParams {
    /// `words` (lime `IndexedString`) or `lines` (one feature per non-blank line).
    pub unit: LyricUnit,
    /// Separator regex (Python syntax subset; `\w`/`\W` follow Python's Unicode rules).
    pub split_expression: String,
    /// One feature per distinct word (`true`) or per occurrence (`false`).
    pub bow: bool,
    /// Replacement for removed occurrences when `bow = false`.
    pub mask_string: String,
}

impl Default for LyricsParams {
    fn default() -> Self {
        LyricsParams {
            unit: LyricUnit::Words,
            split_expression: DEFAULT_SPLIT_EXPRESSION.to_string(),
            bow: true,
            mask_string: DEFAULT_MASK_STRING.to_string(),
        }
    }
}

/// The unit of a lyric feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LyricUnit {
    /// Words split by the separator regex (paper mode).
    #[default]
    Words,
    /// Whole lines; removing a line deletes its text and keeps its line break.
    Lines,
}

/// One lyric feature: its text and the pieces of the split text it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LyricFeature {
    /// The word (or line) text.
    pub text: String,
    /// Indices into [`LyricFeatures::pieces`] covered by this feature.
    pub positions: Vec<usize>,
    /// Byte offsets in the raw text where each covered piece starts.
    pub byte_offsets: Vec<usize>,
}

/// The lyrics of one instance cut into features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LyricFeatures {
    raw: String,
    pieces: Vec<String>,
    features: Vec<LyricFeature>,
    bow: bool,
    mask_string: String,
}

/// Rewrites Python-style `\w` / `\W` into explicit classes with Python's meaning.
fn python_compatible(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('w') => out.push_str(r"[\p{L}\p{N}_]"),
                Some('W') => out.push_str(r"[^\p{L}\p{N}_]"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The splitter of `split_expression` and its anchored form, compiled once per expression for
/// the life of the process (a model that splits lyrics in every prediction would otherwise
/// compile them for every perturbed sample).
fn compiled(split_expression: &str) -> Result<(Regex, Regex)> {
    static CACHE: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, (Regex, Regex)>>,
    > = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache
        .lock()
        .ok()
        .and_then(|c| c.get(split_expression).cloned())
    {
        return Ok(found);
    }
    let translated = python_compatible(split_expression);
    let bad = |e: regex::Error| {
        Error::param(
            "split_expression",
            format!("`{split_expression}` is not a valid regular expression: {e}"),
        )
    };
    let splitter = Regex::new(&translated).map_err(bad)?;
    let anchored = Regex::new(&format!(r"\A(?:{translated})")).map_err(bad)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(
            split_expression.to_string(),
            (splitter.clone(), anchored.clone()),
        );
    }
    Ok((splitter, anchored))
}

impl LyricFeatures {
    /// Cuts `raw` into features with the given parameters.
    pub fn new(raw: &str, params: &LyricsParams) -> Result<Self> {
        match params.unit {
            LyricUnit::Words => Self::words(
                raw,
                &params.split_expression,
                params.bow,
                &params.mask_string,
            ),
            LyricUnit::Lines => Ok(Self::lines(raw)),
        }
    }

    /// Word features exactly as `IndexedString(raw, split_expression, bow, mask_string)`.
    pub fn words(raw: &str, split_expression: &str, bow: bool, mask_string: &str) -> Result<Self> {
        let (splitter, anchored) = compiled(split_expression)?;
        if splitter.is_match("") {
            return Err(Error::param(
                "split_expression",
                format!("`{split_expression}` matches the empty string; use a pattern that consumes at least one character, e.g. `\\W+`"),
            ));
        }
        // re.split with a capturing group: text, separator, text, ..., keeping non-empty pieces.
        // The `$` alternative also matches (zero-width) before a final "\n" that no separator
        // match covers, splitting it off the last word.
        let mut pieces: Vec<(usize, String)> = Vec::new();
        let mut last = 0;
        for m in splitter.find_iter(raw) {
            if m.start() > last {
                pieces.push((last, raw[last..m.start()].to_string()));
            }
            pieces.push((m.start(), m.as_str().to_string()));
            last = m.end();
        }
        if last < raw.len() {
            let end = if raw.ends_with('\n') {
                raw.len() - 1
            } else {
                raw.len()
            };
            if end > last {
                pieces.push((last, raw[last..end].to_string()));
            }
            if end < raw.len() {
                pieces.push((end, "\n".to_string()));
            }
        }
        // Python's `(SEP)|$` also matches a piece that is exactly "\n" at its start (`$` matches
        // before a trailing newline), so such a piece is never a word.
        let is_separator = |piece: &str| anchored.is_match(piece) || piece == "\n";
        let mut features: Vec<LyricFeature> = Vec::new();
        let mut vocabulary: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::new();
        for (i, (offset, piece)) in pieces.iter().enumerate() {
            if is_separator(piece) {
                continue;
            }
            if bow {
                let index = *vocabulary.entry(piece.as_str()).or_insert_with(|| {
                    features.push(LyricFeature {
                        text: piece.clone(),
                        positions: Vec::new(),
                        byte_offsets: Vec::new(),
                    });
                    features.len() - 1
                });
                features[index].positions.push(i);
                features[index].byte_offsets.push(*offset);
            } else {
                features.push(LyricFeature {
                    text: piece.clone(),
                    positions: vec![i],
                    byte_offsets: vec![*offset],
                });
            }
        }
        Ok(LyricFeatures {
            raw: raw.to_string(),
            pieces: pieces.into_iter().map(|(_, p)| p).collect(),
            features,
            bow,
            mask_string: mask_string.to_string(),
        })
    }

    /// One feature per non-blank line; removal deletes the line's text and keeps its break.
    pub fn lines(raw: &str) -> Self {
        let mut pieces = Vec::new();
        let mut features = Vec::new();
        let mut offset = 0;
        for segment in raw.split_inclusive('\n') {
            let (text, newline) = match segment.strip_suffix('\n') {
                Some(t) => (t, true),
                None => (segment, false),
            };
            if !text.trim().is_empty() {
                features.push(LyricFeature {
                    text: text.to_string(),
                    positions: vec![pieces.len()],
                    byte_offsets: vec![offset],
                });
            }
            pieces.push(text.to_string());
            if newline {
                pieces.push("\n".to_string());
            }
            offset += segment.len();
        }
        LyricFeatures {
            raw: raw.to_string(),
            pieces,
            features,
            bow: true,
            mask_string: String::new(),
        }
    }

    /// The text with the word occurrence at piece `position` deleted (a one-word edit, for
    /// robustness tests); the text unchanged when `position` is out of range.
    pub(crate) fn without_piece(&self, position: usize) -> String {
        self.pieces
            .iter()
            .enumerate()
            .filter(|(p, _)| *p != position)
            .map(|(_, piece)| piece.as_str())
            .collect()
    }

    /// The original text.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether there are no features (e.g. empty lyrics).
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The features in order.
    pub fn features(&self) -> &[LyricFeature] {
        &self.features
    }

    /// The split text (words and separators).
    pub fn pieces(&self) -> &[String] {
        &self.pieces
    }

    /// The text with the features where `keep[j]` is false removed (lime's
    /// `inverse_removing`). `keep` has one entry per feature.
    pub fn compose(&self, keep: &[bool]) -> String {
        let mut removed = vec![false; self.pieces.len()];
        for (feature, &k) in self.features.iter().zip(keep) {
            if !k {
                for &p in &feature.positions {
                    removed[p] = true;
                }
            }
        }
        let mut out = String::with_capacity(self.raw.len());
        for (piece, &gone) in self.pieces.iter().zip(&removed) {
            if !gone {
                out.push_str(piece);
            } else if !self.bow {
                out.push_str(&self.mask_string);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let f = LyricFeatures::words(text, DEFAULT_SPLIT_EXPRESSION, true, DEFAULT_MASK_STRING)
            .unwrap();
        f.features().iter().map(|w| w.text.clone()).collect()
    }

    #[test]
    fn bow_features_are_distinct_case_sensitive_words_in_first_appearance_order() {
        assert_eq!(words("Love me, love me\nLove!"), vec!["Love", "me", "love"]);
    }

    #[test]
    fn removal_deletes_every_occurrence_and_keeps_separators() {
        let f = LyricFeatures::words("la la, land", DEFAULT_SPLIT_EXPRESSION, true, "UNKWORDZ")
            .unwrap();
        assert_eq!(f.compose(&[false, true]), " , land");
        assert_eq!(f.compose(&[true, false]), "la la, ");
    }

    #[test]
    fn occurrence_features_are_replaced_by_the_mask() {
        let f = LyricFeatures::words("la la land", DEFAULT_SPLIT_EXPRESSION, false, "UNKWORDZ")
            .unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f.compose(&[true, false, true]), "la UNKWORDZ land");
    }

    #[test]
    fn unicode_words_follow_python() {
        assert_eq!(words("café naïve ½ x_y"), vec!["café", "naïve", "½", "x_y"]);
        // A combining accent is not a word character in Python's re: it splits the word.
        assert_eq!(words("cafe\u{301}s"), vec!["cafe", "s"]);
    }

    #[test]
    fn empty_lyrics_have_no_features() {
        assert!(words("").is_empty());
        assert!(words(" ,.!\n").is_empty());
    }

    #[test]
    fn lines_are_features_and_keep_their_breaks() {
        let f = LyricFeatures::lines("one two\n\nthree\n");
        assert_eq!(f.len(), 2);
        assert_eq!(f.compose(&[false, true]), "\n\nthree\n");
    }

    #[test]
    fn an_empty_matching_separator_is_rejected() {
        assert!(LyricFeatures::words("abc", r"\W*", true, "X").is_err());
        assert!(LyricFeatures::words("abc", r"(", true, "X").is_err());
    }
}

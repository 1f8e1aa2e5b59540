//! Merge keys for lyric words: how `musiclime aggregate --merge-words` pools a word's
//! variants ("Drinking", "drinking", "drinks") before the global importances are computed.
//!
//! The MusicLIME authors' genre figures merge lyric features by lower case and lemma. The rule
//! that reproduces every ranked word of those figures is NLTK's `WordNetLemmatizer` over WordNet
//! 3.0, `lemmatize(lemmatize(word.lower(), "v"), "n")` (reconstructed in
//! `tests/fixtures/lemmas/README.md`). musiclime does not run a lemmatiser: it looks words up
//! in a `word,lemma` table computed with that rule. The embedded table
//! (`data/lemmas_en.csv`, written by `tests/fixtures/lemmas/generate_english.py`) covers the
//! 50,000 most frequent English words of `wordfreq` 3.1.1 and every lyric word of the authors'
//! published data; `--lemmas FILE` replaces it. A word missing from the table is only
//! lower-cased.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The embedded English table (`word,lemma`, lower-case words, no CSV quoting).
const ENGLISH: &str = include_str!("../data/lemmas_en.csv");

/// How lyric features are merged before aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeWords {
    /// Every feature string stays its own feature (case-sensitive), as the reference does.
    #[default]
    None,
    /// Words that differ only in case are one feature (the lower-case word).
    Lower,
    /// Words with the same lemma of their lower-case form are one feature (the lemma), as the
    /// authors' genre figures.
    Lemma,
}

impl FromStr for MergeWords {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "none" => Ok(MergeWords::None),
            "lower" => Ok(MergeWords::Lower),
            "lemma" => Ok(MergeWords::Lemma),
            other => Err(format!(
                "`{other}` is not a merge rule; use none, lower or lemma"
            )),
        }
    }
}

impl MergeWords {
    /// The lemma table this rule merges with: `table` read from a file, else the embedded
    /// English one for [`MergeWords::Lemma`] and none for the others. A table with another rule
    /// is an error naming `--lemmas`.
    pub fn lemmas(self, table: Option<&Path>) -> Result<std::borrow::Cow<'static, Lemmas>> {
        use std::borrow::Cow;
        match (table, self) {
            (Some(path), MergeWords::Lemma) => Ok(Cow::Owned(Lemmas::read(path)?)),
            (Some(_), _) => Err(Error::input(
                "--lemmas",
                "a lemma table is used only with --merge-words lemma",
            )),
            (None, MergeWords::Lemma) => Ok(Cow::Borrowed(Lemmas::english())),
            (None, _) => Ok(Cow::Owned(Lemmas::default())),
        }
    }

    /// What the lyric features are after this rule, for chart titles.
    pub fn words_title(self) -> &'static str {
        match self {
            MergeWords::None => "words",
            MergeWords::Lower => "words (merged by lower case)",
            MergeWords::Lemma => "words (merged by lemma)",
        }
    }
}

/// A lower-case word → lemma table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lemmas {
    table: HashMap<String, String>,
}

impl Lemmas {
    /// The embedded English table (parsed once per process).
    pub fn english() -> &'static Lemmas {
        static TABLE: OnceLock<Lemmas> = OnceLock::new();
        TABLE.get_or_init(|| {
            Lemmas::parse(ENGLISH, "data/lemmas_en.csv")
                .expect("the embedded data/lemmas_en.csv is generated and tested: it parses")
        })
    }

    /// Reads a `word,lemma` table (a header line `word,lemma`, then one pair per line, no CSV
    /// quoting). Words are lower-cased as they are read.
    pub fn read(path: &Path) -> Result<Lemmas> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Lemmas::parse(&text, &path.display().to_string())
    }

    /// Parses a `word,lemma` table's text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Lemmas> {
        let mut lines = text.lines().enumerate();
        let header = lines.next().map(|(_, l)| l.trim_start_matches('\u{feff}'));
        if header != Some("word,lemma") {
            return Err(Error::input(
                source,
                format!(
                    "is not a lemma table: its first line is `{}`, not `word,lemma`",
                    header.unwrap_or("")
                ),
            ));
        }
        let mut table = HashMap::new();
        for (i, line) in lines {
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').collect();
            let (word, lemma) = match fields.as_slice() {
                [word, lemma] if !word.is_empty() && !lemma.is_empty() && !line.contains('"') => {
                    (word.to_lowercase(), lemma.to_string())
                }
                _ => {
                    return Err(Error::input(
                        source,
                        format!(
                            "line {} is `{line}`: every line must be `word,lemma` (two non-empty fields, no commas or quotes inside them)",
                            i + 1
                        ),
                    ))
                }
            };
            if let Some(other) = table.insert(word.clone(), lemma.clone()) {
                if other != lemma {
                    return Err(Error::input(
                        source,
                        format!(
                            "line {}: `{word}` has the lemma `{other}` on an earlier line and `{lemma}` here",
                            i + 1
                        ),
                    ));
                }
            }
        }
        if table.is_empty() {
            return Err(Error::input(source, "is a lemma table without rows"));
        }
        Ok(Lemmas { table })
    }

    /// Words in the table.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The lemma of `word`'s lower-case form, or that lower-case form when the table lacks it.
    pub fn lemma(&self, word: &str) -> String {
        let lower = word.to_lowercase();
        match self.table.get(&lower) {
            Some(lemma) => lemma.clone(),
            None => lower,
        }
    }
}

impl MergeWords {
    /// The merge key of a lyric word under this rule (`lemmas` is used by [`MergeWords::Lemma`]
    /// only).
    pub fn key(self, word: &str, lemmas: &Lemmas) -> String {
        match self {
            MergeWords::None => word.to_string(),
            MergeWords::Lower => word.to_lowercase(),
            MergeWords::Lemma => lemmas.lemma(word),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_merges_variants() {
        let english = Lemmas::english();
        assert!(english.len() > 50_000, "{}", english.len());
        assert_eq!(english.lemma("Drinking"), "drink");
        assert_eq!(english.lemma("scars"), "scar");
        assert_eq!(
            english.lemma("Zzyzxq"),
            "zzyzxq",
            "unknown: lower-cased only"
        );
        assert_eq!(MergeWords::Lower.key("Yeah", english), "yeah");
        assert_eq!(MergeWords::None.key("Yeah", english), "Yeah");
        assert!("foo".parse::<MergeWords>().is_err());
    }

    #[test]
    fn malformed_tables_are_refused() {
        for text in [
            "word\nfoo\n",
            "lemma,word\na,b\n",
            "word,lemma\na,b,c\n",
            "word,lemma\n",
        ] {
            assert!(Lemmas::parse(text, "t.csv").is_err(), "{text:?}");
        }
        let ok = Lemmas::parse("word,lemma\nRan,run\n", "t.csv").unwrap();
        assert_eq!(ok.lemma("ran"), "run");
    }
}

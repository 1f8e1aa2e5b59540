//! Token inputs: a Hugging Face tokenizer with truncation and padding to `max_length`, giving
//! token ids, the attention mask and each token's word index.

use std::path::Path;

use tokenizers::{PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::spec::TokenIdsSpec;
use crate::error::{Error, Result};

/// One lyrics text as the model reads it: `max_length` ids, mask and word indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRow {
    /// Token ids, padded.
    pub ids: Vec<i64>,
    /// 1 for real tokens, 0 for padding.
    pub mask: Vec<i64>,
    /// Word index of each token; -1 for special and padding tokens.
    pub word_ids: Vec<i64>,
    /// Byte range of each token in the text (`(0, 0)` for special and padding tokens).
    pub offsets: Vec<(usize, usize)>,
}

/// A loaded tokenizer for one `token_ids` input.
pub(crate) struct TextEncoder {
    tokenizer: Tokenizer,
    add_special_tokens: bool,
    max_length: usize,
}

impl TextEncoder {
    /// Loads `spec.tokenizer`; errors name the file.
    pub fn new(spec: &TokenIdsSpec) -> Result<Self> {
        let path: &Path = &spec.tokenizer;
        if !path.is_file() {
            return Err(Error::in_file(
                path,
                format!("tokenizer file of input `{}` not found; `tokenizer:` paths are relative to model.yaml", spec.name),
            ));
        }
        let mut tokenizer = Tokenizer::from_file(path)
            .map_err(|e| Error::in_file(path, format!("not a Hugging Face tokenizer.json: {e}")))?;
        let pad_id = spec
            .pad_id
            .or_else(|| tokenizer.get_padding().map(|p| p.pad_id))
            .or_else(|| {
                ["[PAD]", "<pad>", "<|endoftext|>"]
                    .iter()
                    .find_map(|t| tokenizer.token_to_id(t))
            })
            .unwrap_or(0);
        let pad_token = tokenizer.id_to_token(pad_id).unwrap_or_default();
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: spec.max_length,
                ..Default::default()
            }))
            .map_err(|e| {
                Error::in_file(
                    path,
                    format!("cannot truncate to max_length {}: {e}", spec.max_length),
                )
            })?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::Fixed(spec.max_length),
            direction: PaddingDirection::Right,
            pad_id,
            pad_token,
            ..Default::default()
        }));
        Ok(TextEncoder {
            tokenizer,
            add_special_tokens: spec.add_special_tokens,
            max_length: spec.max_length,
        })
    }

    /// Tokens per row.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Encodes one text.
    pub fn encode(&self, text: &str) -> Result<TokenRow> {
        let enc = self
            .tokenizer
            .encode(text, self.add_special_tokens)
            .map_err(|e| Error::Internal(format!("tokenizing lyrics: {e}")))?;
        let mut row = TokenRow {
            ids: enc.get_ids().iter().map(|&i| i as i64).collect(),
            mask: enc.get_attention_mask().iter().map(|&m| m as i64).collect(),
            word_ids: enc
                .get_word_ids()
                .iter()
                .map(|w| w.map_or(-1, |w| w as i64))
                .collect(),
            offsets: enc
                .get_offsets()
                .iter()
                .zip(enc.get_special_tokens_mask())
                .map(|(&o, &special)| if special == 1 { (0, 0) } else { o })
                .collect(),
        };
        for v in [&mut row.ids, &mut row.mask, &mut row.word_ids] {
            v.truncate(self.max_length);
        }
        row.offsets.truncate(self.max_length);
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's lyric cleaning baked into a tokenizer.json by the export gives the token ids
    /// of the authors' Python cleaning + tokenizer (tests/fixtures/paper_normaliser, written by
    /// its generate.py with pinned tokenizers/transformers) on lyrics with Unicode spaces,
    /// punctuation, apostrophes, digits and line breaks.
    #[test]
    fn the_paper_normaliser_gives_the_authors_token_ids() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let fixture = repo.join("tests/fixtures/paper_normaliser/cases.json");
        let cases: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
        let encoder = TextEncoder::new(&TokenIdsSpec {
            name: "input_ids".into(),
            tokenizer: repo.join(cases["tokenizer"].as_str().unwrap()),
            max_length: cases["max_length"].as_u64().unwrap() as usize,
            pad_id: Some(cases["pad_id"].as_u64().unwrap() as u32),
            add_special_tokens: true,
        })
        .unwrap();
        let as_ints = |v: &serde_json::Value| -> Vec<i64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        };
        let cases = cases["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let row = encoder.encode(case["text"].as_str().unwrap()).unwrap();
            let name = &case["name"];
            assert_eq!(row.ids, as_ints(&case["input_ids"]), "{name}");
            assert_eq!(row.mask, as_ints(&case["attention_mask"]), "{name}");
        }
    }
}

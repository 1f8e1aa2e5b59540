//! `model.yaml`: how to feed an ONNX model and read its outputs. Paths are relative to the
//! YAML file.
//!
//! ```yaml
//! onnx: model.onnx
//! classes: [rock, pop, hiphop]
//! inputs:
//!   - {name: mel, kind: log_mel, sample_rate: 16000, n_fft: 512, hop_length: 256, n_mels: 96}
//!   - {name: input_ids, kind: token_ids, tokenizer: tokenizer.json, max_length: 128}
//!   - {name: attention_mask, kind: attention_mask, of: input_ids}
//! outputs:
//!   probabilities: probs          # or  logits: <name>  (softmax applied)
//!   attention:
//!     - {name: attn_audio, modality: audio, layout: [layers, heads, query, key]}
//! ```
//!
//! A model split into several graphs (an audio encoder, a text encoder and a fusion head)
//! replaces `onnx:` by `stages:`, each naming its file and the tensors it reads and writes;
//! stages run in order and a later stage may read an earlier stage's outputs:
//!
//! ```yaml
//! stages:
//!   - {onnx: audio_encoder.onnx, inputs: [mel], outputs: [audio_embedding]}
//!   - {onnx: text_encoder.onnx, inputs: [input_ids, attention_mask], outputs: [text_embedding]}
//!   - {onnx: fusion.onnx, inputs: [audio_embedding, text_embedding], outputs: [probs]}
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::Modality;
use crate::frontend::{AudioInputSpec, KaldiFbankSpec, LogMelSpec, WaveformSpec};

/// A whole `model.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The ONNX file (a single-graph model).
    #[serde(default)]
    pub onnx: Option<PathBuf>,
    /// The graphs of a split model, run in order (instead of `onnx`).
    #[serde(default)]
    pub stages: Vec<StageSpec>,
    /// Class names, one per output column.
    pub classes: Vec<String>,
    /// How each model input is computed from (audio, lyrics).
    pub inputs: Vec<InputSpec>,
    /// Which outputs hold the class scores and the attention maps.
    pub outputs: OutputSpec,
    /// ONNX Runtime intra-op threads (default: ONNX Runtime's choice, one per core).
    #[serde(default)]
    pub intra_threads: Option<usize>,
}

/// One graph of a split model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// The ONNX file.
    pub onnx: PathBuf,
    /// Tensors it reads: model inputs or earlier stages' outputs.
    pub inputs: Vec<String>,
    /// Tensors it writes that later stages or `outputs` use.
    pub outputs: Vec<String>,
}

/// One model input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputSpec {
    /// Mono samples.
    Waveform(WaveformSpec),
    /// librosa log-mel.
    LogMel(LogMelSpec),
    /// Kaldi fbank.
    KaldiFbank(KaldiFbankSpec),
    /// Token ids from a Hugging Face tokenizer.
    TokenIds(TokenIdsSpec),
    /// 1 for real tokens, 0 for padding, of a `token_ids` input.
    AttentionMask(DerivedSpec),
    /// The word index of each token of a `token_ids` input (`-1` for special and padding
    /// tokens).
    WordIds(DerivedSpec),
}

impl InputSpec {
    /// The ONNX input name.
    pub fn name(&self) -> &str {
        match self {
            InputSpec::Waveform(s) => &s.name,
            InputSpec::LogMel(s) => &s.name,
            InputSpec::KaldiFbank(s) => &s.name,
            InputSpec::TokenIds(s) => &s.name,
            InputSpec::AttentionMask(s) | InputSpec::WordIds(s) => &s.name,
        }
    }

    /// The audio frontend spec, for audio inputs.
    pub fn audio(&self) -> Option<AudioInputSpec> {
        match self {
            InputSpec::Waveform(s) => Some(AudioInputSpec::Waveform(s.clone())),
            InputSpec::LogMel(s) => Some(AudioInputSpec::LogMel(s.clone())),
            InputSpec::KaldiFbank(s) => Some(AudioInputSpec::KaldiFbank(s.clone())),
            _ => None,
        }
    }
}

/// `kind: token_ids`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenIdsSpec {
    /// The ONNX input name.
    pub name: String,
    /// A Hugging Face `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// Sequences are truncated and padded to this many tokens.
    pub max_length: usize,
    /// Padding id (default: the tokenizer's padding id, else the id of `[PAD]`, `<pad>` or
    /// `<|endoftext|>`, else 0).
    #[serde(default)]
    pub pad_id: Option<u32>,
    /// Add the tokenizer's special tokens (`[CLS]`, `<s>`, …); default true.
    #[serde(default = "default_true")]
    pub add_special_tokens: bool,
}

fn default_true() -> bool {
    true
}

/// `kind: attention_mask` / `kind: word_ids`: derived from a `token_ids` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedSpec {
    /// The ONNX input name.
    pub name: String,
    /// The `token_ids` input it belongs to.
    pub of: String,
}

/// The outputs the explainer reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// An output of probabilities, `[batch, classes]`.
    #[serde(default)]
    pub probabilities: Option<String>,
    /// An output of logits, `[batch, classes]` (softmax is applied).
    #[serde(default)]
    pub logits: Option<String>,
    /// Attention maps.
    #[serde(default)]
    pub attention: Vec<AttentionSpec>,
}

/// An attention output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttentionSpec {
    /// The ONNX output name.
    pub name: String,
    /// What its keys index: audio frames or lyric tokens.
    pub modality: Modality,
    /// Axes: `key` is required; `layers`, `heads` and `query` are averaged over. The batch
    /// axis comes first unless `batch` is listed (e.g. `[layers, batch, heads, query, key]`
    /// for stacked per-layer maps).
    pub layout: Vec<String>,
}

impl ModelSpec {
    /// Reads and checks `path`; relative paths inside become relative to its directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let de = serde_norway::Deserializer::from_str(&text);
        let mut spec: ModelSpec = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = e.path().to_string();
            let at = if at == "." {
                String::new()
            } else {
                format!(" at `{at}`")
            };
            Error::in_file(path, format!("not a valid model spec{at}: {}", e.inner()))
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        if let Some(onnx) = &mut spec.onnx {
            *onnx = base.join(&*onnx);
        }
        for stage in &mut spec.stages {
            stage.onnx = base.join(&stage.onnx);
        }
        for input in &mut spec.inputs {
            if let InputSpec::TokenIds(t) = input {
                t.tokenizer = base.join(&t.tokenizer);
            }
        }
        spec.check().map_err(|e| match e {
            Error::Input {
                source_name,
                message,
            } => Error::in_file(path, format!("`{source_name}`: {message}")),
            other => other,
        })?;
        Ok(spec)
    }

    /// The output holding class scores and whether it holds logits.
    pub fn score_output(&self) -> (&str, bool) {
        match (&self.outputs.probabilities, &self.outputs.logits) {
            (Some(p), _) => (p, false),
            (None, Some(l)) => (l, true),
            (None, None) => ("", false),
        }
    }

    /// The stages to run: `stages`, or one stage for `onnx` reading every input.
    pub fn graphs(&self) -> Vec<StageSpec> {
        match &self.onnx {
            Some(onnx) => {
                let mut outputs = vec![self.score_output().0.to_string()];
                outputs.extend(self.outputs.attention.iter().map(|a| a.name.clone()));
                vec![StageSpec {
                    onnx: onnx.clone(),
                    inputs: self.inputs.iter().map(|i| i.name().to_string()).collect(),
                    outputs,
                }]
            }
            None => self.stages.clone(),
        }
    }

    /// Structural checks that need no files.
    fn check(&self) -> Result<()> {
        match (&self.onnx, self.stages.is_empty()) {
            (Some(_), false) => {
                return Err(Error::input(
                    "onnx",
                    "give either `onnx` or `stages`, not both",
                ))
            }
            (None, true) => {
                return Err(Error::input(
                    "onnx",
                    "missing: name the ONNX file (`onnx: model.onnx`), or list `stages`",
                ))
            }
            _ => {}
        }
        if self.classes.len() < 2 {
            return Err(Error::input("classes", "list at least two class names"));
        }
        if self.inputs.is_empty() {
            return Err(Error::input("inputs", "list at least one input"));
        }
        if self.outputs.probabilities.is_some() == self.outputs.logits.is_some() {
            return Err(Error::input(
                "outputs",
                "name exactly one of `probabilities: <output>` or `logits: <output>`",
            ));
        }
        if self.intra_threads == Some(0) {
            return Err(Error::input("intra_threads", "must be at least 1"));
        }
        let names: Vec<&str> = self.inputs.iter().map(|i| i.name()).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(Error::input(format!("inputs.{name}"), "is listed twice"));
            }
        }
        let audio_inputs = self.inputs.iter().filter(|i| i.audio().is_some()).count();
        if audio_inputs > 1 {
            return Err(Error::input(
                "inputs",
                "at most one audio input (waveform, log_mel or kaldi_fbank) is supported",
            ));
        }
        for input in &self.inputs {
            match input {
                InputSpec::TokenIds(t) if t.max_length < 2 => {
                    return Err(Error::input(
                        format!("inputs.{}.max_length", t.name),
                        "must be at least 2",
                    ))
                }
                InputSpec::AttentionMask(d) | InputSpec::WordIds(d) => {
                    let ok = self
                        .inputs
                        .iter()
                        .any(|i| matches!(i, InputSpec::TokenIds(t) if t.name == d.of));
                    if !ok {
                        return Err(Error::input(
                            format!("inputs.{}.of", d.name),
                            format!("`{}` is not a token_ids input of this spec", d.of),
                        ));
                    }
                }
                _ => {}
            }
        }
        for a in &self.outputs.attention {
            if a.layout.iter().filter(|x| *x == "key").count() != 1 {
                return Err(Error::input(
                    format!("outputs.attention.{}.layout", a.name),
                    "must name the `key` axis once, e.g. [layers, heads, query, key]",
                ));
            }
            if let Some(bad) = a
                .layout
                .iter()
                .find(|x| !matches!(x.as_str(), "batch" | "layers" | "heads" | "query" | "key"))
            {
                return Err(Error::input(
                    format!("outputs.attention.{}.layout", a.name),
                    format!("unknown axis `{bad}`; use batch, layers, heads, query, key"),
                ));
            }
            if a.modality == Modality::Unknown {
                return Err(Error::input(
                    format!("outputs.attention.{}.modality", a.name),
                    "must be `audio` or `lyrics`",
                ));
            }
        }
        Ok(())
    }
}

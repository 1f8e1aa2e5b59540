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
//! A multi-label tagger declares independent scores instead, and may read fixed-length patches
//! of its audio input (the per-patch scores are reduced to one score per tag):
//!
//! ```yaml
//! outputs: {scores: tag_logits, activation: sigmoid, multilabel: true}
//! patching: {frames: 187, hop: 187, reduce: mean}
//! ```
//!
//! Memory and hardware: `max_batch` caps the model items (clips × patches) one ONNX Runtime run
//! receives, whatever the explainer's `batch_size`, and `execution_providers` lists where to run
//! in order of preference (`cpu`, `cuda`; a list without `cpu` is strict):
//!
//! ```yaml
//! max_batch: 8
//! execution_providers: [cuda, cpu]
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
    /// Cut the audio input into fixed-length patches along its time axis (default: none, the
    /// whole clip is one input).
    #[serde(default)]
    pub patching: Option<PatchingSpec>,
    /// The most model items (clips × patches) one ONNX Runtime run receives (default
    /// [`DEFAULT_MAX_BATCH`]): the cap on the memory of the model's activations.
    #[serde(default)]
    pub max_batch: Option<usize>,
    /// Where to run, in order of preference (default `[cpu]`): `cuda` falls back to `cpu`
    /// with a warning when ONNX Runtime has no CUDA, unless `cpu` is not listed.
    #[serde(default)]
    pub execution_providers: Option<Vec<ExecutionProvider>>,
    /// ONNX Runtime's CPU memory arena (default `true`, ONNX Runtime's own default). The arena
    /// keeps the blocks of earlier runs for reuse: without it a CNN tagger's runs hold about 40%
    /// of the memory but take 1.5 to 3 times as long (measured on the musicnn-shaped fixture).
    #[serde(default)]
    pub cpu_memory_arena: Option<bool>,
    /// ONNX Runtime's graph optimisation level (default `all`, ONNX Runtime's own default).
    /// Lower levels only make loading faster; every level computes the same function.
    #[serde(default)]
    pub graph_optimization: Option<GraphOptimization>,
    /// How many seconds of audio the model reads, from the start of its input (AST: its
    /// frames × the frame shift). A clip longer than this is explained on this window by
    /// default (`audio_window: model`); models that declare none are explained on the whole
    /// clip.
    #[serde(default)]
    pub window_seconds: Option<f64>,
}

/// ONNX Runtime's graph optimisation levels, as model.yaml names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphOptimization {
    /// No rewrites.
    Disable,
    /// Constant folding and redundant-node removal.
    Basic,
    /// Basic plus complex node fusions (attention, GELU, layer norm).
    Extended,
    /// Extended plus memory-layout rewrites (ONNX Runtime's default).
    All,
}

/// Model items per ONNX Runtime run when `max_batch` is not set. ONNX Runtime holds about 50 MB
/// per 3 s patch of a musicnn-style CNN tagger and about 60 MB per clip of a tiny AST, so 8
/// items peak near 0.6 to 1 GB; on the CPU larger runs are no faster (measured from 1 to 64).
pub const DEFAULT_MAX_BATCH: usize = 8;

/// An ONNX Runtime execution provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionProvider {
    /// The CPU (always available).
    Cpu,
    /// NVIDIA GPUs through CUDA (`onnxruntime-gpu`).
    Cuda,
}

impl ExecutionProvider {
    /// The name as written in model.yaml, configs and flags.
    pub fn name(self) -> &'static str {
        match self {
            ExecutionProvider::Cpu => "cpu",
            ExecutionProvider::Cuda => "cuda",
        }
    }
}

impl std::str::FromStr for ExecutionProvider {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(ExecutionProvider::Cpu),
            "cuda" => Ok(ExecutionProvider::Cuda),
            other => Err(Error::input(
                "execution_providers",
                format!("unknown execution provider `{other}`; use `cuda` or `cpu`"),
            )),
        }
    }
}

/// Checks a list of execution providers: not empty, no repeats.
pub fn check_execution_providers(list: &[ExecutionProvider], key: &str) -> Result<()> {
    if list.is_empty() {
        return Err(Error::input(key, "list at least one of `cuda`, `cpu`"));
    }
    for (i, p) in list.iter().enumerate() {
        if list[..i].contains(p) {
            return Err(Error::input(key, format!("`{}` is listed twice", p.name())));
        }
    }
    Ok(())
}

/// `patching:`: the audio input is cut into patches of `frames` frames (samples, for a
/// waveform input) every `hop` frames; the patches of every row run as one batch and their
/// scores (after the activation) are reduced to one score per class. Patches start at 0,
/// `hop`, `2·hop`, … while they fit; when the last one ends before the clip does, one more
/// patch aligned to the clip's end is added, so every frame is read. A clip shorter than one
/// patch is padded with silence at the end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchingSpec {
    /// Frames (or samples) per patch.
    pub frames: usize,
    /// Frames between patch starts; default `frames` (no overlap).
    #[serde(default)]
    pub hop: Option<usize>,
    /// How per-patch scores become one score per class; default `mean`.
    #[serde(default)]
    pub reduce: PatchReduce,
}

impl PatchingSpec {
    /// Frames between patch starts.
    pub fn hop(&self) -> usize {
        self.hop.unwrap_or(self.frames)
    }

    /// Start frame of every patch of a clip of `total` frames (`total >= frames`).
    pub fn starts(&self, total: usize) -> Vec<usize> {
        if total <= self.frames {
            return vec![0];
        }
        let last = total - self.frames;
        let mut starts: Vec<usize> = (0..=last).step_by(self.hop().max(1)).collect();
        if starts.last() != Some(&last) {
            starts.push(last);
        }
        starts
    }
}

/// Reduction of per-patch scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchReduce {
    /// The mean over patches.
    #[default]
    Mean,
    /// The maximum over patches.
    Max,
}

/// What the score output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// The scores are used as they are.
    #[default]
    None,
    /// The output holds logits of independent tags; the logistic sigmoid is applied.
    Sigmoid,
}

/// How a model's outputs are read, from `outputs:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreKind {
    /// `probabilities:`: single-label probabilities, each row summing to 1.
    Probabilities,
    /// `logits:`: single-label logits; softmax is applied.
    Logits,
    /// `scores:`: independent scores, with an activation, multi-label or not.
    Scores {
        /// Applied to each score (per patch, before the patch reduction).
        activation: Activation,
        /// Tags are independent probabilities (checked in [0, 1]) and several may be
        /// predicted at once.
        multilabel: bool,
    },
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
    /// An output of independent scores, `[batch, classes]`: no softmax and no sum check
    /// (multi-label taggers).
    #[serde(default)]
    pub scores: Option<String>,
    /// For `scores`: `sigmoid` (the output holds logits) or `none` (default).
    #[serde(default)]
    pub activation: Option<Activation>,
    /// For `scores`: the classes are independent tags, several of which may apply; scores
    /// (after the activation) must lie in [0, 1].
    #[serde(default)]
    pub multilabel: Option<bool>,
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
    /// What the keys are (default: every key is one frame of the audio input, spread evenly
    /// over it, or one token of the lyrics).
    #[serde(default)]
    pub keys: Option<AttentionKeys>,
}

/// `keys:` of an attention output: leading special tokens, and for audio a patch grid.
///
/// ```yaml
/// keys:
///   special: 2             # leading keys that are not patches (AST: [CLS], distillation)
///   grid: [12, 101]        # the patch grid after them: [frequency, time]
///   order: frequency_major # key = special + f · time + t  (time_major: special + t · frequency + f)
///   patch_frames: 16       # input frames each time column covers ...
///   patch_stride: 10       # ... starting every patch_stride frames
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttentionKeys {
    /// Leading keys that stand for no input position (excluded from agreement metrics).
    #[serde(default)]
    pub special: usize,
    /// `[frequency, time]` patches after the special keys (audio only).
    #[serde(default)]
    pub grid: Option<[usize; 2]>,
    /// How the grid is flattened into keys (default `frequency_major`).
    #[serde(default)]
    pub order: GridOrder,
    /// Input frames each time column of the grid covers.
    #[serde(default)]
    pub patch_frames: Option<usize>,
    /// Input frames between the starts of consecutive time columns.
    #[serde(default)]
    pub patch_stride: Option<usize>,
}

/// How a `[frequency, time]` patch grid is flattened into attention keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GridOrder {
    /// `special + f · time + t` (AST: a convolution's `[f, t]` output flattened).
    #[default]
    FrequencyMajor,
    /// `special + t · frequency + f`.
    TimeMajor,
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

    /// The output holding class scores, and how to read it.
    pub(crate) fn score_output(&self) -> (&str, ScoreKind) {
        let o = &self.outputs;
        match (&o.probabilities, &o.logits, &o.scores) {
            (Some(p), _, _) => (p, ScoreKind::Probabilities),
            (None, Some(l), _) => (l, ScoreKind::Logits),
            (None, None, Some(s)) => (
                s,
                ScoreKind::Scores {
                    activation: o.activation.unwrap_or_default(),
                    multilabel: o.multilabel.unwrap_or(false),
                },
            ),
            (None, None, None) => ("", ScoreKind::Probabilities),
        }
    }

    /// Whether the model is a multi-label tagger (`multilabel: true`).
    pub fn multilabel(&self) -> bool {
        matches!(
            self.score_output().1,
            ScoreKind::Scores {
                multilabel: true,
                ..
            }
        )
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
        self.check_graphs()?;
        self.check_outputs()?;
        self.check_patching()?;
        self.check_limits()?;
        self.check_inputs()?;
        self.check_attention()
    }

    /// `onnx` or `stages`, at least two classes and one input.
    fn check_graphs(&self) -> Result<()> {
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
        Ok(())
    }

    /// Exactly one score output, and `activation` / `multilabel` only with `scores`.
    fn check_outputs(&self) -> Result<()> {
        let declared = [
            &self.outputs.probabilities,
            &self.outputs.logits,
            &self.outputs.scores,
        ]
        .iter()
        .filter(|o| o.is_some())
        .count();
        if declared != 1 {
            return Err(Error::input(
                "outputs",
                "name exactly one of `probabilities: <output>` (single-label, rows sum to 1), `logits: <output>` (softmax applied) or `scores: <output>` (independent scores, e.g. a multi-label tagger)",
            ));
        }
        if self.outputs.scores.is_none()
            && (self.outputs.activation.is_some() || self.outputs.multilabel.is_some())
        {
            return Err(Error::input(
                "outputs",
                "`activation` and `multilabel` describe a `scores` output; with `probabilities` or `logits` leave them out",
            ));
        }
        Ok(())
    }

    /// `patching` fits the audio input and the score output.
    fn check_patching(&self) -> Result<()> {
        if let Some(p) = &self.patching {
            if p.frames == 0 || p.hop == Some(0) {
                return Err(Error::input(
                    "patching",
                    "`frames` and `hop` must be at least 1",
                ));
            }
            if p.hop() > p.frames {
                return Err(Error::input(
                    "patching.hop",
                    format!(
                        "{} is longer than a patch ({} frames), so frames between patches would never be read; use a hop of at most `frames`",
                        p.hop(),
                        p.frames
                    ),
                ));
            }
            if !self.inputs.iter().any(|i| i.audio().is_some()) {
                return Err(Error::input(
                    "patching",
                    "cuts the audio input into patches, but the model has no audio input",
                ));
            }
            if p.reduce == PatchReduce::Max
                && matches!(
                    self.score_output().1,
                    ScoreKind::Probabilities | ScoreKind::Logits
                )
            {
                return Err(Error::input(
                    "patching.reduce",
                    "the maximum over patches of single-label probabilities does not sum to 1; use `reduce: mean`, or declare the output as `scores:`",
                ));
            }
            if let Some(a) = self
                .outputs
                .attention
                .iter()
                .find(|a| a.modality != Modality::Lyrics)
            {
                return Err(Error::input(
                    format!("outputs.attention.{}", a.name),
                    "audio attention outputs of patched models are not supported (each patch has its own keys); remove it or `patching` (lyrics attention of a split model is read per clip)",
                ));
            }
        }
        Ok(())
    }

    /// `max_batch`, `execution_providers`, `intra_threads` and `window_seconds`.
    fn check_limits(&self) -> Result<()> {
        if self.max_batch == Some(0) {
            return Err(Error::input(
                "max_batch",
                "must be at least 1 (the most clips × patches one model run receives)",
            ));
        }
        if let Some(list) = &self.execution_providers {
            check_execution_providers(list, "execution_providers")?;
        }
        if self.intra_threads == Some(0) {
            return Err(Error::input("intra_threads", "must be at least 1"));
        }
        if let Some(w) = self.window_seconds {
            if !(w.is_finite() && w > 0.0) {
                return Err(Error::input(
                    "window_seconds",
                    format!("is {w}; it must be a positive number of seconds (the audio the model reads), or left out"),
                ));
            }
        }
        Ok(())
    }

    /// Distinct input names, one audio input, token inputs and what derives from them.
    fn check_inputs(&self) -> Result<()> {
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
        Ok(())
    }

    /// Each attention output's layout, modality and keys.
    fn check_attention(&self) -> Result<()> {
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
            if let Some(keys) = &a.keys {
                let key = format!("outputs.attention.{}.keys", a.name);
                match (a.modality, keys.grid) {
                    (Modality::Lyrics, Some(_)) => {
                        return Err(Error::input(
                            key,
                            "`grid` describes audio patches; lyric keys are tokens (give only `special`)",
                        ))
                    }
                    (_, Some(grid)) => {
                        if grid.contains(&0) {
                            return Err(Error::input(key, "`grid` sizes must be at least 1"));
                        }
                        if !matches!((keys.patch_frames, keys.patch_stride), (Some(f), Some(s)) if f > 0 && s > 0) {
                            return Err(Error::input(
                                key,
                                "a `grid` needs `patch_frames` and `patch_stride` (input frames per time column and between columns, both at least 1), so each column's time span is known",
                            ));
                        }
                    }
                    (_, None) if keys.patch_frames.is_some() || keys.patch_stride.is_some() => {
                        return Err(Error::input(
                            key,
                            "`patch_frames` and `patch_stride` describe the columns of a `grid`; give `grid: [frequency, time]` too",
                        ))
                    }
                    _ => {}
                }
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

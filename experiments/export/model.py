"""PyTorch definitions of the classifiers the MusicLIME paper explains, and their ONNX stages.

The paper (Sotirou, Lyberatos, Menis Mastromichalakis, Stamou: "MusicLIME: Explainable
Multimodal Music Understanding", ICASSP 2025, arXiv:2409.10496) explains three classifiers:

* **audio-only**: an Audio Spectrogram Transformer fine-tuned from
  `MIT/ast-finetuned-audioset-10-10-0.4593` through `AutoModelForAudioClassification`, i.e.
  transformers' `ASTForAudioClassification`: the AST encoder, its pooled output (the mean of the
  final-layer-normed [CLS] and distillation tokens) and `ASTMLPHead` (LayerNorm, then Linear to
  the classes);
* **lyrics-only**: `roberta-large` fine-tuned through `AutoModelForSequenceClassification`, i.e.
  `RobertaForSequenceClassification`: the RoBERTa encoder (no pooler) and
  `RobertaClassificationHead` on the `<s>` token's final hidden state (dropout, Linear
  hidden→hidden, tanh, dropout, Linear hidden→classes);
* **multimodal (late fusion)**: an `ASTModel` and a `RobertaModel` side by side, and a fusion
  head over their two pooled embeddings.

Where the fusion head is defined
--------------------------------
The authors' repository https://github.com/IamTheo2000/MusicLIME (read at commit 52796d8,
"Update README.md"), notebook ``Models/Model Related.ipynb``, code cell 2 (the same classes are
repeated in ``Results/ModelResults.ipynb`` where the trained state dicts are loaded and
evaluated), defines the multimodal model as follows (paraphrased, not copied):

* audio embedding: ``ASTModel(input_values)[1]``, the model's ``pooler_output``:
  ``(h[:, 0] + h[:, 1]) / 2`` of the final layer-normed hidden states h (the [CLS] and
  distillation tokens), size ``ast.config.hidden_size`` (768 for the AudioSet AST);
* text embedding: ``RobertaModel(input_ids, attention_mask)[0][:, 0]``, the final hidden state
  of the ``<s>`` token (NOT RoBERTa's ``pooler_output``, which would add dense + tanh; the pooler
  exists in the model but is unused), size ``roberta.config.hidden_size`` (1024 for
  roberta-large);
* fusion: ``torch.cat((audio, text), dim=1)``, audio first, then **LayerNorm** over the
  concatenated vector (``nn.LayerNorm(audio + text)``, default eps 1e-5 and affine), then **one
  Linear** layer to the classes. No dropout, no hidden layer, no activation: the head returns
  logits (the probabilities are their softmax).
* attribute names: ``audio_model``, ``text_model``, ``classifier.layer_norm``, ``classifier.fc``
  (we use the same names so the authors' published ``model_state_dict`` loads into
  :class:`LateFusionClassifier` key for key).

Preprocessing the authors used (``Data/Dataset Related.ipynb``): lyrics lower-cased, ASCII
punctuation removed, newlines/tabs turned into spaces and whitespace collapsed, then the
roberta-large tokenizer with ``max_length=256`` (truncation, padding to max_length); audio
loaded with ``librosa.load(sr=44100)`` and featurised with
``ASTFeatureExtractor.from_pretrained("MIT/ast-finetuned-audioset-10-10-0.4593",
sampling_rate=44100)`` (so their Kaldi fbank ran at 44.1 kHz; see README.md here).

The code below is ours; only the architecture follows the authors' definition.

ONNX stages
-----------
For musiclime, each classifier is cut into stages (see ``src/model/onnx/spec.rs``): an audio
encoder (fbank → pooled embedding + stacked attention maps), a text encoder (token ids and
mask → ``<s>`` embedding + stacked attention maps) and a head (embedding(s) → logits). The
stage modules below wrap the same submodules, so chaining them computes exactly the full
model's forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from transformers import (
    ASTConfig,
    ASTForAudioClassification,
    ASTModel,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaModel,
)

ARCHITECTURES = ("late_fusion", "ast", "roberta")


def eager(config):
    """Eager attention: SDPA (transformers' default) returns no attention maps."""
    config._attn_implementation = "eager"
    return config


# --------------------------------------------------------------------------------------------
# The late-fusion head and classifier (the authors' multimodal model).
# --------------------------------------------------------------------------------------------


class LateFusionHead(nn.Module):
    """LayerNorm over [audio ; text], then one Linear layer to the classes (logits)."""

    def __init__(self, audio_dim: int, text_dim: int, num_labels: int):
        super().__init__()
        width = audio_dim + text_dim
        self.layer_norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, num_labels)

    def forward(self, audio_embedding: torch.Tensor, text_embedding: torch.Tensor) -> torch.Tensor:
        joint = torch.cat((audio_embedding, text_embedding), dim=-1)
        return self.fc(self.layer_norm(joint))


def ast_pooled(encoder: ASTModel, input_values: torch.Tensor, attentions: bool):
    """AST's pooled embedding ([CLS] and distillation mean) and, if asked, its attention maps."""
    out = encoder(input_values=input_values, output_attentions=attentions, return_dict=True)
    return out.pooler_output, out.attentions


def roberta_first_token(
    encoder: RobertaModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    attentions: bool,
):
    """The `<s>` token's final hidden state and, if asked, the attention maps."""
    out = encoder(
        input_ids=input_ids,
        attention_mask=attention_mask,
        output_attentions=attentions,
        return_dict=True,
    )
    return out.last_hidden_state[:, 0], out.attentions


def stack_attentions(maps) -> torch.Tensor:
    """Per-layer [batch, heads, query, key] maps → one [layers, batch, heads, query, key]."""
    if not maps:
        raise RuntimeError(
            "the encoder returned no attention maps; build it with eager attention "
            "(config._attn_implementation = 'eager'), SDPA and flash attention return none"
        )
    return torch.stack(tuple(maps), dim=0)


class LateFusionClassifier(nn.Module):
    """AST + RoBERTa + :class:`LateFusionHead`, as in the MusicLIME paper."""

    architecture = "late_fusion"

    def __init__(self, audio_model: ASTModel, text_model: RobertaModel, num_labels: int):
        super().__init__()
        self.audio_model = audio_model
        self.text_model = text_model
        self.classifier = LateFusionHead(
            audio_model.config.hidden_size, text_model.config.hidden_size, num_labels
        )

    @classmethod
    def from_configs(cls, ast_config: ASTConfig, roberta_config: RobertaConfig, num_labels: int):
        return cls(ASTModel(eager(ast_config)), RobertaModel(eager(roberta_config)), num_labels)

    def forward(self, input_values, input_ids, attention_mask, output_attentions: bool = False):
        audio, audio_maps = ast_pooled(self.audio_model, input_values, output_attentions)
        text, text_maps = roberta_first_token(
            self.text_model, input_ids, attention_mask, output_attentions
        )
        out = {"logits": self.classifier(audio, text)}
        if output_attentions:
            out["audio_attentions"] = stack_attentions(audio_maps)
            out["text_attentions"] = stack_attentions(text_maps)
        return out


# --------------------------------------------------------------------------------------------
# Unimodal classifiers: transformers' own heads, as the authors trained them.
# --------------------------------------------------------------------------------------------


class ASTClassifier(nn.Module):
    """Audio-only: `ASTForAudioClassification` (AST, pooled output, LayerNorm + Linear)."""

    architecture = "ast"

    def __init__(self, model: ASTForAudioClassification):
        super().__init__()
        self.model = model

    def forward(self, input_values, output_attentions: bool = False):
        out = self.model(input_values=input_values, output_attentions=output_attentions)
        result = {"logits": out.logits}
        if output_attentions:
            result["audio_attentions"] = stack_attentions(out.attentions)
        return result


class RobertaClassifier(nn.Module):
    """Lyrics-only: `RobertaForSequenceClassification` (RoBERTa, `<s>` token, dense-tanh head)."""

    architecture = "roberta"

    def __init__(self, model: RobertaForSequenceClassification):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, output_attentions: bool = False):
        out = self.model(
            input_ids=input_ids, attention_mask=attention_mask, output_attentions=output_attentions
        )
        result = {"logits": out.logits}
        if output_attentions:
            result["text_attentions"] = stack_attentions(out.attentions)
        return result


# --------------------------------------------------------------------------------------------
# Stage modules for the ONNX export.
# --------------------------------------------------------------------------------------------


class AudioEncoderStage(nn.Module):
    """fbank [batch, frames, mels] → pooled embedding [batch, hidden] and/or the stacked
    attention maps [layers, batch, heads, tokens, tokens] (`returns`: which, in that order)."""

    def __init__(self, encoder: ASTModel, returns=("embedding", "attentions")):
        super().__init__()
        self.encoder = encoder
        self.returns = tuple(returns)

    def forward(self, fbank):
        pooled, maps = ast_pooled(self.encoder, fbank, "attentions" in self.returns)
        out = [pooled if r == "embedding" else stack_attentions(maps) for r in self.returns]
        return out[0] if len(out) == 1 else tuple(out)


class TextEncoderStage(nn.Module):
    """(input_ids, attention_mask) → `<s>` embedding [batch, hidden] and/or the stacked
    attention maps [layers, batch, heads, sequence, sequence]."""

    def __init__(self, encoder: RobertaModel, returns=("embedding", "attentions")):
        super().__init__()
        self.encoder = encoder
        self.returns = tuple(returns)

    def forward(self, input_ids, attention_mask):
        first, maps = roberta_first_token(self.encoder, input_ids, attention_mask,
                                          "attentions" in self.returns)
        out = [first if r == "embedding" else stack_attentions(maps) for r in self.returns]
        return out[0] if len(out) == 1 else tuple(out)


class FusionStage(nn.Module):
    """(audio_embedding, text_embedding) → logits."""

    def __init__(self, head: LateFusionHead):
        super().__init__()
        self.head = head

    def forward(self, audio_embedding, text_embedding):
        return self.head(audio_embedding, text_embedding)


class ASTHeadStage(nn.Module):
    """pooled AST embedding → logits (`ASTMLPHead`)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, audio_embedding):
        return self.head(audio_embedding)


class RobertaHeadStage(nn.Module):
    """`<s>` embedding → logits (`RobertaClassificationHead` reads token 0 of its input)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, text_embedding):
        return self.head(text_embedding.unsqueeze(1))


@dataclass
class Stage:
    """One ONNX graph: a module, its input/output names and its dynamic axes."""

    file: str
    module: nn.Module
    inputs: list[str]
    outputs: list[str]
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)

    def __post_init__(self):
        # A fresh nn.Module is in training mode, and torch.onnx.export restores the wrapper's
        # mode *recursively* after exporting: a training-mode wrapper would leave the wrapped
        # encoder in training mode, so dropout would make later PyTorch references disagree.
        self.module.eval()


AUDIO_AXES = {"fbank": {0: "batch"}, "audio_embedding": {0: "batch"}, "audio_attentions": {1: "batch"}}
TEXT_AXES = {
    "input_ids": {0: "batch", 1: "sequence"},
    "attention_mask": {0: "batch", 1: "sequence"},
    "text_embedding": {0: "batch"},
    "text_attentions": {1: "batch", 3: "sequence", 4: "sequence"},
}


ATTENTION_MODES = ("inline", "separate", "none")


def _encoder_stages(kind: str, encoder: nn.Module, attention: str) -> list[Stage]:
    """The encoder stage(s) of one modality.

    inline: one graph writes the embedding and the attention maps; separate: the encoder writes
    the embedding only and a second graph (the same encoder) writes the attention maps, so a
    runtime that skips stages whose outputs nobody reads (musiclime does) computes the maps only
    when it asks for attention; none: no attention output.
    """
    if attention not in ATTENTION_MODES:
        raise ValueError(f"attention mode {attention!r}; use one of {ATTENTION_MODES}")
    cls, axes = (AudioEncoderStage, AUDIO_AXES) if kind == "audio" else (TextEncoderStage, TEXT_AXES)
    inputs = ["fbank"] if kind == "audio" else ["input_ids", "attention_mask"]
    emb, att = f"{kind}_embedding", f"{kind}_attentions"

    def stage(file, returns, outputs):
        names = [*inputs, *outputs]
        return Stage(file, cls(encoder, returns), inputs, outputs,
                     {k: v for k, v in axes.items() if k in names})

    if attention == "inline":
        return [stage(f"{kind}_encoder.onnx", ("embedding", "attentions"), [emb, att])]
    stages = [stage(f"{kind}_encoder.onnx", ("embedding",), [emb])]
    if attention == "separate":
        stages.append(stage(f"{kind}_attention.onnx", ("attentions",), [att]))
    return stages


def stages_of(model: nn.Module, attention: str = "inline") -> list[Stage]:
    """The ONNX stages of a classifier, in run order; the last one writes `logits`."""
    if isinstance(model, LateFusionClassifier):
        return [
            *_encoder_stages("audio", model.audio_model, attention),
            *_encoder_stages("text", model.text_model, attention),
            Stage("fusion.onnx", FusionStage(model.classifier),
                  ["audio_embedding", "text_embedding"], ["logits"],
                  {"audio_embedding": {0: "batch"}, "text_embedding": {0: "batch"},
                   "logits": {0: "batch"}}),
        ]
    if isinstance(model, ASTClassifier):
        return [
            *_encoder_stages("audio", model.model.audio_spectrogram_transformer, attention),
            Stage("head.onnx", ASTHeadStage(model.model.classifier), ["audio_embedding"],
                  ["logits"], {"audio_embedding": {0: "batch"}, "logits": {0: "batch"}}),
        ]
    if isinstance(model, RobertaClassifier):
        return [
            *_encoder_stages("text", model.model.roberta, attention),
            Stage("head.onnx", RobertaHeadStage(model.model.classifier), ["text_embedding"],
                  ["logits"], {"text_embedding": {0: "batch"}, "logits": {0: "batch"}}),
        ]
    raise TypeError(f"no ONNX stages for {type(model).__name__}")


def audio_encoder_of(model: nn.Module) -> ASTModel | None:
    if isinstance(model, LateFusionClassifier):
        return model.audio_model
    if isinstance(model, ASTClassifier):
        return model.model.audio_spectrogram_transformer
    return None


def text_encoder_of(model: nn.Module) -> RobertaModel | None:
    if isinstance(model, LateFusionClassifier):
        return model.text_model
    if isinstance(model, RobertaClassifier):
        return model.model.roberta
    return None


# --------------------------------------------------------------------------------------------
# Where AST's attention keys sit on the spectrogram.
# --------------------------------------------------------------------------------------------


def ast_key_layout(config: ASTConfig) -> dict:
    """The `keys:` block of the audio attention entry, from the AST config.

    `ASTEmbeddings` prepends two tokens ([CLS], distillation) to the patch tokens.
    `ASTPatchEmbeddings` turns the input [batch, frames, mels] into [batch, 1, mels, frames]
    (unsqueeze + transpose(2, 3)), applies Conv2d(kernel patch_size × patch_size, stride
    (frequency_stride, time_stride)) giving [batch, hidden, F, T], then `flatten(2)`: the
    C-order flatten of (F, T) puts key special + f·T + t, i.e. frequency-major (all time
    columns of the lowest frequency row first). `get_shape` gives
    F = (num_mel_bins − patch_size) // frequency_stride + 1 and
    T = (max_length − patch_size) // time_stride + 1.
    """
    frequency = (config.num_mel_bins - config.patch_size) // config.frequency_stride + 1
    time = (config.max_length - config.patch_size) // config.time_stride + 1
    return {
        "special": 2,
        "grid": [frequency, time],
        "order": "frequency_major",
        "patch_frames": config.patch_size,
        "patch_stride": config.time_stride,
    }


@torch.no_grad()
def probe_ast_key_layout(encoder: ASTModel) -> dict:
    """Measures the layout of `ast_key_layout` on the encoder's own patch embedding.

    Puts a single non-zero input cell at (frame, mel) and finds which patch tokens change;
    returns the token index of the first patch containing it, for several cells, so the
    caller can compare with the formula.
    """
    config = encoder.config
    embed = encoder.embeddings.patch_embeddings
    zeros = torch.zeros(1, config.max_length, config.num_mel_bins)
    base = embed(zeros)[0]
    layout = ast_key_layout(config)
    frequency, time = layout["grid"]
    found = []
    for frame, mel in [(0, 0), (config.time_stride, 0), (0, config.frequency_stride),
                       (config.max_length - 1, config.num_mel_bins - 1),
                       (5 * config.time_stride + 3, 3 * config.frequency_stride + 2)]:
        x = zeros.clone()
        x[0, frame, mel] = 1.0
        changed = (embed(x)[0] - base).abs().sum(-1) > 0
        tokens = [int(i) + layout["special"] for i in torch.nonzero(changed).flatten()]
        # The patches whose windows contain the cell, by the formula.
        expected = []
        for f in range(frequency):
            for t in range(time):
                f0, t0 = f * config.frequency_stride, t * config.time_stride
                if f0 <= mel < f0 + config.patch_size and t0 <= frame < t0 + config.patch_size:
                    expected.append(layout["special"] + f * time + t)
        found.append({"frame": frame, "mel": mel, "tokens": tokens, "formula": sorted(expected)})
    return {"layout": layout, "probes": found,
            "agrees": all(p["tokens"] == p["formula"] for p in found),
            "num_tokens": 2 + frequency * time,
            "position_embeddings": int(encoder.embeddings.position_embeddings.shape[1])}

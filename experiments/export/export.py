"""Export a MusicLIME classifier checkpoint (PyTorch / transformers) to ONNX stages for musiclime.

    python experiments/export/export.py CHECKPOINT_DIR OUT_DIR [--force] [--case AUDIO LYRICS]...
        [--preset paper] [--model-class MODULE:NAME]

CHECKPOINT_DIR holds `musiclime_export.json` (see README.md, "The checkpoint directory"):
`architecture` (`late_fusion`, `ast` or `roberta`), `classes`, and where the encoders
(transformers `save_pretrained` directories), the fusion head's state_dict and the tokenizer
are. OUT_DIR receives

* `audio_encoder.onnx` (`fbank` [batch, frames, mels] → `audio_embedding` [batch, hidden],
  `audio_attentions` [layers, batch, heads, tokens, tokens]),
* `text_encoder.onnx` (`input_ids`, `attention_mask` int64 [batch, sequence] →
  `text_embedding` [batch, hidden], `text_attentions` [layers, batch, heads, sequence, sequence]),
* `fusion.onnx` (late fusion: `audio_embedding`, `text_embedding` → `logits`) or `head.onnx`
  (unimodal: the embedding → `logits`),
* `tokenizer.json` (models that read lyrics) and `model.yaml` (musiclime's model spec, with
  `window_seconds`, the audio AST reads).

`--preset paper` (or `"preset": "paper"`) sets the MusicLIME authors' settings and `classes:
paper-genre` / `paper-emotion` their class lists (settings.py); every setting is printed with
its source. `--model-class` adds your own PyTorch class to the parity check (user_class.py).

The graphs are exported with opset 17 and the TorchScript exporter (`dynamo=False`), dynamic
batch (and sequence) axes, eager attention. `--attention separate` moves the attention maps
into second copies of the encoders (`audio_attention.onnx`, `text_attention.onnx`), so that
predictions do not compute them; `--attention none` leaves them out. The export is written to a temporary directory
beside OUT_DIR, checked, and only then renamed to OUT_DIR: every run ends with ONNX Runtime
compared against the PyTorch model on real audio and lyrics (probabilities and every
attention map within --tolerance, default 1e-4, at full and batch size 1 and, for text, at a
shorter sequence length). On any failure OUT_DIR is left as it was.

Exit status: 0 exported; 2 the checkpoint or the arguments are unusable (unknown architecture,
missing weights, outputs that are not [batch, classes] logits or probabilities, ...); 3 the ONNX
graphs do not reproduce PyTorch within the tolerance (the largest difference, which output and
where, is printed).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import settings as presets  # noqa: E402
import user_class  # noqa: E402
import variants as cheaper  # noqa: E402
from model import (  # noqa: E402
    ARCHITECTURES,
    ASTClassifier,
    LateFusionClassifier,
    RobertaClassifier,
    ast_key_layout,
    audio_encoder_of,
    eager,
    probe_ast_key_layout,
    stages_of,
    text_encoder_of,
)

EXIT_BAD_INPUT = 2
EXIT_MISMATCH = 3
CHECKPOINT_FILE = "musiclime_export.json"
OPSET = 17

DEFAULT_CASES = [
    ("tests/fixtures/frontend/music_16k.flac", "tests/fixtures/transformers/lyrics/amazing_grace.txt"),
    ("tests/fixtures/transformers/music_b_16k.flac", "tests/fixtures/transformers/lyrics/my_bonnie.txt"),
    ("tests/fixtures/frontend/music_16k.flac", "tests/fixtures/transformers/lyrics/the_star.txt"),
]


class ExportError(Exception):
    """A problem that ends the export; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.code = code


def log(*args):
    print(*args, flush=True)


# --------------------------------------------------------------------------------------------
# The checkpoint directory.
# --------------------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    directory: Path
    architecture: str
    classes: list[str]
    output: str  # "logits" | "probabilities"
    model: torch.nn.Module
    tokenizer: Path | None = None
    max_length: int | None = None
    pad_id: int | None = None
    extractor: object | None = None
    lyrics_normalization: str = "none"
    description: str = ""
    notes: list[str] = field(default_factory=list)
    settings: presets.Settings | None = None
    spec: dict = field(default_factory=dict)

    @property
    def reads_audio(self):
        return audio_encoder_of(self.model) is not None

    @property
    def reads_text(self):
        return text_encoder_of(self.model) is not None


def _path(directory: Path, spec: dict, key: str, required: bool) -> Path | None:
    value = spec.get(key)
    if value is None:
        if required:
            raise ExportError(f"{directory / CHECKPOINT_FILE}: `{key}` is missing")
        return None
    path = (directory / value).resolve()
    if not path.exists():
        raise ExportError(f"{directory / CHECKPOINT_FILE}: `{key}`: {path} does not exist")
    return path


def _from_pretrained(cls, directory: Path, what: str, weights_follow: bool):
    """Loads `cls` from a save_pretrained directory with eager attention; every weight must be
    in the checkpoint (a missing head would be silently random)."""
    from transformers import AutoConfig

    if not (directory / "config.json").is_file():
        raise ExportError(f"{directory}: no config.json; `{what}` must be a save_pretrained directory")
    if weights_follow:
        config = eager(AutoConfig.from_pretrained(directory))
        return cls(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, info = cls.from_pretrained(directory, attn_implementation="eager",
                                          output_loading_info=True)
    missing = sorted(info.get("missing_keys", []))
    mismatched = sorted(str(k) for k in info.get("mismatched_keys", []))
    if missing or mismatched:
        hint = ""
        if any(k.startswith("classifier.") for k in missing):
            hint = (" The directory holds an encoder without a classification head, so the"
                    " model's output would come from a randomly initialised head, not trained"
                    " logits; save the fine-tuned classifier (save_pretrained of the"
                    " *ForAudioClassification / *ForSequenceClassification model) instead.")
        raise ExportError(f"{directory}: {cls.__name__} weights missing from the checkpoint: "
                          f"{missing[:6]}{' …' if len(missing) > 6 else ''}"
                          f"{' mismatched: ' + str(mismatched[:6]) if mismatched else ''}.{hint}")
    eager(model.config)
    return model


def _load_state_dict(model: torch.nn.Module, path: Path):
    """A whole-model state_dict (e.g. the authors' published files): raw, or under
    `model_state_dict` / `state_dict`; every parameter must be present."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model_state_dict", "state_dict"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("position_ids")]
    unexpected = [k for k in result.unexpected_keys if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ExportError(f"{path}: state_dict does not fit the {type(model).__name__}: "
                          f"missing {missing[:6]}, unexpected {unexpected[:6]}")


def load_checkpoint(directory: Path, preset: str | None = None) -> Checkpoint:
    """Loads the checkpoint in `directory` with its settings (`preset`: --preset)."""
    from transformers import (ASTForAudioClassification, ASTModel,
                              RobertaForSequenceClassification, RobertaModel)

    directory = directory.resolve()
    spec_path = directory / CHECKPOINT_FILE
    if not spec_path.is_file():
        raise ExportError(f"{directory}: no {CHECKPOINT_FILE} (see experiments/export/README.md)")
    try:
        spec = json.loads(spec_path.read_text())
    except json.JSONDecodeError as e:
        raise ExportError(f"{spec_path}: not JSON: {e}")
    architecture = spec.get("architecture")
    if architecture not in ARCHITECTURES:
        raise ExportError(f"{spec_path}: unknown architecture {architecture!r}; supported: "
                          f"{', '.join(ARCHITECTURES)} (late_fusion = AST + RoBERTa + the paper's"
                          " LayerNorm/Linear head; ast = ASTForAudioClassification; roberta ="
                          " RobertaForSequenceClassification)")
    try:
        settings = presets.resolve(spec, spec_path, preset)
    except presets.SettingsError as e:
        raise ExportError(str(e))
    classes = settings.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise ExportError(f"{spec_path}: `classes` must list at least two class names, or name "
                          f"a class preset ({', '.join(sorted(presets.CLASS_PRESETS))})")
    if len(set(classes)) != len(classes):
        raise ExportError(f"{spec_path}: `classes` lists a name twice")
    if "num_classes" in spec and spec["num_classes"] != len(classes):
        raise ExportError(f"{spec_path}: num_classes is {spec['num_classes']} but `classes` "
                          f"names {len(classes)}")
    output = spec.get("output", "logits")
    if output not in ("logits", "probabilities"):
        raise ExportError(f"{spec_path}: `output` is {output!r}; musiclime reads `logits` "
                          "(softmax applied) or `probabilities` (rows sum to 1)")
    state_dict = _path(directory, spec, "state_dict", False)
    weights_follow = state_dict is not None

    audio_dir = _path(directory, spec, "audio", architecture in ("late_fusion", "ast"))
    text_dir = _path(directory, spec, "text", architecture in ("late_fusion", "roberta"))
    if architecture == "late_fusion":
        audio = _from_pretrained(ASTModel, audio_dir, "audio", weights_follow)
        text = _from_pretrained(RobertaModel, text_dir, "text", weights_follow)
        model = LateFusionClassifier(audio, text, len(classes))
        if not weights_follow:
            head = _path(directory, spec, "head", True)
            _load_head(model, head)
    elif architecture == "ast":
        model = ASTClassifier(_from_pretrained(ASTForAudioClassification, audio_dir, "audio",
                                               weights_follow))
    else:
        model = RobertaClassifier(_from_pretrained(RobertaForSequenceClassification, text_dir,
                                                   "text", weights_follow))
    if state_dict is not None:
        inner = model.model if architecture != "late_fusion" else model
        _load_state_dict(inner, state_dict)
    model.eval()

    ck = Checkpoint(directory, architecture, classes, output, model,
                    description=spec.get("description", ""), settings=settings, spec=spec)
    if ck.reads_text:
        tok = _path(directory, spec, "tokenizer", False)
        if tok is None and text_dir is not None and (text_dir / "tokenizer.json").is_file():
            tok = text_dir / "tokenizer.json"
        if tok is None:
            raise ExportError(f"{spec_path}: `tokenizer` is missing: name the model's "
                              "tokenizer.json (a fast tokenizer; `AutoTokenizer.save_pretrained`"
                              " writes one)")
        if tok.is_dir():
            tok = tok / "tokenizer.json"
        ck.tokenizer = tok
        encoder = text_encoder_of(model)
        limit = encoder.config.max_position_embeddings - (encoder.config.pad_token_id or 0) - 1
        max_length = settings.get("max_length")
        if max_length is None:
            max_length = min(512, limit)
            settings.values["max_length"] = max_length
            settings.sources["max_length"] = "default: min(512, the encoder's positions)"
        ck.max_length = int(max_length)
        if not 2 <= ck.max_length <= limit:
            raise ExportError(f"{spec_path}: max_length {ck.max_length} does not fit the text "
                              f"encoder ({limit} positions after RoBERTa's padding offset)")
        ck.pad_id = int(spec.get("pad_id", encoder.config.pad_token_id))
        ck.lyrics_normalization = settings.get("lyrics_normalization")
        if ck.lyrics_normalization not in ("none", "paper"):
            raise ExportError(f"{spec_path}: lyrics_normalization must be `none` or `paper`")
    if ck.reads_audio:
        ck.extractor = _feature_extractor(ck, settings, spec_path, audio_dir)
    for key in ("max_length", "lyrics_normalization"):
        if not ck.reads_text:
            settings.values.pop(key, None)
            settings.sources.pop(key, None)
    if not ck.reads_audio:
        settings.values.pop("feature_extractor.sampling_rate", None)
        settings.sources.pop("feature_extractor.sampling_rate", None)
    return ck


def _feature_extractor(ck: Checkpoint, settings, spec_path: Path, audio_dir: Path):
    """The AST feature extractor: the checkpoint's preprocessor_config.json (else the defaults)
    with the settings' `feature_extractor.*` overrides, checked against the AST config."""
    from transformers import ASTFeatureExtractor

    encoder = audio_encoder_of(ck.model)
    if (audio_dir / "preprocessor_config.json").is_file():
        extractor = ASTFeatureExtractor.from_pretrained(audio_dir)
    else:
        extractor = ASTFeatureExtractor()
        ck.notes.append(f"{audio_dir} has no preprocessor_config.json: using "
                        "ASTFeatureExtractor's defaults")
    for name, value in settings.values.items():
        if not name.startswith("feature_extractor.") or value is None:
            continue
        key = name.removeprefix("feature_extractor.")
        if not hasattr(extractor, key):
            raise ExportError(f"{spec_path}: feature_extractor.{key} is not an "
                              "ASTFeatureExtractor setting")
        setattr(extractor, key, value)
    if extractor.num_mel_bins != encoder.config.num_mel_bins:
        raise ExportError(f"feature extractor has {extractor.num_mel_bins} mel bins, the AST "
                          f"config {encoder.config.num_mel_bins}")
    if extractor.max_length != encoder.config.max_length:
        raise ExportError(f"feature extractor pads to {extractor.max_length} frames, the AST "
                          f"config expects {encoder.config.max_length}")
    settings.values["feature_extractor.sampling_rate"] = int(extractor.sampling_rate)
    if settings.sources["feature_extractor.sampling_rate"] == "default":
        settings.sources["feature_extractor.sampling_rate"] = (
            "default: preprocessor_config.json / ASTFeatureExtractor")
    return extractor


def _load_head(model: LateFusionClassifier, path: Path):
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    # Accept the head alone or with the `classifier.` prefix of the whole model.
    state = {k.removeprefix("classifier."): v for k, v in state.items()}
    expected = model.classifier.state_dict()
    for key, value in state.items():
        if key in expected and tuple(value.shape) != tuple(expected[key].shape):
            raise ExportError(
                f"{path}: `{key}` has shape {list(value.shape)}, the head for "
                f"{model.audio_model.config.hidden_size} + {model.text_model.config.hidden_size} "
                f"features and {model.classifier.fc.out_features} classes needs "
                f"{list(expected[key].shape)} (do `classes` and the encoders match the head?)")
    result = model.classifier.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ExportError(f"{path}: not the fusion head's state_dict (LayerNorm `layer_norm.*`, "
                          f"Linear `fc.*`): missing {result.missing_keys}, unexpected "
                          f"{result.unexpected_keys}")


# --------------------------------------------------------------------------------------------
# Inputs: audio → AST features, lyrics → token ids, as musiclime will compute them.
# --------------------------------------------------------------------------------------------


def fft_resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited resampling by zero-padding/cropping the spectrum (periodic assumption)."""
    n = int(round(len(x) * target / rate))
    spectrum = np.fft.rfft(x.astype(np.float64))
    keep = min(len(spectrum), n // 2 + 1)
    out = np.zeros(n // 2 + 1, dtype=complex)
    out[:keep] = spectrum[:keep]
    return (np.fft.irfft(out, n) * (n / len(x))).astype(np.float32)


def load_audio(path: Path, rate: int) -> tuple[np.ndarray, list[str]]:
    import soundfile as sf

    data, sr = sf.read(path, dtype="float32", always_2d=True)
    notes = []
    audio = data.mean(axis=1)
    if sr != rate:
        audio = fft_resample(audio, sr, rate)
        notes.append(f"{path.name}: resampled {sr} → {rate} Hz with an FFT resampler (musiclime "
                     "uses rubato, so its features differ slightly; ONNX-vs-PyTorch parity is "
                     "unaffected)")
    return audio, notes


def ast_features(extractor, audio: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = extractor(audio, sampling_rate=extractor.sampling_rate, return_tensors="np")
    return np.asarray(out["input_values"][0], dtype=np.float32)


def paper_normalizer():
    """The authors' lyric cleaning (`text.lower()`, `translate` away `string.punctuation`,
    `' '.join(text.split())`) as a tokenizers normalizer: lower case, drop ASCII punctuation,
    whitespace runs → one space, strip. Python's `str.split()` also splits on the ASCII
    separators U+001C–U+001F, which the regex `\\s` does not match, so they are listed; checked
    against the Python cleaning on Unicode spaces, punctuation, digits and line breaks by
    tests/fixtures/paper_normaliser."""
    from tokenizers import Regex, normalizers

    return normalizers.Sequence([
        normalizers.Lowercase(),
        normalizers.Replace(Regex(r"[!-/:-@\[-`{-~]"), ""),
        normalizers.Replace(Regex(r"[\s\x{1c}-\x{1f}]+"), " "),
        normalizers.Strip(),
    ])


def load_tokenizer(ck: Checkpoint):
    from tokenizers import Tokenizer, normalizers

    tok = Tokenizer.from_file(str(ck.tokenizer))
    if ck.lyrics_normalization == "paper":
        parts = [tok.normalizer] if tok.normalizer is not None else []
        tok.normalizer = normalizers.Sequence(parts + [paper_normalizer()])
    return tok


def encode(tok, text: str, max_length: int, pad_id: int):
    """Token ids and mask as musiclime builds them (truncate to max_length, pad right)."""
    from tokenizers import Tokenizer

    t = Tokenizer.from_str(tok.to_str())
    t.enable_truncation(max_length)
    t.enable_padding(length=max_length, pad_id=pad_id, pad_token=t.id_to_token(pad_id) or "<pad>")
    e = t.encode(text)
    return np.array(e.ids, np.int64), np.array(e.attention_mask, np.int64)


@dataclass
class Case:
    audio: str
    lyrics_file: str
    lyrics: str
    fbank: np.ndarray | None = None
    ids: np.ndarray | None = None
    mask: np.ndarray | None = None


def build_cases(ck: Checkpoint, pairs, tok) -> tuple[list[Case], list[str]]:
    cases, notes = [], []
    for audio_path, lyrics_path in pairs:
        a, lp = Path(audio_path), Path(lyrics_path)
        a = a if a.is_absolute() else REPO / a
        lp = lp if lp.is_absolute() else REPO / lp
        for p in (a, lp):
            if not p.is_file():
                raise ExportError(f"parity input {p} not found")
        case = Case(_rel(a), _rel(lp), lp.read_text())
        if ck.reads_audio:
            audio, n = load_audio(a, ck.extractor.sampling_rate)
            notes += n
            case.fbank = ast_features(ck.extractor, audio)
        if ck.reads_text:
            case.ids, case.mask = encode(tok, case.lyrics, ck.max_length, ck.pad_id)
        cases.append(case)
    return cases, notes


def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def model_inputs(ck: Checkpoint, cases: list[Case], seq: int | None = None) -> dict:
    feeds = {}
    if ck.reads_audio:
        feeds["fbank"] = np.stack([c.fbank for c in cases])
    if ck.reads_text:
        ids = np.stack([c.ids for c in cases])
        mask = np.stack([c.mask for c in cases])
        if seq is not None:  # a shorter sequence: cut, keep the last token </s>-like masks valid
            ids, mask = ids[:, :seq].copy(), mask[:, :seq].copy()
        feeds["input_ids"], feeds["attention_mask"] = ids, mask
    return feeds


# --------------------------------------------------------------------------------------------
# PyTorch reference, ONNX export, ONNX Runtime.
# --------------------------------------------------------------------------------------------


def softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@torch.no_grad()
def torch_reference(ck: Checkpoint, feeds: dict, attentions: bool) -> dict:
    ck.model.eval()
    t = {k: torch.from_numpy(v) for k, v in feeds.items()}
    if isinstance(ck.model, LateFusionClassifier):
        out = ck.model(t["fbank"], t["input_ids"], t["attention_mask"], output_attentions=attentions)
    elif isinstance(ck.model, ASTClassifier):
        out = ck.model(t["fbank"], output_attentions=attentions)
    else:
        out = ck.model(t["input_ids"], t["attention_mask"], output_attentions=attentions)
    return {k: v.float().numpy() for k, v in out.items()}


def check_scores(ck: Checkpoint, scores: np.ndarray, rows: int):
    """The final output must be [batch, classes], finite, and what `output` says it is."""
    what = f"the {ck.architecture} model's output"
    if scores.ndim != 2 or scores.shape[0] != rows:
        raise ExportError(f"{what} has shape {list(scores.shape)} for a batch of {rows}; "
                          f"musiclime needs [batch, classes] logits or probabilities")
    if scores.shape[1] != len(ck.classes):
        raise ExportError(f"{what} has {scores.shape[1]} columns but {CHECKPOINT_FILE} lists "
                          f"{len(ck.classes)} classes ({', '.join(ck.classes)}); the head and "
                          "`classes` must agree")
    if not np.isfinite(scores).all():
        r, c = np.argwhere(~np.isfinite(scores))[0]
        raise ExportError(f"{what} is {scores[r, c]} for row {r}, class {ck.classes[c]!r}")
    in_unit = (scores >= 0).all() and (scores <= 1).all()
    sums = scores.sum(axis=1)
    if ck.output == "probabilities":
        if not in_unit or np.abs(sums - 1).max() > 1e-4:
            raise ExportError(f"{CHECKPOINT_FILE} declares `output: probabilities`, but {what} "
                              f"is not: values in [{scores.min():.4g}, {scores.max():.4g}], row sums "
                              f"{np.round(sums, 4).tolist()}; declare `output: logits` if the "
                              "model returns unnormalised scores")
    elif in_unit and np.abs(sums - 1).max() < 1e-4:
        raise ExportError(f"{what} already sums to 1 in every row (probabilities), but "
                          f"{CHECKPOINT_FILE} declares `output: logits`, and musiclime would "
                          "apply softmax a second time; declare `output: probabilities`")


def example_inputs(ck: Checkpoint, stage, hidden: dict) -> tuple:
    g = torch.Generator().manual_seed(0)
    ex = {}
    if ck.reads_audio:
        enc = audio_encoder_of(ck.model)
        ex["fbank"] = torch.randn(2, enc.config.max_length, enc.config.num_mel_bins, generator=g)
    if ck.reads_text:
        enc = text_encoder_of(ck.model)
        length = ck.max_length
        ids = torch.randint(5, enc.config.vocab_size, (2, length), generator=g)
        mask = torch.ones(2, length, dtype=torch.long)
        # Row 1 is padded, so the traced graph takes the padding path of the mask code.
        mask[1, length // 2:] = 0
        ids[1, length // 2:] = ck.pad_id
        ids[:, 0] = 0
        ex["input_ids"], ex["attention_mask"] = ids, mask
    for name, width in hidden.items():
        ex[name] = torch.randn(2, width, generator=g)
    return tuple(ex[name] for name in stage.inputs)


def export_stages(ck: Checkpoint, stages, directory: Path, opset: int):
    hidden = {}
    if ck.reads_audio:
        hidden["audio_embedding"] = audio_encoder_of(ck.model).config.hidden_size
    if ck.reads_text:
        hidden["text_embedding"] = text_encoder_of(ck.model).config.hidden_size
    for stage in stages:
        started = time.time()
        args = example_inputs(ck, stage, hidden)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(stage.module, args, str(directory / stage.file),
                              input_names=stage.inputs, output_names=stage.outputs,
                              dynamic_axes=stage.dynamic_axes, opset_version=opset,
                              dynamo=False, do_constant_folding=True)
        ck.model.eval()
        import onnx
        onnx.checker.check_model(str(directory / stage.file))
        size = (directory / stage.file).stat().st_size
        log(f"  {stage.file}: {size / 1e6:.2f} MB, {time.time() - started:.1f} s "
            f"({', '.join(stage.inputs)} → {', '.join(stage.outputs)})")


def run_onnx(directory: Path, stages, feeds: dict) -> dict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    values = dict(feeds)
    for stage in stages:
        session = ort.InferenceSession(str(directory / stage.file), options,
                                       providers=["CPUExecutionProvider"])
        outputs = session.run(stage.outputs, {n: values[n] for n in stage.inputs})
        values.update(zip(stage.outputs, outputs))
    return values


# --------------------------------------------------------------------------------------------
# Parity.
# --------------------------------------------------------------------------------------------

AXES = {"audio_attentions": ["layer", "batch", "head", "query", "key"],
        "text_attentions": ["layer", "batch", "head", "query", "key"],
        "probabilities": ["batch", "class"], "logits": ["batch", "class"]}


def compare(reference: dict, onnx_out: dict, names: list[str], label: str, cases: list[Case],
            classes: list[str]) -> dict:
    """Largest |ONNX − PyTorch| of each output, with where it is."""
    result = {}
    for name in names:
        ref, got = reference[name], onnx_out[name]
        if ref.shape != got.shape:
            raise ExportError(f"{label}: ONNX output `{name}` has shape {list(got.shape)}, "
                              f"PyTorch {list(ref.shape)}", EXIT_MISMATCH)
        diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        if not np.isfinite(got).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
            value = math.inf
        else:
            index = tuple(int(i) for i in np.unravel_index(int(diff.argmax()), diff.shape))
            value = float(diff.max())
        where = dict(zip(AXES.get(name, [f"axis{i}" for i in range(diff.ndim)]), index))
        if "batch" in where and where["batch"] < len(cases):
            c = cases[where["batch"]]
            where["case"] = f"{c.audio} + {c.lyrics_file}"
        if "class" in where:
            where["class"] = classes[where["class"]]
        result[name] = {"max_abs_diff": value, "at": where,
                        "onnx": float(got[index]), "pytorch": float(ref[index])}
    return result


def parity(ck: Checkpoint, stages, directory: Path, cases: list[Case], tolerance: float,
           attention_names: list[str]) -> tuple[dict, dict]:
    """ONNX Runtime vs PyTorch on the cases: all at once, the first alone (batch 1) and, for
    text, at a shorter sequence length. Returns (report, the full-batch PyTorch outputs)."""
    checks = {}
    runs = [("batch", cases, None), ("batch1", cases[:1], None)]
    if ck.reads_text and ck.max_length > 8:
        runs.append((f"seq{ck.max_length // 4}", cases, ck.max_length // 4))
    full_reference = None
    for label, subset, seq in runs:
        feeds = model_inputs(ck, subset, seq)
        reference = torch_reference(ck, feeds, bool(attention_names))
        check_scores(ck, reference["logits"], len(subset))
        got = run_onnx(directory, stages, feeds)
        reference["probabilities"] = _probabilities(ck, reference["logits"])
        got["probabilities"] = _probabilities(ck, got["logits"])
        names = ["probabilities", "logits", *attention_names]
        checks[label] = compare(reference, got, names, label, subset, ck.classes)
        if full_reference is None:
            full_reference = reference
    worst = {}
    for label, result in checks.items():
        for name, r in result.items():
            if name not in worst or r["max_abs_diff"] > worst[name]["max_abs_diff"]:
                worst[name] = {**r, "run": label}
    log("  parity (max |ONNX Runtime − PyTorch|):")
    for name, r in worst.items():
        gated = name != "logits"
        flag = "" if not gated or r["max_abs_diff"] <= tolerance else "   <-- over tolerance"
        log(f"    {name:17s} {r['max_abs_diff']:.3e}  at {r['at']} ({r['run']}){flag}")
    bad = {n: r for n, r in worst.items() if n != "logits" and not r["max_abs_diff"] <= tolerance}
    if bad:
        name, r = max(bad.items(), key=lambda kv: kv[1]["max_abs_diff"])
        raise ExportError(
            f"ONNX Runtime does not reproduce PyTorch within {tolerance:g}: `{name}` differs by "
            f"{r['max_abs_diff']:.3e} at {r['at']} in run `{r['run']}` (ONNX {r['onnx']:.6g}, "
            f"PyTorch {r['pytorch']:.6g}); nothing was written", EXIT_MISMATCH)
    return {"tolerance": tolerance, "max_abs_diff": {n: r["max_abs_diff"] for n, r in worst.items()},
            "worst": worst, "runs": checks}, full_reference


def _probabilities(ck: Checkpoint, scores: np.ndarray) -> np.ndarray:
    return scores.astype(np.float64) if ck.output == "probabilities" else softmax(scores)


# --------------------------------------------------------------------------------------------
# model.yaml
# --------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return repr(float(x))


def window_seconds(frames: int, shift_ms: float = 10.0, length_ms: float = 25.0) -> float:
    """Seconds of audio `frames` Kaldi frames read (snip_edges): the last frame's end."""
    return round(((frames - 1) * shift_ms + length_ms) / 1000.0, 6)


def write_model_yaml(ck: Checkpoint, stages, path: Path, attentions: bool, source: str):
    lines = [
        f"# {ck.description or ck.architecture} — exported for musiclime.",
        f"# Written by experiments/export/export.py from {source}; do not edit by hand.",
    ]
    if ck.settings is not None and ck.settings.preset:
        lines.append(f"# Preset: {ck.settings.preset}.")
    lines.append("stages:")
    for s in stages:
        lines.append(f"  - {{onnx: {s.file}, inputs: [{', '.join(s.inputs)}], "
                     f"outputs: [{', '.join(s.outputs)}]}}")
    lines.append(f"classes: [{', '.join(ck.classes)}]")
    if ck.reads_audio:
        frames = int(audio_encoder_of(ck.model).config.max_length)
        lines += [f"# AST reads {frames} frames, (frames - 1) × 10 ms + 25 ms of audio: longer "
                  "clips are explained on",
                  "# this window unless a config says `audio_window: all` or START..END.",
                  f"window_seconds: {_num(window_seconds(frames))}"]
    lines.append("inputs:")
    if ck.reads_audio:
        fe = ck.extractor
        enc = audio_encoder_of(ck.model)
        lines += [
            "  # transformers' ASTFeatureExtractor: torchaudio.compliance.kaldi.fbank(sample_frequency,",
            "  # window_type='hanning', num_mel_bins; Kaldi defaults otherwise, dither 0), zero rows",
            "  # to max_length frames, then (x - mean) / (2 * std).",
            "  - name: fbank",
            "    kind: kaldi_fbank",
            f"    sample_rate: {int(fe.sampling_rate)}",
            "    frame_length_ms: 25.0",
            "    frame_shift_ms: 10.0",
            "    window: hanning",
            "    preemphasis: 0.97",
            "    remove_dc_offset: true",
            f"    n_mels: {int(fe.num_mel_bins)}",
            "    low_freq: 20.0",
            "    high_freq: 0.0",
            "    snip_edges: true",
            "    round_to_power_of_two: true",
            f"    target_frames: {int(enc.config.max_length)}",
        ]
        if fe.do_normalize:
            lines += [f"    mean: {_num(fe.mean)}",
                      f"    std: {_num(round(2 * fe.std, 10))}   # 2 × {_num(fe.std)}"]
        lines.append("    layout: [frames, mels]")
    if ck.reads_text:
        lines += [
            "  - name: input_ids",
            "    kind: token_ids",
            "    tokenizer: tokenizer.json",
            f"    max_length: {ck.max_length}",
            f"    pad_id: {ck.pad_id}",
            "  - {name: attention_mask, kind: attention_mask, of: input_ids}",
        ]
    score = "probabilities" if ck.output == "probabilities" else "logits"
    lines += ["outputs:", f"  {score}: logits"]
    if attentions:
        lines.append("  attention:")
        if ck.reads_audio:
            k = ast_key_layout(audio_encoder_of(ck.model).config)
            lines += [
                "    - name: audio_attentions",
                "      modality: audio",
                "      layout: [layers, batch, heads, query, key]",
                "      keys:",
                f"        special: {k['special']}             # leading keys that are not patches (AST: [CLS], distillation)",
                f"        grid: [{k['grid'][0]}, {k['grid'][1]}]        # the patch grid after them: [frequency, time]",
                f"        order: {k['order']} # key = special + f * time + t   (time_major: special + t * frequency + f)",
                f"        patch_frames: {k['patch_frames']}       # input frames each time column covers ...",
                f"        patch_stride: {k['patch_stride']}       # ... starting every patch_stride frames",
            ]
        if ck.reads_text:
            lines += [
                "    - name: text_attentions",
                "      modality: lyrics",
                "      layout: [layers, batch, heads, query, key]",
                "      keys: {special: 1}   # <s> leads; </s> follows the last real token, then <pad> (masked)",
            ]
    path.write_text("\n".join(lines) + "\n")


def check_model_yaml(path: Path, directory: Path, stages):
    """Re-reads model.yaml and checks the names against the graphs it points to."""
    import onnx
    import yaml

    spec = yaml.safe_load(path.read_text())
    produced = {i["name"] for i in spec["inputs"]}
    for s in spec["stages"]:
        g = onnx.load(str(directory / s["onnx"]), load_external_data=False)
        ins = [i.name for i in g.graph.input]
        outs = [o.name for o in g.graph.output]
        if ins != s["inputs"] or outs != s["outputs"]:
            raise ExportError(f"internal: {s['onnx']} has inputs {ins}, outputs {outs}, "
                              f"model.yaml says {s['inputs']}, {s['outputs']}")
        missing = set(ins) - produced
        if missing:
            raise ExportError(f"internal: {s['onnx']} reads {missing}, which nothing produces")
        produced |= set(outs)
    wanted = [spec["outputs"].get("logits") or spec["outputs"].get("probabilities")]
    wanted += [a["name"] for a in spec["outputs"].get("attention", [])]
    for name in wanted:
        if name not in produced:
            raise ExportError(f"internal: model.yaml reads output `{name}`, no stage writes it")


# --------------------------------------------------------------------------------------------
# The export.
# --------------------------------------------------------------------------------------------


def versions() -> dict:
    import onnx
    import onnxruntime
    import tokenizers
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "tokenizers": tokenizers.__version__,
            "numpy": np.__version__}


def first_token_rows(maps: np.ndarray) -> np.ndarray:
    """[layers, batch, heads, query, key] → the last layer's query-0 row averaged over heads,
    [batch, key] (musiclime's `first_token` reduction)."""
    return maps[-1, :, :, 0, :].astype(np.float64).mean(axis=1)


def export(checkpoint: Path, out: Path, pairs=None, tolerance: float = 1e-4, force: bool = False,
           attention: str = "separate", opset: int = OPSET, source: str | None = None,
           preset: str | None = None, model_class: str | None = None,
           variants: tuple[str, ...] = ()) -> dict:
    """Exports CHECKPOINT to OUT (see the module docstring); returns the parity report.
    `source` names the checkpoint in model.yaml's header (default: its path); `preset` is
    --preset; `model_class` (MODULE:NAME) adds the user's own class to the parity check;
    `variants` (`int8`, `fp16`) writes cheaper graphs beside the exact ones (variants.py)."""
    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not force:
        raise ExportError(f"{out} exists and is not empty; pass --force to replace it")
    torch.manual_seed(0)
    log(f"loading {checkpoint}")
    ck = load_checkpoint(checkpoint, preset)
    log(f"  architecture {ck.architecture}, {len(ck.classes)} classes: {', '.join(ck.classes)}")
    log("  settings (value, where it came from):")
    for line in ck.settings.lines():
        log(f"    {line}")
    user_model = None
    if model_class is not None:
        user_model = load_user_class(ck, model_class)
        log(f"  your class {model_class}: built offline, state_dict loaded (strict)")
    for n in ck.notes:
        log(f"  note: {n}")
    tok = load_tokenizer(ck) if ck.reads_text else None
    cases, notes = build_cases(ck, pairs or DEFAULT_CASES, tok)
    for n in notes:
        log(f"  note: {n}")

    # Check the PyTorch model's output before spending time on the export.
    check_scores(ck, torch_reference(ck, model_inputs(ck, cases[:1]), False)["logits"], 1)

    layout = None
    if ck.reads_audio:
        layout = probe_ast_key_layout(audio_encoder_of(ck.model))
        if not layout["agrees"] or layout["num_tokens"] != layout["position_embeddings"]:
            raise ExportError(f"AST patch layout does not match the formula: {layout}")
        log(f"  AST keys: {layout['layout']} (probed on the patch embedding: agrees)")

    stages = stages_of(ck.model, attention)
    attention_names = [o for s in stages for o in s.outputs if o.endswith("_attentions")]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        log(f"exporting to {tmp} (opset {opset}, TorchScript exporter)")
        export_stages(ck, stages, tmp, opset)
        if ck.reads_text:
            tok.save(str(tmp / "tokenizer.json"))
        write_model_yaml(ck, stages, tmp / "model.yaml", attention != "none",
                         source or _rel(ck.directory))
        check_model_yaml(tmp / "model.yaml", tmp, stages)
        report, reference = parity(ck, stages, tmp, cases, tolerance, attention_names)
        if user_model is not None:
            report["user_class"] = user_class_parity(ck, user_model, model_class, stages, tmp,
                                                     cases, tolerance)
        report["variants"] = [
            cheaper.make(tmp, stages, v, model_inputs(ck, cases), run_onnx,
                         lambda z: _probabilities(ck, z), ck.classes, log)
            for v in variants]
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            old.rmdir()
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
        out.chmod(0o755)  # mkdtemp made it 0700
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    log(f"wrote {out}: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items()))

    report_cases = []
    for b, c in enumerate(cases):
        entry = {"audio": c.audio, "lyrics_file": c.lyrics_file, "lyrics": c.lyrics,
                 "probabilities": reference["probabilities"][b].tolist(),
                 "logits": reference["logits"][b].astype(np.float64).tolist()}
        if c.ids is not None:
            entry["input_ids"] = c.ids[c.mask.astype(bool)].tolist()
        entry["attention_first_token"] = {
            name: first_token_rows(reference[name])[b].tolist() for name in attention_names}
        report_cases.append(entry)
    return {"architecture": ck.architecture, "classes": ck.classes, "output": ck.output,
            "out": str(out), "files": sizes, "versions": versions(), "opset": opset,
            "ast_keys": layout, "parity": report, "cases": report_cases,
            "max_length": ck.max_length,
            "settings": {k: {"value": v, "source": ck.settings.sources[k]}
                         for k, v in ck.settings.values.items()}}


def load_user_class(ck: Checkpoint, target: str):
    """The user's class (`--model-class`), built offline with the checkpoint's weights."""
    configs = [enc.config for enc in (audio_encoder_of(ck.model), text_encoder_of(ck.model))
               if enc is not None]
    inner = ck.model if ck.architecture == "late_fusion" else ck.model.model
    try:
        model = user_class.build(target, ck.directory, ck.spec.get("model_class_args"),
                                 len(ck.classes), configs)
        user_class.load_weights(model, inner.state_dict(), target)
    except user_class.UserClassError as e:
        raise ExportError(str(e), e.code)
    return model


def user_class_parity(ck: Checkpoint, model, target: str, stages, directory: Path,
                      cases: list[Case], tolerance: float) -> dict:
    """The user's class against the exported graphs on every case: its probabilities must
    agree within `tolerance` (exit 3 otherwise, naming the case and class)."""
    feeds = model_inputs(ck, cases)
    try:
        theirs = _probabilities(ck, user_class.run(model, ck.architecture, feeds))
    except user_class.UserClassError as e:
        raise ExportError(str(e), e.code)
    except Exception as e:
        raise ExportError(f"--model-class {target!r}: its forward failed on the parity inputs: "
                          f"{type(e).__name__}: {e}")
    ours = _probabilities(ck, run_onnx(directory, stages, feeds)["logits"])
    if theirs.shape != ours.shape:
        raise ExportError(f"--model-class {target!r} returns {list(theirs.shape)} scores, the "
                          f"export {list(ours.shape)}", EXIT_MISMATCH)
    diff = np.abs(theirs - ours)
    b, c = (int(i) for i in np.unravel_index(int(diff.argmax()), diff.shape))
    worst = float(diff.max())
    log(f"    your class's probabilities vs ONNX {worst:.3e}  at case {b}, class "
        f"{ck.classes[c]!r}")
    if not worst <= tolerance:
        case = cases[b]
        raise ExportError(
            f"your class {target} does not compute what was exported: its probability of "
            f"{ck.classes[c]!r} on {case.audio} + {case.lyrics_file} is {theirs[b, c]:.6g}, the "
            f"ONNX graphs' (musiclime's) {ours[b, c]:.6g} (|difference| {worst:.3e} > "
            f"{tolerance:g}). The parameter names fit, so the forward differs: e.g. the order of "
            "the concatenation, the pooling (mean vs [CLS]/<s>), or RoBERTa's pooler. Export "
            "with a model.py that matches your forward; nothing was written", EXIT_MISMATCH)
    return {"target": target, "max_abs_diff_probabilities": worst,
            "at": {"case": b, "class": ck.classes[c]}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Export a MusicLIME classifier checkpoint to ONNX stages + model.yaml.",
        epilog="Exit status: 0 exported, 2 unusable checkpoint/arguments, 3 ONNX-vs-PyTorch "
               "mismatch (nothing written in both failure cases).")
    ap.add_argument("checkpoint", type=Path, help=f"directory with {CHECKPOINT_FILE}")
    ap.add_argument("out", type=Path, help="output directory (created; see --force)")
    ap.add_argument("--force", action="store_true", help="replace OUT if it exists")
    ap.add_argument("--case", nargs=2, action="append", metavar=("AUDIO", "LYRICS"),
                    help="an audio file and a lyrics text file for the parity check "
                         "(repeatable; paths relative to the repo root or absolute; default: "
                         "the repo's CC BY-SA music clips with public-domain lyrics)")
    ap.add_argument("--tolerance", type=float, default=1e-4,
                    help="largest |ONNX − PyTorch| allowed in probabilities and attention maps")
    ap.add_argument("--attention", choices=["separate", "inline", "none"], default="separate",
                    help="separate (default): the maps come from a second copy of each encoder "
                         "(<modality>_attention.onnx), which musiclime runs only when it reads "
                         "attention, so predictions do not pay for the maps (twice the disk); "
                         "inline: each encoder graph also writes its stacked attention maps "
                         "(computed on every prediction); none: no attention outputs")
    ap.add_argument("--opset", type=int, default=OPSET)
    ap.add_argument("--report", type=Path, help="write the parity report (JSON) here")
    ap.add_argument("--preset", help="settings by name: `paper` (the MusicLIME authors' lyric "
                    "cleaning, 256 tokens, AST features at 44.1 kHz); keys in "
                    f"{CHECKPOINT_FILE} still win")
    ap.add_argument("--model-class", metavar="MODULE:NAME",
                    help="your own PyTorch class (or a function building it): it gets the "
                         "checkpoint's state_dict and its outputs join the parity check")
    ap.add_argument("--variant", action="append", choices=cheaper.VARIANTS, default=[],
                    help="also write a cheaper, inexact copy of the encoders (int8: dynamic "
                         "quantisation; fp16: half precision) with model.<variant>.yaml, and "
                         "print its drift in probabilities and its speed (repeatable)")
    args = ap.parse_args(argv)
    try:
        report = export(args.checkpoint, args.out, args.case, args.tolerance, args.force,
                        args.attention, args.opset, preset=args.preset,
                        model_class=args.model_class, variants=tuple(args.variant))
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

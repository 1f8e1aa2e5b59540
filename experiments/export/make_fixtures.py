"""Regenerate tests/fixtures/transformers/: tiny AST / RoBERTa / late-fusion models exported for musiclime.

    .venv-export/bin/python experiments/export/make_fixtures.py

1. `music_b_16k.flac`: tests/fixtures/frontend/music_22k.flac resampled to 16 kHz (FFT
   resampler of export.py, 16-bit FLAC), so every parity case is read at the model's rate
   without musiclime's resampler (rubato) in the loop;
2. make_tiny.py's three random checkpoints (in a temporary directory, seed 0);
3. export.py on each → late_fusion/, ast/, roberta/ (ONNX stages, tokenizer.json, model.yaml),
   with the ONNX-vs-PyTorch parity check on the default cases;
4. `ast_features.npy`: ASTFeatureExtractor's `input_values` for music_16k.flac, [1024, 128];
5. `expected.json`: per model and case, PyTorch's probabilities and the last layer's first-token
   attention rows, the versions and the measured ONNX-vs-PyTorch differences;
6. `paper/`: make_tiny.py's `paper_form` checkpoint (the authors' checkpoint form: configs, one
   `model_state_dict` file, `"preset": "paper"`, the paper's 9 genres) exported with the preset
   and checked against `user_class_example.PaperStyleModel` (`--model-class`); its cases are
   44.1 kHz audio (`../frontend/music_44k.flac`, no resampling) with lyrics that need the
   authors' cleaning (`../paper_normaliser/auld_lang_syne.txt`: Unicode spaces, curly apostrophes, CRLF,
   tabs, digits, punctuation);
7. README.md (from the template below, with the numbers of this run).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import export as exporter  # noqa: E402
import make_tiny  # noqa: E402

REPO = HERE.parents[1]
FIXTURES = REPO / "tests/fixtures/transformers"
SOURCE_22K = REPO / "tests/fixtures/frontend/music_22k.flac"
CLIP_B = FIXTURES / "music_b_16k.flac"
FEATURES_AUDIO = REPO / "tests/fixtures/frontend/music_16k.flac"
SIZE_LIMIT = 8_000_000  # the attention graphs are separate stages (a second copy of each encoder)
PAPER_CASES = [
    ("tests/fixtures/frontend/music_44k.flac", "tests/fixtures/paper_normaliser/auld_lang_syne.txt"),
    ("tests/fixtures/frontend/music_44k.flac", "tests/fixtures/transformers/lyrics/the_star.txt"),
]
USER_CLASS = "experiments/export/user_class_example.py:PaperStyleModel"


def make_clip_b():
    import soundfile as sf

    x, rate = sf.read(SOURCE_22K, dtype="float32")
    y = exporter.fft_resample(x, rate, 16000)
    y = np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)
    sf.write(CLIP_B, y, 16000, format="FLAC", subtype="PCM_16")
    print(f"wrote {CLIP_B.relative_to(REPO)} ({len(y)} samples, {CLIP_B.stat().st_size} bytes)")


def make_features(extractor) -> dict:
    audio, _ = exporter.load_audio(FEATURES_AUDIO, extractor.sampling_rate)
    feats = exporter.ast_features(extractor, audio)
    assert feats.shape == (extractor.max_length, extractor.num_mel_bins) and feats.dtype == np.float32
    np.save(FIXTURES / "ast_features.npy", feats)
    try:
        import torchaudio  # noqa: F401
        path = "torchaudio.compliance.kaldi.fbank"
    except ImportError:
        path = "transformers' numpy fallback (audio_utils.spectrogram; torchaudio not installed)"
    frames = 1 + (len(audio) - 400) // 160
    # The frontend fixtures' AST case (same clip, musiclime's kaldi_fbank settings, computed by
    # tests/fixtures/frontend/generate.py) must be the same array.
    frontend = np.load(REPO / "tests/fixtures/frontend/fbank_ast.npy").reshape(feats.shape)
    vs_frontend = float(np.abs(frontend - feats).max())
    if vs_frontend > 1e-4:
        raise SystemExit(f"ast_features differ from tests/fixtures/frontend/fbank_ast.npy by {vs_frontend}")
    return {"file": "ast_features.npy", "audio": str(FEATURES_AUDIO.relative_to(REPO)),
            "shape": list(feats.shape), "dtype": "float32", "extractor": "ASTFeatureExtractor()",
            "extractor_path": path, "real_frames": frames,
            "max_abs_diff_vs_frontend_fbank_ast": vs_frontend,
            "settings": {"sampling_rate": extractor.sampling_rate,
                         "num_mel_bins": extractor.num_mel_bins,
                         "max_length": extractor.max_length, "mean": extractor.mean,
                         "std": extractor.std, "normalised_by": "(x - mean) / (2 * std)"},
            "summary": {"mean": float(feats.mean()), "min": float(feats.min()),
                        "max": float(feats.max()), "first_row_first5": feats[0, :5].tolist(),
                        "padding_value": float(feats[-1, 0])}}


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    make_clip_b()
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        ckpts = Path(tmp) / "checkpoints"
        make_tiny.main([str(ckpts)])
        for name in ("late_fusion", "ast", "roberta"):
            print(f"\n== {name}")
            reports[name] = exporter.export(
                ckpts / name, FIXTURES / name, force=True,
                source=f"make_tiny.py's `{name}` checkpoint")
        print("\n== paper (the authors' checkpoint form, preset paper)")
        reports["paper"] = exporter.export(
            ckpts / "paper_form", FIXTURES / "paper", pairs=PAPER_CASES, force=True,
            attention="none", source="make_tiny.py's `paper_form` checkpoint",
            model_class=USER_CLASS)
        extractor = exporter.load_checkpoint(ckpts / "ast").extractor
        features = make_features(extractor)

    models = {}
    for name, r in reports.items():
        models[name] = {
            "model": f"{name}/model.yaml", "architecture": r["architecture"],
            "classes": r["classes"], "output": r["output"], "max_length": r["max_length"],
            "files": r["files"], "max_abs_diff_onnx_vs_pytorch": r["parity"]["max_abs_diff"],
            "cases": r["cases"], "settings": r["settings"],
        }
    versions = reports["late_fusion"]["versions"]
    expected = {
        "generated_by": "experiments/export/make_fixtures.py",
        "versions": versions,
        "opset": reports["late_fusion"]["opset"],
        "tolerance_onnx_vs_pytorch": reports["late_fusion"]["parity"]["tolerance"],
        "notes": [
            "probabilities: softmax of PyTorch's logits (float64), one row per case, in `classes` order",
            "attention_first_token[name]: last layer, query 0, mean over heads -> one weight per key "
            "(musiclime's `first_token` reduction); audio keys = 2 special + 12 x 101 patches "
            "(frequency-major), text keys = max_length token positions",
            "input_ids: the case's token ids without padding (tokenizer.json, truncated to max_length)",
        ],
        "ast_keys": reports["ast"]["ast_keys"]["layout"],
        "features": features,
        "models": models,
    }
    (FIXTURES / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    write_readme(reports, features, versions)

    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    print(f"\n{FIXTURES.relative_to(REPO)}: {total / 1e6:.2f} MB in all")
    if total > SIZE_LIMIT:
        raise SystemExit(f"fixtures are {total} bytes, over the {SIZE_LIMIT} limit")


README = """\
# Transformer fixtures: tiny AST / RoBERTa / late-fusion models exported for musiclime

Written by `experiments/export/make_fixtures.py` (do not edit by hand; the lyrics in `lyrics/`
are the only hand-made inputs). Regenerate from the repo root with

    python3 -m venv .venv-export
    .venv-export/bin/pip install -r experiments/export/requirements.txt
    .venv-export/bin/python experiments/export/make_fixtures.py

(the `just export-fixtures` recipe runs the same). The venv is about 5.6 GB (torch pulls the CUDA
wheels even on a CPU machine); the run takes about {minutes} on 2 CPU cores.

## What is here

| path | bytes |
|---|---|
{files}

The models are the MusicLIME paper's three classifiers at toy size with **random weights**
(`experiments/export/make_tiny.py`, seed 0): `late_fusion` = AST (`ASTModel`, pooled
[CLS]/distillation mean) + RoBERTa (`RobertaModel`, `<s>` hidden state) + the authors' fusion
head (LayerNorm over the concatenation, one Linear layer; `experiments/export/model.py`
documents where it is defined), `ast` = `ASTForAudioClassification`, `roberta` =
`RobertaForSequenceClassification`. Sizes: hidden 64, 2 layers, 4 heads, intermediate 128,
`initializer_range` 0.2; AST keeps the real input geometry (128 mel bins × 1024 frames, 16 × 16
patches every 10 → 2 + 12 × 101 = 1214 tokens); RoBERTa reads {max_length} tokens of a
byte-level BPE tokenizer ({vocab} tokens, `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, `<mask>`=4)
trained on `lyrics/` and the synthetic benchmark's words (src/synth.rs). Classes: {classes}.

Each folder is `export.py`'s output: ONNX stages (opset {opset}, TorchScript exporter, eager
attention, dynamic `batch` and `sequence` axes) and `model.yaml`:

* `audio_encoder.onnx`: `fbank` [batch, 1024, 128] → `audio_embedding` [batch, 64],
  `audio_attentions` [layers=2, batch, heads=4, 1214, 1214];
* `text_encoder.onnx`: `input_ids`, `attention_mask` int64 [batch, sequence] →
  `text_embedding` [batch, 64], `text_attentions` [2, batch, 4, sequence, sequence];
* `fusion.onnx` (late fusion) / `head.onnx` (unimodal): embedding(s) → `logits` [batch, 4].

`paper/` is the late-fusion architecture again (9 classes, 256 tokens, no attention outputs),
exported from a checkpoint in the form the MusicLIME authors publish theirs (`audio/` and
`text/` hold config.json only; one torch.save file holds `model_state_dict`) with
`"preset": "paper"` and `"classes": "paper-genre"`: the authors' lyric cleaning baked into its
`tokenizer.json`, `max_length` 256, the Kaldi fbank at 44.1 kHz (torchaudio's, through
`ASTFeatureExtractor(sampling_rate=44100)`), the 9 Music4All genres in the authors' label
order; the export also ran `experiments/export/user_class_example.py:PaperStyleModel` (a class
written like the authors', encoders from `from_pretrained`) on the same weights and found the
same probabilities. Its cases are `../frontend/music_44k.flac` (44.1 kHz, so musiclime
resamples nothing) with `../paper_normaliser/auld_lang_syne.txt` and `lyrics/the_star.txt`.

The audio attention entry of `model.yaml` carries a `keys:` block (special 2, grid [12, 101],
frequency-major, patch_frames 16, patch_stride 10) computed from the AST config and checked on
the model's own patch embedding (`model.probe_ast_key_layout`); the text entry carries
`keys: {{special: 1}}`.

## Inputs of the parity cases

* `../frontend/music_16k.flac`: 6 s of "Armygeddon" by Muldjord (El Senator), CC BY-SA 3.0; see
  `tests/fixtures/frontend/README.md` for the source and licence.
* `music_b_16k.flac`: `../frontend/music_22k.flac` (another 6 s of the same song) resampled to
  16 kHz by `export.fft_resample` and stored as 16-bit FLAC; an adaptation of the same work,
  so also **CC BY-SA 3.0**, attribution: "Armygeddon" by Muldjord (El Senator), excerpted and
  modified.
* `lyrics/`: public-domain texts: "Amazing Grace" (John Newton, 1779), "My Bonnie Lies over
  the Ocean" (traditional, printed 1881), "The Star" ("Twinkle, twinkle, little star", Jane
  Taylor, 1806); the tokenizer is trained on them. `../paper_normaliser/auld_lang_syne.txt`
  (Robert Burns, 1788, public domain; see the README there) is read by the `paper` cases only.
  Amazing Grace is longer than {max_length} tokens (truncated), The Star much shorter (padded).

Cases: {cases}.

## expected.json

For each model and case: PyTorch's probabilities (softmax of its logits, float64), logits, the
token ids (unpadded), and for each attention output the last layer's query-0 row averaged over
heads (musiclime's `first_token` reduction, one value per key); the pinned versions and the
largest ONNX-Runtime-vs-PyTorch differences. `features` describes `ast_features.npy`.

`ast_features.npy` is `ASTFeatureExtractor()(music_16k)["input_values"][0]` (float32 [1024,
128]), computed by {extractor_path}. A `kaldi_fbank` input read from `ast/model.yaml` must
reproduce it (real frames: {real_frames}, then zero rows, which normalise to
{padding_value:.7f}). It equals `../frontend/fbank_ast.npy` (the frontend fixtures' reference
for the same clip and settings) to {vs_frontend:.1e}.

## Measured (this run)

ONNX Runtime {ort} vs PyTorch {torch} (transformers {transformers}), max |difference| over all
cases, batch sizes and (text) a {short}-token sequence; the export fails above 1e-4 for
probabilities and attention maps:

| model | probabilities | logits | audio attentions | text attentions |
|---|---|---|---|---|
{parity}

PyTorch probabilities per case (classes in order):

{probs}

Total size of this folder: {total}.
"""


def write_readme(reports, features, versions):
    import time

    rows = []
    for p in sorted(FIXTURES.rglob("*")):
        if p.is_file() and p.name != "README.md":
            rows.append(f"| `{p.relative_to(FIXTURES)}` | {p.stat().st_size:,} |")
    parity, probs = [], []
    for name, r in reports.items():
        d = r["parity"]["max_abs_diff"]
        cell = lambda k: f"{d[k]:.1e}" if k in d else "–"  # noqa: E731
        parity.append(f"| {name} | {cell('probabilities')} | {cell('logits')} | "
                      f"{cell('audio_attentions')} | {cell('text_attentions')} |")
        for c in r["cases"]:
            probs.append(f"* {name}, {Path(c['audio']).name} + {Path(c['lyrics_file']).name}: "
                         + ", ".join(f"{x:.4f}" for x in c["probabilities"]))
    lf = reports["late_fusion"]
    cases = "; ".join(f"`{Path(c['audio']).name}` + `{Path(c['lyrics_file']).name}`"
                      for c in lf["cases"])
    text = README.format(
        minutes="a minute", files="\n".join(rows), max_length=lf["max_length"],
        vocab=len(json.loads((FIXTURES / "late_fusion/tokenizer.json").read_text())["model"]["vocab"]),
        classes=", ".join(lf["classes"]), opset=lf["opset"], cases=cases,
        extractor_path=features["extractor_path"], real_frames=features["real_frames"],
        padding_value=features["summary"]["padding_value"], ort=versions["onnxruntime"],
        vs_frontend=features["max_abs_diff_vs_frontend_fbank_ast"],
        torch=versions["torch"], transformers=versions["transformers"],
        short=lf["max_length"] // 4, parity="\n".join(parity), probs="\n".join(probs),
        total="see `du -sh tests/fixtures/transformers`")
    (FIXTURES / "README.md").write_text(text)
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    text = text.replace("see `du -sh tests/fixtures/transformers`", f"{total / 1e6:.2f} MB (approx.)")
    (FIXTURES / "README.md").write_text(text)
    del time


if __name__ == "__main__":
    main()

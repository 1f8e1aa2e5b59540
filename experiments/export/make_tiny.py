"""Build tiny, randomly initialised checkpoints of the three MusicLIME classifiers (no download).

    python experiments/export/make_tiny.py OUT_DIR [--seed 0]

Writes OUT_DIR/late_fusion, OUT_DIR/ast and OUT_DIR/roberta, each a checkpoint directory in the
format `export.py` reads (see README.md, "The checkpoint directory"):

* `musiclime_export.json`: architecture, classes, where the parts are;
* `audio/` and/or `text/`: `save_pretrained` directories (config.json + model.safetensors) of
  the encoders (`ASTModel`, `RobertaModel`) or of the whole unimodal classifier
  (`ASTForAudioClassification`, `RobertaForSequenceClassification`); `audio/` also holds the
  `ASTFeatureExtractor`'s `preprocessor_config.json`;
* `head.safetensors` (late fusion): the fusion head's state_dict (`layer_norm.*`, `fc.*`);
* `tokenizer.json`: a byte-level BPE tokenizer in RoBERTa's layout, trained here.

and OUT_DIR/paper_form: a late-fusion checkpoint in the form the MusicLIME authors publish
theirs (configs only, one `model_state_dict` file, `"preset": "paper"`, the 9 paper genres).

The sizes are the ones of the project's export notes: AST and RoBERTa with hidden size 64,
2 layers, 4 heads, intermediate size 128; AST keeps the real input geometry (128 mel bins, 1024
frames, 16 × 16 patches with stride 10, so 2 + 12 × 101 tokens). Weights are drawn with a
larger `initializer_range` (0.2 instead of 0.02) so that the attention maps are far from
uniform, and each classification head's first Linear layer is calibrated (see
`calibrate_heads`) so that the predicted class depends on the input, in the late-fusion model
on the audio and on the lyrics. Everything is seeded, so the same versions give the same
weights.

Tokenizer: byte-level BPE (GPT-2/RoBERTa pre-tokenisation, `Ġ` for a leading space) with the
special tokens in RoBERTa's order, `<s>` = 0, `<pad>` = 1, `</s>` = 2, `<unk>` = 3,
`<mask>` = 4, and RoBERTa's post-processor (`<s> A </s>`). It is trained on text that lives in
the repository: the public-domain lyrics in tests/fixtures/transformers/lyrics/ and the word
lists of the synthetic benchmark (`CLASS_WORDS`, `NEUTRAL_WORDS` in src/synth.rs), so synthetic
lyrics are tokenised into whole words.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    ASTConfig,
    ASTFeatureExtractor,
    ASTForAudioClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import LateFusionClassifier, eager  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LYRICS_DIR = REPO / "tests/fixtures/transformers/lyrics"
SYNTH_RS = REPO / "src/synth.rs"
# The synthetic benchmark's classes (src/synth.rs: CLASS_SOURCES, "<source>-heavy"), as the
# ONNX fixtures name them.
CLASSES = ["drums-heavy", "vocals-heavy", "bass-heavy", "other-heavy"]
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
VOCAB_SIZE = 512
MAX_LENGTH = 128  # token ids per lyric (the paper used 256 with roberta-large)
INIT_RANGE = 0.2


def synth_words() -> list[str]:
    """The word lists of src/synth.rs (CLASS_WORDS, NEUTRAL_WORDS)."""
    text = SYNTH_RS.read_text()
    words = []
    for name in ("CLASS_WORDS", "NEUTRAL_WORDS"):
        m = re.search(rf"pub const {name}: [^=]*= \[(.*?)\];", text, re.S)
        if not m:
            raise SystemExit(f"{SYNTH_RS}: cannot find `{name}`; update make_tiny.synth_words")
        words += re.findall(r'"([^"]+)"', m.group(1))
    return words


def training_corpus() -> list[str]:
    texts = [p.read_text() for p in sorted(LYRICS_DIR.glob("*.txt"))]
    if not texts:
        raise SystemExit(f"no lyrics in {LYRICS_DIR}")
    words = synth_words()
    # Each synthetic word a few times, alone and in a line, so BPE learns it whole.
    texts += [" ".join(words)] * 4 + [w for w in words for _ in range(2)]
    return texts


def build_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(training_corpus(), trainer=trainer)
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False
    )
    return tok


def ast_config(**extra) -> ASTConfig:
    return eager(ASTConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=128, num_mel_bins=128, max_length=1024,
                           initializer_range=INIT_RANGE, **extra))


def roberta_config(vocab_size: int, max_length: int = MAX_LENGTH, **extra) -> RobertaConfig:
    # RoBERTa numbers positions from pad_token_id + 1, so max_length tokens need
    # max_length + pad_token_id + 1 position embeddings.
    return eager(RobertaConfig(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2,
                               num_attention_heads=4, intermediate_size=128,
                               max_position_embeddings=max_length + 2, pad_token_id=1,
                               bos_token_id=0, eos_token_id=2, type_vocab_size=1,
                               initializer_range=INIT_RANGE, **extra))


# --------------------------------------------------------------------------------------------
# Calibrating the random heads, so that the prediction depends on the input.
# --------------------------------------------------------------------------------------------
# With random encoders, the pooled embeddings of different inputs differ little (they are
# dominated by the [CLS]/<s> and position embeddings), so a random head predicts almost the
# same probabilities for every input and explanations are ~0. Each head's first Linear layer
# is therefore set to a random projection of the *standardised* features it receives on a small
# calibration set (the repo's two music clips and three lyrics, plus variants with one random
# second muted or a quarter of the words dropped, as LIME's perturbations do):
# W (x − mean of the unperturbed inputs) / std, scaled so that the largest |logit| over the
# calibration set is 4 (2 for RoBERTa's tanh layer). The unperturbed inputs thus get moderate
# probabilities, and perturbations move them. In the late-fusion head the audio and text
# blocks are weighted by 1 / (how far their perturbations move the features), so that both
# modalities change the prediction.

CALIBRATION_AUDIO = ["tests/fixtures/frontend/music_16k.flac",
                     "tests/fixtures/transformers/music_b_16k.flac"]


def calibration_inputs(tokenizer: Tokenizer, seed: int, variants: int = 12):
    import numpy as np

    import export

    rng = np.random.default_rng(seed)
    extractor = ASTFeatureExtractor()
    fbanks, audio_orig, text_orig = [], [], []
    for path in CALIBRATION_AUDIO:
        audio, _ = export.load_audio(REPO / path, extractor.sampling_rate)
        audio_orig.append(len(fbanks))
        fbanks.append(export.ast_features(extractor, audio))
        for _ in range(variants):
            muted = audio.copy()
            for s in rng.choice(len(audio) // 16000, size=1, replace=False):
                muted[s * 16000:(s + 1) * 16000] = 0.0
            fbanks.append(export.ast_features(extractor, muted))
    texts = []
    for path in sorted(LYRICS_DIR.glob("*.txt")):
        words = path.read_text().split()
        text_orig.append(len(texts))
        texts.append(path.read_text())
        for _ in range(variants):
            keep = rng.random(len(words)) > 0.25
            texts.append(" ".join(w for w, k in zip(words, keep) if k))
    pad = tokenizer.token_to_id("<pad>")
    ids, masks = zip(*(export.encode(tokenizer, t, MAX_LENGTH, pad) for t in texts))
    return (torch.from_numpy(np.stack(fbanks)), torch.from_numpy(np.stack(ids)),
            torch.from_numpy(np.stack(masks)), audio_orig, text_orig)


def fit_projection(linear: torch.nn.Linear, z: torch.Tensor, originals: torch.Tensor,
                   gen: torch.Generator, bound: float, weights: torch.Tensor | None = None):
    """linear(x) := s · R · (x − mean of originals) / std, R ~ N(0, 1) (times per-feature
    `weights`), s such that the largest |output| over the calibration set `z` is `bound`."""
    std = z.std(0).clamp_min(1e-6)
    r = torch.randn(linear.out_features, z.shape[1], generator=gen)
    if weights is not None:
        r = r * weights
    w = r / std
    b = -(w @ originals.mean(0))
    s = bound / (z @ w.T + b).abs().max()
    linear.weight.data.copy_(w * s)
    linear.bias.data.copy_(b * s)


def rms_change(z: torch.Tensor, base: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (((z - base) / std) ** 2).mean(1).sqrt().mean()


@torch.no_grad()
def calibrate_heads(fusion, ast, roberta, tokenizer: Tokenizer, seed: int) -> dict:
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(seed + 100)
    fbank, ids, mask, audio_orig, text_orig = calibration_inputs(tokenizer, seed)
    spread = {}

    def summary(logits, orig_rows):
        return {"logit_std": [round(x, 2) for x in logits.std(0).tolist()],
                "original_max_prob": [round(x, 2) for x in
                                      logits[orig_rows].softmax(-1).max(-1).values.tolist()]}

    # Late fusion: every (audio, lyrics) pair of the calibration set.
    a = fusion.audio_model(input_values=fbank).pooler_output
    t = fusion.text_model(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
    n_a, n_t = len(a), len(t)

    def pairs(ai, ti):
        x = torch.cat([a[ai], t[ti]], dim=1)
        return F.layer_norm(x, x.shape[1:], eps=fusion.classifier.layer_norm.eps)

    every = pairs(torch.arange(n_a).repeat_interleave(n_t), torch.arange(n_t).repeat(n_a))
    orig_rows = torch.tensor([i * n_t + j for i in audio_orig for j in text_orig])
    std = every.std(0).clamp_min(1e-6)
    # Balance the modalities: perturbing the audio (muting 1 s) moves the features more than
    # dropping words does, so weight each block by 1 / its typical change.
    a0, t0 = audio_orig[0], text_orig[0]
    base = pairs(torch.tensor([a0]), torch.tensor([t0]))
    d_audio = rms_change(pairs(torch.arange(n_a), torch.full((n_a,), t0)), base, std)
    d_text = rms_change(pairs(torch.full((n_t,), a0), torch.arange(n_t)), base, std)
    width_a = a.shape[1]
    weights = torch.ones(every.shape[1])
    weights[:width_a] /= d_audio
    weights[width_a:] /= d_text
    fit_projection(fusion.classifier.fc, every, every[orig_rows], gen, 4.0, weights)
    spread["late_fusion"] = summary(fusion.classifier.fc(every), orig_rows)

    # AST: LayerNorm + Linear on the pooled output.
    pooled = ast.audio_spectrogram_transformer(input_values=fbank).pooler_output
    ln = ast.classifier.layernorm
    normed = F.layer_norm(pooled, pooled.shape[1:], ln.weight, ln.bias, ln.eps)
    fit_projection(ast.classifier.dense, normed, normed[audio_orig], gen, 4.0)
    spread["ast"] = summary(ast.classifier.dense(normed), audio_orig)

    # RoBERTa: dense → tanh → out_proj on <s>.
    first = roberta.roberta(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
    head = roberta.classifier
    fit_projection(head.dense, first, first[text_orig], gen, 2.0)
    hidden = torch.tanh(head.dense(first))
    fit_projection(head.out_proj, hidden, hidden[text_orig], gen, 4.0)
    spread["roberta"] = summary(head.out_proj(torch.tanh(head.dense(first))), text_orig)
    return spread


def labels(config):
    config.id2label = dict(enumerate(CLASSES))
    config.label2id = {c: i for i, c in enumerate(CLASSES)}
    return config


def write_json(path: Path, data: dict):
    path.write_text(json.dumps(data, indent=2) + "\n")


def make(out: Path, seed: int):
    tokenizer = build_tokenizer()
    vocab = tokenizer.get_vocab_size()
    extractor = ASTFeatureExtractor()  # 16 kHz, 128 bins, 1024 frames, AudioSet mean/std
    common = {"format": 1, "classes": CLASSES, "num_classes": len(CLASSES), "output": "logits"}

    torch.manual_seed(seed)
    fusion = LateFusionClassifier.from_configs(ast_config(), roberta_config(vocab), len(CLASSES))
    torch.manual_seed(seed + 1)
    ast = ASTForAudioClassification(labels(ast_config(num_labels=len(CLASSES))))
    torch.manual_seed(seed + 2)
    roberta = RobertaForSequenceClassification(
        labels(roberta_config(vocab, num_labels=len(CLASSES))))
    for m in (fusion, ast, roberta):
        m.eval()
    spread = calibrate_heads(fusion, ast, roberta, tokenizer, seed)
    for k, v in spread.items():
        print(f"calibrated {k} head: logit std over the calibration set {v['logit_std']}, "
              f"largest probability on the unperturbed inputs {v['original_max_prob']}")

    # Late fusion: ASTModel + RobertaModel + LayerNorm/Linear head.
    d = out / "late_fusion"
    d.mkdir(parents=True)
    fusion.audio_model.save_pretrained(d / "audio")
    extractor.save_pretrained(d / "audio")
    fusion.text_model.save_pretrained(d / "text")
    save_file({k: v.contiguous() for k, v in fusion.classifier.state_dict().items()},
              d / "head.safetensors")
    tokenizer.save(str(d / "tokenizer.json"))
    write_json(d / "musiclime_export.json", {
        **common, "architecture": "late_fusion", "audio": "audio", "text": "text",
        "head": "head.safetensors", "tokenizer": "tokenizer.json", "max_length": MAX_LENGTH,
        "description": f"tiny random late-fusion classifier (make_tiny.py --seed {seed})",
    })

    # Audio only: ASTForAudioClassification.
    d = out / "ast"
    d.mkdir()
    ast.save_pretrained(d / "audio")
    extractor.save_pretrained(d / "audio")
    write_json(d / "musiclime_export.json", {
        **common, "architecture": "ast", "audio": "audio",
        "description": f"tiny random AST classifier (make_tiny.py --seed {seed})",
    })

    # Lyrics only: RobertaForSequenceClassification.
    d = out / "roberta"
    d.mkdir()
    roberta.save_pretrained(d / "text")
    tokenizer.save(str(d / "tokenizer.json"))
    write_json(d / "musiclime_export.json", {
        **common, "architecture": "roberta", "text": "text", "tokenizer": "tokenizer.json",
        "max_length": MAX_LENGTH,
        "description": f"tiny random RoBERTa classifier (make_tiny.py --seed {seed})",
    })

    make_paper_form(out / "paper_form", seed, tokenizer)
    return vocab


def make_paper_form(d: Path, seed: int, tokenizer: Tokenizer):
    """A late-fusion checkpoint in the form the MusicLIME authors publish theirs: config.json
    files only in `audio/` and `text/`, one torch.save file holding `model_state_dict` (their
    `AudioTextClassificationModel`'s keys), the paper preset and the paper's 9 genres."""
    from settings import paper_classes

    classes = paper_classes("paper-genre")
    torch.manual_seed(seed + 3)
    model = LateFusionClassifier.from_configs(
        ast_config(), roberta_config(tokenizer.get_vocab_size(), max_length=256), len(classes))
    model.eval()
    d.mkdir()
    model.audio_model.config.save_pretrained(d / "audio")
    model.text_model.config.save_pretrained(d / "text")
    torch.save({"epoch": 1, "model_state_dict": model.state_dict()}, d / "genre_multimodal")
    tokenizer.save(str(d / "tokenizer.json"))
    write_json(d / "musiclime_export.json", {
        "format": 1, "preset": "paper", "architecture": "late_fusion", "classes": "paper-genre",
        "output": "logits", "audio": "audio", "text": "text", "state_dict": "genre_multimodal",
        "tokenizer": "tokenizer.json",
        "description": f"tiny random late-fusion classifier in the authors' checkpoint form "
                       f"(make_tiny.py --seed {seed})",
    })


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="directory to create (must not exist)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; give a new directory")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{args.out.name}.", dir=args.out.parent))
    try:
        vocab = make(tmp, args.seed)
        tmp.rename(args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"wrote {args.out}/late_fusion, ast, roberta, paper_form (tokenizer: {vocab} tokens)")


if __name__ == "__main__":
    main()

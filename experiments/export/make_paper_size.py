"""The paper's multimodal model at its real size, with random weights: AST-base + RoBERTa-large.

    .venv-export/bin/python experiments/export/make_paper_size.py [OUT]   # = just paper-size

Builds, without any download, the architecture the MusicLIME authors trained (their
`AudioTextClassificationModel`: `ASTModel` from `MIT/ast-finetuned-audioset-10-10-0.4593`,
`RobertaModel` from `roberta-large`, LayerNorm(768 + 1024) → Linear(9)) from the two models'
published configuration numbers (below), with seeded random weights, saves it in the form the
authors publish theirs (config.json files + one `model_state_dict` file, `"preset": "paper"`,
`"classes": "paper-genre"`), and exports it with export.py (split stages, no attention outputs:
AST-base's attention maps are ~850 MB per clip, and predictions never need them). A model's cost
does not depend on its weights, so this measures what explaining the paper's model costs.
The tokenizer is the tiny BPE of make_tiny.py (roberta-large's is not downloadable here);
lyrics are padded to 256 tokens either way, so the cost is the same.

OUT (default `models/paper_size`, git-ignored) receives `checkpoint/` and `model/` (the export:
`model.yaml`, `audio_encoder.onnx` 0.35 GB, `text_encoder.onnx` 1.4 GB, `fusion.onnx`,
`tokenizer.json`, and the int8 / fp16 variants with their measured drift and speed:
`model.int8.yaml`, `model.fp16.yaml`) and `export_report.json`. Measuring it:
`benches/paper_size.py`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import export as exporter  # noqa: E402
import make_tiny  # noqa: E402
from model import LateFusionClassifier, eager  # noqa: E402
from settings import paper_classes  # noqa: E402

# MIT/ast-finetuned-audioset-10-10-0.4593's config.json (the numbers; ASTConfig's defaults).
AST_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                intermediate_size=3072, hidden_act="gelu", layer_norm_eps=1e-12,
                patch_size=16, frequency_stride=10, time_stride=10, max_length=1024,
                num_mel_bins=128, qkv_bias=True)
# roberta-large's config.json.
ROBERTA_LARGE = dict(vocab_size=50265, hidden_size=1024, num_hidden_layers=24,
                     num_attention_heads=16, intermediate_size=4096, hidden_act="gelu",
                     max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
                     pad_token_id=1, bos_token_id=0, eos_token_id=2)
CASES = [("tests/fixtures/frontend/music_44k.flac",
          "tests/fixtures/paper_normaliser/auld_lang_syne.txt"),
         ("tests/fixtures/frontend/music_22k.flac", "tests/fixtures/transformers/lyrics/my_bonnie.txt"),
         ("tests/fixtures/frontend/music_16k.flac", "tests/fixtures/transformers/lyrics/the_star.txt")]
SEED = 0
VARIANTS = ("int8", "fp16")  # measured beside the exact export (model.int8.yaml, model.fp16.yaml)


def make_checkpoint(d: Path):
    from transformers import ASTConfig, RobertaConfig

    classes = paper_classes("paper-genre")
    torch.manual_seed(SEED)
    model = LateFusionClassifier.from_configs(eager(ASTConfig(**AST_BASE)),
                                              eager(RobertaConfig(**ROBERTA_LARGE)), len(classes))
    params = sum(p.numel() for p in model.parameters())
    audio = sum(p.numel() for p in model.audio_model.parameters())
    text = sum(p.numel() for p in model.text_model.parameters())
    print(f"parameters: {params / 1e6:.1f} M (AST {audio / 1e6:.1f} M, RoBERTa {text / 1e6:.1f} M)")
    d.mkdir(parents=True)
    model.audio_model.config.save_pretrained(d / "audio")
    model.text_model.config.save_pretrained(d / "text")
    torch.save({"model_state_dict": model.state_dict()}, d / "genre_multimodal")
    make_tiny.build_tokenizer().save(str(d / "tokenizer.json"))
    (d / "musiclime_export.json").write_text(json.dumps({
        "format": 1, "preset": "paper", "architecture": "late_fusion", "classes": "paper-genre",
        "audio": "audio", "text": "text", "state_dict": "genre_multimodal",
        "tokenizer": "tokenizer.json",
        "description": "AST-base + RoBERTa-large late fusion, random weights "
                       "(make_paper_size.py): the paper's model at its real size",
    }, indent=2) + "\n")
    return {"parameters": params, "audio_parameters": audio, "text_parameters": text}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, nargs="?", default=REPO / "models/paper_size")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    if (out / "model/model.yaml").is_file():
        print(f"{out}/model exists; remove {out} to rebuild")
        return 0
    leftovers = {p.name for p in out.iterdir()} if out.is_dir() else set()
    if leftovers - {"checkpoint", "model", "export_report.json"}:
        print(f"error: {out} holds other files ({', '.join(sorted(leftovers))}); give an empty "
              "or new directory", file=sys.stderr)
        return 2
    shutil.rmtree(out, ignore_errors=True)  # an earlier run that stopped half way
    started = time.time()
    sizes = make_checkpoint(out / "checkpoint")
    built = time.time() - started
    report = exporter.export(out / "checkpoint", out / "model", pairs=CASES, attention="none",
                             source="make_paper_size.py's checkpoint", variants=VARIANTS)
    report.update(sizes, build_s=built, export_s=time.time() - started - built)
    (out / "export_report.json").write_text(json.dumps(report, indent=1) + "\n")
    shutil.rmtree(out / "checkpoint")  # 1.7 GB of random weights; the ONNX graphs hold them
    print(f"wrote {out}/model in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

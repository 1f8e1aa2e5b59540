"""Cheaper encoders, where the user allows it: `export.py --variant int8` (or `fp16`).

The export itself stays exact (float32, checked against PyTorch). A variant writes a second set
of graphs beside it, `<stage>.<variant>.onnx`, and `model.<variant>.yaml` naming them, so a user
explains with `--model OUT/model.int8.yaml` only by choice. For each variant the export measures,
on the parity cases, how far its probabilities drift from the exact graphs' (max |Δp|, and
whether the predicted class changes) and how long one run of each encoder takes (median of
`RUNS` runs at batch 1), and prints both, so the user can decide.

* `int8`: ONNX Runtime's dynamic quantisation (`quantize_dynamic`, int8 weights of MatMul/Gemm,
  activations quantised per run): about 4× smaller encoders.
* `fp16`: float16 weights and arithmetic (`onnxruntime.transformers.float16`, inputs and
  outputs kept float32): half the size; ONNX Runtime's CPU provider has few float16 kernels,
  so on a CPU it mostly casts back and forth (it is meant for `execution_providers: [cuda]`).

Stages under 100 kB (the fusion head) are kept float32.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np

VARIANTS = ("int8", "fp16")
RUNS = 3
SMALL = 100_000


def convert(src: Path, dst: Path, variant: str):
    """Writes the `variant` of graph `src` to `dst`."""
    if variant == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    elif variant == "fp16":
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
        onnx.save(model, str(dst))
    else:
        raise ValueError(f"unknown variant {variant!r}; variants: {', '.join(VARIANTS)}")


def variant_stages(directory: Path, stages, variant: str):
    """The stages of `variant`, converting each large graph once."""
    out = []
    for stage in stages:
        src = directory / stage.file
        if src.stat().st_size < SMALL:
            out.append(stage)
            continue
        name = f"{Path(stage.file).stem}.{variant}.onnx"
        convert(src, directory / name, variant)
        out.append(dataclasses.replace(stage, file=name))
    return out


def encoder_seconds(directory: Path, stages, feeds: dict) -> dict:
    """Median seconds of one batch-1 run of each encoder stage (`RUNS` runs after a warm-up)."""
    import onnxruntime as ort

    one = {k: v[:1] for k, v in feeds.items()}
    seconds = {}
    for stage in stages:
        if not all(name in one for name in stage.inputs):
            continue  # the fusion head reads embeddings
        session = ort.InferenceSession(str(directory / stage.file),
                                       providers=["CPUExecutionProvider"])
        args = {name: one[name] for name in stage.inputs}
        session.run(None, args)
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            session.run(None, args)
            times.append(time.perf_counter() - started)
        seconds[stage.file] = statistics.median(times)
    return seconds


def write_yaml(directory: Path, stages, variants_of: list, variant: str):
    """model.<variant>.yaml: model.yaml with the variant's graph files."""
    text = (directory / "model.yaml").read_text()
    for exact, cheap in zip(stages, variants_of):
        if exact.file != cheap.file:
            text = text.replace(f"{{onnx: {exact.file},", f"{{onnx: {cheap.file},")
    header = (f"# The {variant} variant of model.yaml (experiments/export/variants.py): not "
              "exact; see the drift measured at export.\n")
    (directory / f"model.{variant}.yaml").write_text(header + text)


def make(directory: Path, stages, variant: str, feeds: dict, run_onnx, probabilities,
         classes: list[str], log) -> dict:
    """Writes `variant` beside the exact export in `directory`; returns its drift and speed.
    `run_onnx(directory, stages, feeds)` and `probabilities(logits)` are the export's."""
    cheap = variant_stages(directory, stages, variant)
    write_yaml(directory, stages, cheap, variant)
    exact_p = probabilities(run_onnx(directory, stages, feeds)["logits"])
    cheap_p = probabilities(run_onnx(directory, cheap, feeds)["logits"])
    drift = np.abs(cheap_p - exact_p)
    b, c = (int(i) for i in np.unravel_index(int(drift.argmax()), drift.shape))
    flips = int((cheap_p.argmax(axis=1) != exact_p.argmax(axis=1)).sum())
    exact_s = encoder_seconds(directory, stages, feeds)
    cheap_s = encoder_seconds(directory, cheap, feeds)
    sizes = {s.file: (directory / s.file).stat().st_size for s in cheap}
    log(f"  variant {variant}: model.{variant}.yaml; probabilities drift up to "
        f"{float(drift.max()):.3e} (case {b}, class {classes[c]!r}), predicted class changed "
        f"on {flips} of {len(exact_p)} cases")
    for (exact_file, t_exact), (cheap_file, t_cheap) in zip(exact_s.items(), cheap_s.items()):
        log(f"    {cheap_file}: {sizes[cheap_file] / 1e6:.1f} MB, {t_cheap:.3f} s per run "
            f"vs {t_exact:.3f} s exact ({t_exact / t_cheap:.2f}× faster)")
    return {"variant": variant, "yaml": f"model.{variant}.yaml",
            "max_abs_drift_probabilities": float(drift.max()),
            "at": {"case": b, "class": classes[c]}, "predicted_class_changed": flips,
            "cases": len(exact_p), "seconds_per_run": cheap_s, "exact_seconds_per_run": exact_s,
            "bytes": sizes}

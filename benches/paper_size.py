#!/usr/bin/env python3
"""The paper's model at its real size: what explaining AST-base + RoBERTa-large costs.

    just paper-size                             # builds models/paper_size, then runs this
    .venv/bin/python benches/paper_size.py      # from the repo root, once models/paper_size exists
    .venv/bin/python benches/paper_size.py --quick   # smoke test: 3 runs, a 10 x 10 crossed run

The model is `experiments/export/make_paper_size.py`'s export: the authors' late fusion at its
real size with random weights (cost does not depend on the weights), split stages, no attention
outputs, the paper preset (44.1 kHz fbank, 256 tokens). Sections:

1. Seconds per encoder run, musiclime against the same ONNX graph in Python ONNX Runtime
   (the .venv's onnxruntime, the library musiclime loads; session as musiclime builds it: CPU,
   arena on, intra-op spinning off, default threads and optimisation), batch 1: Python times
   `--runs` runs after a warm-up; musiclime runs `explain --method lime_audio` and
   `--method lime_lyrics` with `--num-samples runs + 1 --max-batch 1` on the same clip, and
   the seconds per audio and per text encoder run are solved from the two profiles (time in
   model calls, features and batch preparation included; each run has one item of the other
   encoder). Overhead = musiclime / Python - 1. The explanations' time outside model calls
   (loading 1.8 GB of graphs, sampling, the fits) is reported beside it.
2. ONNX Runtime settings (model.yaml `graph_optimization`, `intra_threads`), Python ORT: session
   load time and seconds per run for each level at the default threads, and at 1 thread.
3. The paper sampler extrapolated to 1000 and 5000 samples (every sample a new audio and a new
   lyric: N runs of each encoder) and the crossed sampler (A audio + T text runs).
4. One full explanation with the crossed sampler, A x T = 50 x 100 = 5000 samples, on a 10 s
   44.1 kHz track with 4 stems x 10 segments and a 98-word lyric: wall time, model time,
   encoder runs and peak memory (target <= 4 GB).
5. FLOPs per encoder run (counted from the configs) and what a GPU would change.

Writes reports/bench/paper_size.md and paper_size.json.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
BINARY = os.path.join(TARGET, "release", "musiclime")
MODEL_DIR = os.path.join(REPO, "models", "paper_size", "model")
OUT = os.path.join(REPO, "reports", "bench", "paper_size")
LYRICS = os.path.join(REPO, "tests", "fixtures", "transformers", "lyrics", "amazing_grace.txt")
PEAK_TARGET_MB = 4096
OVERHEAD_TARGET = 0.05
LEVELS = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
          "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
          "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
          "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
# Transformer encoders: (tokens, hidden, feed-forward, layers), from the exported configs
# (make_paper_size.py): AST-base reads 2 + 12 x 101 = 1214 tokens, RoBERTa-large 256.
SHAPES = {"audio": (1214, 768, 3072, 12), "text": (256, 1024, 4096, 24)}


def log(msg):
    print(msg, flush=True)


def musiclime(*args):
    started = time.perf_counter()
    proc = subprocess.run([BINARY, *map(str, args)], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"musiclime {' '.join(map(str, args))} failed:\n{proc.stderr[-3000:]}")
    return proc, time.perf_counter() - started


def flops(shape):
    """Multiply-adds x 2 of one encoder run: projections, attention, feed-forward."""
    n, h, f, layers = shape
    macs = 4 * n * h * h + 2 * n * n * h + 2 * n * h * f
    return 2 * macs * layers


def session(path, level="all", threads=None):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = LEVELS[level]
    if threads:
        options.intra_op_num_threads = threads
    started = time.perf_counter()
    s = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return s, time.perf_counter() - started


def timed_runs(s, feeds, runs):
    s.run(None, feeds)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        s.run(None, feeds)
        times.append(time.perf_counter() - started)
    return times


def inputs(track):
    """The real batch-1 inputs of the clip: musiclime's fbank, and 256 token ids."""
    fbank = os.path.join(OUT, "fbank.npy")
    musiclime("frontend", "--audio", track["audio"], "--model",
              os.path.join(MODEL_DIR, "model.yaml"), "--out", fbank)
    audio = {"fbank": np.load(fbank).astype(np.float32)}
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 400, size=(1, 256)).astype(np.int64)
    ids[0, 0], ids[0, -1] = 0, 2
    text = {"input_ids": ids, "attention_mask": np.ones((1, 256), np.int64)}
    return audio, text


def python_encoders(audio_feeds, text_feeds, runs):
    rows = {}
    for name, feeds in (("audio", audio_feeds), ("text", text_feeds)):
        s, load = session(os.path.join(MODEL_DIR, f"{name}_encoder.onnx"))
        times = timed_runs(s, feeds, runs)
        rows[name] = {"load_s": load, "median_s": statistics.median(times),
                      "mean_s": statistics.fmean(times), "runs": runs}
        log(f"  python ORT {name} encoder: {rows[name]['median_s']:.3f} s per run "
            f"(median of {runs}), session load {load:.1f} s")
        del s
    return rows


def explain(track, name, extra):
    out = os.path.join(OUT, "runs", name)
    shutil.rmtree(out, ignore_errors=True)
    profile = out + ".profile.json"
    proc, wall = musiclime("explain", "--model", os.path.join(MODEL_DIR, "model.yaml"),
                           "--audio", track["audio"], "--stems", track["stems"],
                           "--lyrics", LYRICS, "--out", out, "--profile", profile, *extra)
    with open(profile) as f:
        prof = json.load(f)
    prof["process_wall_s"] = wall
    prof["stderr"] = proc.stderr[-2000:]
    return prof


def musiclime_encoders(track, runs):
    n = runs + 1
    a = explain(track, "lime_audio", ["--method", "lime_audio", "--num-samples", n,
                                      "--max-batch", 1, "--seed", 1])
    t = explain(track, "lime_lyrics", ["--method", "lime_lyrics", "--num-samples", n,
                                       "--max-batch", 1, "--seed", 1])
    # Run A: enc_A - 1 audio items and 1 text item; run T: 1 audio item and enc_T - 1 text.
    ea, et = a["model_items"]["encoder_items_run"], t["model_items"]["encoder_items_run"]
    matrix = np.array([[ea - 1, 1], [1, et - 1]], float)
    per_model = np.linalg.solve(matrix, [a["model_s"], t["model_s"]])
    rows = {"audio": {"model_s": per_model[0], "runs": ea - 1,
                      "non_model_s": a["non_model_s"], "wall_s": a["wall_s"]},
            "text": {"model_s": per_model[1], "runs": et - 1,
                     "non_model_s": t["non_model_s"], "wall_s": t["wall_s"]},
            "profiles": {"lime_audio": a, "lime_lyrics": t}}
    for name in ("audio", "text"):
        r = rows[name]
        log(f"  musiclime {name} encoder: {r['model_s']:.3f} s per run in model calls "
            f"({r['runs']} runs; the whole explanation {r['wall_s']:.1f} s, of which "
            f"{r['non_model_s']:.1f} s outside model calls, loading the graphs included)")
    return rows


def settings_rows(audio_feeds, text_feeds, runs):
    rows = []
    for name, feeds in (("audio", audio_feeds), ("text", text_feeds)):
        path = os.path.join(MODEL_DIR, f"{name}_encoder.onnx")
        for level, threads in [(lv, None) for lv in LEVELS] + [("all", 1)]:
            s, load = session(path, level, threads)
            times = timed_runs(s, feeds, runs)
            rows.append({"encoder": name, "graph_optimization": level,
                         "intra_threads": threads or "default", "load_s": load,
                         "median_s": statistics.median(times)})
            log(f"  {name} {level:8s} threads {threads or 'default':7}: load {load:5.1f} s, "
                f"{statistics.median(times):.3f} s per run")
            del s
    return rows


def synth_track():
    data = os.path.join(OUT, "track")
    if not os.path.exists(os.path.join(data, "manifest.csv")):
        musiclime("synth", "--out", data, "--tracks", 1, "--seconds", 10, "--sample-rate",
                  44100, "--seed", 5, "--classes", 4)
    track = os.path.join(data, "track000")
    return {"audio": os.path.join(track, "mixture.wav"), "stems": os.path.join(track, "stems")}


def variants_from_export():
    path = os.path.join(os.path.dirname(MODEL_DIR), "export_report.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f).get("parity", {}).get("variants", [])


def machine():
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "onnxruntime": ort.__version__, "python": platform.python_version()}


def write_report(result):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "..", "paper_size.json"), "w") as f:
        json.dump(result, f, indent=1, default=float)
    py, ml = result["python"], result["musiclime"]
    lines = ["# The paper's model at its real size: AST-base + RoBERTa-large", "",
             f"Written by `benches/paper_size.py` ({result['when']}); machine: "
             f"{result['machine']}. Model: `experiments/export/make_paper_size.py` (random "
             "weights, real configs; cost does not depend on the weights).", "",
             "## Seconds per encoder run (batch 1)", "",
             "| encoder | GFLOP per run | Python ORT | musiclime, in model calls | overhead | "
             "the musiclime explanation: wall / outside model calls |",
             "|---|---|---|---|---|---|"]
    for name in ("audio", "text"):
        p, m = py[name]["median_s"], ml[name]
        lines.append(f"| {name} | {result['gflop'][name]:.0f} | {p:.3f} s | {m['model_s']:.3f} s"
                     f" | {m['model_s'] / p - 1:+.1%} | {m['wall_s']:.1f} s / "
                     f"{m['non_model_s']:.1f} s ({m['runs']} runs) |")
    lines += ["", f"Target: musiclime adds at most {OVERHEAD_TARGET:.0%} to model time: "
              f"**{result['overhead_mark']}**.", "",
              "## The paper sampler, extrapolated", "",
              "| samples | audio runs | text runs | estimated time |", "|---|---|---|---|"]
    for row in result["extrapolated"]:
        lines.append(f"| {row['what']} | {row['audio_runs']} | {row['text_runs']} | "
                     f"{row['seconds'] / 60:.1f} min |")
    c = result["crossed"]
    lines += ["", "## One explanation, crossed sampler", "",
              f"`{c['command']}`", "",
              f"A × T = {c['audio_masks']} × {c['text_masks']} = {c['samples']} samples; "
              f"encoder runs {c['encoder_items_run']}, fusion items {c['items_run']}; wall "
              f"{c['wall_s'] / 60:.1f} min, model calls {c['model_s'] / 60:.1f} min, peak memory "
              f"{c['peak_mb']:.0f} MB (target {PEAK_TARGET_MB} MB: **{c['mark']}**).", "",
              "## ONNX Runtime settings (Python ORT, batch 1)", "",
              "| encoder | graph_optimization | intra_threads | session load | per run |",
              "|---|---|---|---|---|"]
    for r in result["settings"]:
        lines.append(f"| {r['encoder']} | {r['graph_optimization']} | {r['intra_threads']} | "
                     f"{r['load_s']:.1f} s | {r['median_s']:.3f} s |")
    if result["variants"]:
        lines += ["", "## Cheaper variants (measured by the export on its 3 parity cases)", "",
                  "| variant | max drift in probabilities | predicted class changed | audio "
                  "encoder per run | text encoder per run |", "|---|---|---|---|---|"]
        for v in result["variants"]:
            sec = list(v["seconds_per_run"].values())
            exact = list(v["exact_seconds_per_run"].values())
            lines.append(f"| {v['variant']} | {v['max_abs_drift_probabilities']:.2e} | "
                         f"{v['predicted_class_changed']} of {v['cases']} | {sec[0]:.3f} s "
                         f"(exact {exact[0]:.3f} s) | {sec[1]:.3f} s (exact {exact[1]:.3f} s) |")
    lines += ["", "## What a GPU would change (estimated from the FLOP count, not measured)", "",
              "| encoder | GFLOP | here (2 CPU cores) | achieved | at 20 TFLOP/s | paper sampler, "
              "5000 samples, at 20 TFLOP/s |", "|---|---|---|---|---|---|"]
    for name in ("audio", "text"):
        g, s = result["gflop"][name], py[name]["median_s"]
        lines.append(f"| {name} | {g:.0f} | {s:.2f} s | {g / s:.0f} GFLOP/s | "
                     f"{g / 20e3 * 1e3:.0f} ms | {5000 * g / 20e3 / 60:.1f} min |")
    lines += ["", "20 TFLOP/s is about a third of an H100's float32 peak (67 TFLOP/s without "
              "tensor cores); run `execution_providers: [cuda, cpu]` in model.yaml (or "
              "`--execution-providers cuda,cpu`) with onnxruntime-gpu to measure it."]
    with open(os.path.join(OUT, "..", "paper_size.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="encoder runs per measurement")
    ap.add_argument("--quick", action="store_true", help="3 runs, a 10 x 10 crossed run")
    ap.add_argument("--render", action="store_true",
                    help="only write paper_size.md again from paper_size.json")
    args = ap.parse_args()
    if args.render:
        with open(os.path.join(OUT, "..", "paper_size.json")) as f:
            result = json.load(f)
        result["variants"] = variants_from_export()
        write_report(result)
        return 0
    if not os.path.exists(os.path.join(MODEL_DIR, "model.yaml")):
        raise SystemExit(f"{MODEL_DIR}/model.yaml not found: run `just paper-size` (or "
                         ".venv-export/bin/python experiments/export/make_paper_size.py) first")
    if not os.path.exists(BINARY):
        raise SystemExit(f"{BINARY} not found: cargo build --release")
    runs = 3 if args.quick else args.runs
    os.makedirs(OUT, exist_ok=True)
    track = synth_track()
    audio_feeds, text_feeds = inputs(track)
    gflop = {k: flops(v) / 1e9 for k, v in SHAPES.items()}
    log("1. seconds per encoder run")
    python = python_encoders(audio_feeds, text_feeds, runs)
    ml = musiclime_encoders(track, runs)
    worst = max(ml[n]["model_s"] / python[n]["median_s"] - 1 for n in ("audio", "text"))
    log("2. ONNX Runtime settings")
    settings = settings_rows(audio_feeds, text_feeds, max(2, runs // 4))
    ta, tt = python["audio"]["median_s"], python["text"]["median_s"]
    extrapolated = [{"what": f"paper sampler, {n}", "audio_runs": n, "text_runs": n,
                     "seconds": n * (ta + tt)} for n in (1000, 5000)]
    a_masks, t_masks = (10, 10) if args.quick else (50, 100)
    extrapolated.append({"what": f"crossed, {a_masks} x {t_masks}", "audio_runs": a_masks,
                         "text_runs": t_masks, "seconds": a_masks * ta + t_masks * tt})
    log(f"4. one crossed explanation, {a_masks} x {t_masks}")
    extra = ["--sampler", "crossed", "--num-samples", a_masks * t_masks, "--audio-masks",
             a_masks, "--seed", 2]
    crossed = explain(track, "crossed", extra)
    c = {"audio_masks": a_masks, "text_masks": t_masks, "samples": a_masks * t_masks,
         "wall_s": crossed["wall_s"], "model_s": crossed["model_s"],
         "peak_mb": crossed["peak_mb"], **crossed["model_items"],
         "mark": "unknown" if crossed["peak_mb"] is None
         else "PASS" if crossed["peak_mb"] <= PEAK_TARGET_MB else "MISS",
         "command": "musiclime explain --model models/paper_size/model/model.yaml --audio "
                    "TRACK/mixture.wav --stems TRACK/stems --lyrics amazing_grace.txt "
                    + " ".join(map(str, extra)) + " --profile P --out D"}
    log(f"  wall {c['wall_s']:.0f} s, model {c['model_s']:.0f} s, peak {c['peak_mb']:.0f} MB")
    result = {"when": time.strftime("%Y-%m-%d"), "machine": machine(), "runs": runs,
              "gflop": gflop, "python": python,
              "musiclime": {k: v for k, v in ml.items() if k != "profiles"},
              "profiles": ml["profiles"], "overhead_worst": worst,
              "overhead_mark": "PASS" if worst <= OVERHEAD_TARGET else "MISS",
              "settings": settings, "extrapolated": extrapolated, "crossed": c,
              "variants": variants_from_export()}
    write_report(result)
    log(f"wrote {os.path.relpath(os.path.join(OUT, '..', 'paper_size.md'), REPO)}")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End-to-end benchmark: `musiclime explain` against the paper's Python code path.

    python3 benches/reference/run_bench.py            # from the repo root (what `just bench` runs)
    python3 benches/reference/run_bench.py --quick    # smoke test: 200 samples only

1. Makes the benchmark instance: `musiclime synth --tracks 1 --seed 3 --seconds 30 --classes 4`
   into reports/bench/data, then replaces its lyrics with BENCH_LYRICS below (100 words, 60
   distinct; the vocabulary of tests/fixtures/bench_models/tokenizer.json is made from it).
2. For each model (light, heavy: tests/fixtures/bench_models/) and neighbourhood size (1000,
   5000): runs `musiclime explain ... --profile` (Rust) and benches/reference/
   musiclime_reference.py (Python, in the virtual environment .venv-bench, created from
   benches/reference/requirements.txt when missing or stale) on the same stems, lyrics, model,
   seed and batch size (64). One untimed warm-up run of each goes first (page cache; numba's
   on-disk cache of librosa's kernels on a fresh .venv-bench).
3. Writes reports/bench/bench.csv, bench.md (machine, table, speed-ups, targets with PASS/MISS)
   and bench.json (everything, including both sides' top features).

Only the standard library is needed to run this script; it must stay importable without
side effects (tests/fixtures/bench_models/generate.py imports BENCH_LYRICS from it).
"""

import argparse
import csv
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time

# The benchmark lyrics: 10 lines, 100 words, 60 distinct (all lower case, no punctuation), so
# 40 audio components + 60 words = 100 interpretable features, and 102 tokens with [CLS]/[SEP]
# (no truncation at 128). The first 36 distinct-word slots mix the vocabulary of
# `musiclime synth` (src/synth.rs) with ordinary English words.
BENCH_LYRICS = """we walk the long road home and the night is cold
fire in the sky and the moon on the river
hold on to this feeling never let go
you burn the flame in the dark city rain
come back to the ocean and the wave and the tide
all day long we talk to the star in your dream
open the door and the window let the light in
the engine and the wheel run away down the road again
our song is slow and wild and free
stay close to your heart and your eyes all the time
"""

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
BINARY = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "musiclime")
MODELS_DIR = os.path.join("tests", "fixtures", "bench_models")
REFERENCE = os.path.join("benches", "reference", "musiclime_reference.py")
REQUIREMENTS = os.path.join("benches", "reference", "requirements.txt")
VENV = ".venv-bench"
OUT = os.path.join("reports", "bench")
DATA = os.path.join(OUT, "data")
TRACK = os.path.join(DATA, "track000")
SYNTH = dict(tracks=1, seed=3, seconds=30, classes=4)
MODELS = ["light", "heavy"]
SIZES = [1000, 5000]
QUICK_SIZES = [200]
SEED = 0
BATCH = 64
WARMUP_SAMPLES = 64
COLUMNS = [
    "implementation",
    "model",
    "num_samples",
    "wall_s",
    "model_s",
    "non_model_s",
    "peak_mb",
    "samples_per_s",
]
# Targets of the "Benchmarks" issue.
NON_MODEL_SHARE_MAX = 0.05  # Rust non-model time / wall, heavy model
SPEEDUP_MIN = 10.0  # Python wall / Rust wall, light model
PEAK_RATIO_MAX = 1.2  # Rust peak memory at 5000 / at 1000


LAST_CPU_S = 0.0


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def log(msg):
    print(msg, flush=True)


def run(cmd, log_path=None, env=None):
    """Runs `cmd` from the repo root; its output goes to log_path (or is captured). Returns
    (stdout text, seconds); the command's CPU time (user + system, its children included) is
    kept in LAST_CPU_S. Fails with the log's tail when the command fails."""
    global LAST_CPU_S
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if log_path:
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with open(log_path, "w") as f:
            f.write("$ " + " ".join(cmd) + "\n")
            f.flush()
            proc = subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env)
        with open(log_path) as f:
            text = f.read()
    else:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
        text = proc.stdout + proc.stderr
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU_S = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{text[-3000:]}"
        )
    return text, seconds


# ---------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------
def venv_python():
    return os.path.join(REPO, VENV, "bin", "python")


def ensure_venv():
    """.venv-bench with benches/reference/requirements.txt, reinstalled when the file changes."""
    with open(os.path.join(REPO, REQUIREMENTS), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(REPO, VENV, ".requirements.sha256")
    if os.path.exists(stamp) and open(stamp).read().strip() == digest and os.path.exists(venv_python()):
        return
    log(f"setting up {VENV} from {REQUIREMENTS} ...")

    def has_pip():
        return os.path.exists(venv_python()) and subprocess.run(
            [venv_python(), "-m", "pip", "--version"], cwd=REPO, capture_output=True
        ).returncode == 0

    for _ in range(2):  # `python -m venv` can fail transiently in ensurepip: try once more
        if has_pip():
            break
        shutil.rmtree(os.path.join(REPO, VENV), ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", VENV], cwd=REPO)
    if not has_pip():
        raise SystemExit(f"could not create {VENV} with pip: {sys.executable} -m venv {VENV}")
    run([venv_python(), "-m", "pip", "install", "--quiet", "-r", REQUIREMENTS])
    with open(stamp, "w") as f:
        f.write(digest + "\n")


def check_binary(need_profile):
    path = os.path.join(REPO, BINARY)
    if not os.access(path, os.X_OK):
        raise SystemExit(f"{BINARY} not found: run `cargo build --release` first")
    if not need_profile:
        return
    help_text, _ = run([BINARY, "explain", "--help"])
    if "--profile" not in help_text:
        raise SystemExit(f"{BINARY} has no `explain --profile`: rebuild it (`cargo build --release`)")
    if not os.path.isdir(os.path.join(REPO, ".venv")):
        log("note: no .venv (ONNX Runtime for the Rust side); `just setup` makes it")


def tokenizer_vocab():
    with open(os.path.join(REPO, MODELS_DIR, "tokenizer.json")) as f:
        return set(json.load(f)["model"]["vocab"])


def make_instance():
    """The synthetic track of the benchmark with BENCH_LYRICS as its lyrics."""
    if os.path.exists(os.path.join(REPO, DATA)):
        shutil.rmtree(os.path.join(REPO, DATA))
    cmd = [BINARY, "synth", "--out", DATA] + [
        x for k, v in SYNTH.items() for x in (f"--{k}", str(v))
    ]
    run(cmd)
    with open(os.path.join(REPO, TRACK, "lyrics.txt"), "w", encoding="utf-8") as f:
        f.write(BENCH_LYRICS)
    words = re.findall(r"\w+", BENCH_LYRICS)
    missing = sorted({w.lower() for w in words} - tokenizer_vocab())
    if missing:
        raise SystemExit(
            f"{MODELS_DIR}/tokenizer.json lacks {missing}: rerun {MODELS_DIR}/generate.py"
        )
    return dict(
        command=" ".join(cmd),
        lyrics_words=len(words),
        lyrics_distinct_words=len(dict.fromkeys(words)),
    )


# ---------------------------------------------------------------------------------------------
# One measurement
# ---------------------------------------------------------------------------------------------
def rust_cmd(model, n, out_dir):
    return [
        BINARY, "explain",
        "--model", os.path.join(MODELS_DIR, f"{model}.yaml"),
        "--audio", os.path.join(TRACK, "mixture.wav"),
        "--lyrics", os.path.join(TRACK, "lyrics.txt"),
        "--stems", os.path.join(TRACK, "stems"),
        "--num-samples", str(n),
        "--seed", str(SEED),
        "--batch-size", str(BATCH),
        "--feature-selection", "none",
        "--out", out_dir,
        "--profile", os.path.join(out_dir, "profile.json"),
    ]  # fmt: skip


def python_cmd(model, n, out_dir):
    return [
        venv_python(), REFERENCE,
        "--stems", os.path.join(TRACK, "stems"),
        "--lyrics", os.path.join(TRACK, "lyrics.txt"),
        "--model", os.path.join(MODELS_DIR, f"{model}.onnx"),
        "--tokenizer", os.path.join(MODELS_DIR, "tokenizer.json"),
        "--num-samples", str(n),
        "--seed", str(SEED),
        "--batch-size", str(BATCH),
        "--out", os.path.join(out_dir, "profile.json"),
    ]  # fmt: skip


def rust_top_features(out_dir):
    with open(os.path.join(REPO, out_dir, "explanation.json")) as f:
        exp = json.load(f)
    label = exp["predicted_label"]
    weights = exp["labels"][str(label)]["weights"]
    return label, [[w["feature"], w["weight"]] for w in weights[:10]]


def measure(impl, model, n):
    out_dir = os.path.join(OUT, f"{impl}_{model}_{n}")
    shutil.rmtree(os.path.join(REPO, out_dir), ignore_errors=True)
    os.makedirs(os.path.join(REPO, out_dir))
    cmd = rust_cmd(model, n, out_dir) if impl == "rust" else python_cmd(model, n, out_dir)
    _, process_s = run(cmd, os.path.join(REPO, out_dir, "log.txt"))
    with open(os.path.join(REPO, out_dir, "profile.json")) as f:
        prof = json.load(f)
    row = {
        "implementation": impl,
        "model": model,
        "num_samples": int(prof["num_samples"]),
        "wall_s": float(prof["wall_s"]),
        "model_s": float(prof["model_s"]),
        "non_model_s": float(prof["non_model_s"]),
        "peak_mb": float(prof["peak_mb"]) if prof.get("peak_mb") is not None else float("nan"),
        "samples_per_s": float(prof["samples_per_s"]),
        "process_s": process_s,
        "process_cpu_s": LAST_CPU_S,
    }
    if impl == "rust":
        row["predicted_label"], row["top_features"] = rust_top_features(out_dir)
    else:
        row["predicted_label"], row["top_features"] = prof["predicted_label"], prof["top_features"]
        row["import_s"] = prof.get("import_s")
        row["breakdown_s"] = prof.get("breakdown_s")
    log(
        f"  {impl:6s} {model:5s} n={n:5d}: wall {row['wall_s']:8.2f} s, model {row['model_s']:7.2f} s, "
        f"peak {row['peak_mb']:7.0f} MB, {row['samples_per_s']:8.1f} samples/s"
    )
    return row


def warm_up(models, impls):
    """Untimed: fills the page cache, numba's on-disk cache (librosa) and ONNX Runtime's first
    load, so that no timed run pays a one-off cost."""
    out_dir = os.path.join(OUT, "warmup")
    shutil.rmtree(os.path.join(REPO, out_dir), ignore_errors=True)
    for model in models:
        for impl in impls:
            cmd = (rust_cmd if impl == "rust" else python_cmd)(model, WARMUP_SAMPLES, out_dir)
            run(cmd, os.path.join(REPO, out_dir, f"{impl}_{model}.txt"))


# ---------------------------------------------------------------------------------------------
# Machine and report
# ---------------------------------------------------------------------------------------------
def machine_info():
    info = {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")}
    cpu, physical = "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            block = {}
            for line in f:
                if ":" in line:
                    k, v = (s.strip() for s in line.split(":", 1))
                    block[k] = v
                    if k == "model name" and cpu == "?":
                        cpu = v
                elif block:
                    physical.add((block.get("physical id"), block.get("core id")))
                    block = {}
            if block:
                physical.add((block.get("physical id"), block.get("core id")))
    except OSError:
        pass
    info["cpu"] = cpu
    info["logical_cpus"] = os.cpu_count()
    info["usable_cpus"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    info["physical_cores"] = len(physical) if physical and None not in next(iter(physical)) else None
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(l for l in f if l.startswith("MemTotal:")).split()[1])
        info["ram_gib"] = round(kb / 1024**2, 1)
    except (OSError, StopIteration):
        info["ram_gib"] = None
    info["os"] = f"{platform.system()} {platform.release()}"
    if os.path.exists(venv_python()):
        out, _ = run([venv_python(), "-c", "import sys, onnxruntime, numpy, librosa; print(sys.version.split()[0], "
                      "onnxruntime.__version__, numpy.__version__, librosa.__version__)"])
        py, ort, np_, lr = out.split()[:4]
    else:
        py = ort = np_ = lr = "?"
    info.update(python=py, onnxruntime_python=ort, numpy=np_, librosa=lr)
    rust_ort = sorted(glob.glob(os.path.join(REPO, ".venv", "lib", "python*", "site-packages", "onnxruntime-*.dist-info")))
    info["onnxruntime_rust"] = (
        os.path.basename(rust_ort[-1])[len("onnxruntime-"):-len(".dist-info")] if rust_ort else "?"
    )
    info["musiclime"] = run([BINARY, "--version"])[0].strip()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        info["git"] = commit + (" (with local changes)" if dirty else "") if commit else "?"
    except OSError:
        info["git"] = "?"
    return info


def find(rows, impl, model, n):
    return next((r for r in rows if (r["implementation"], r["model"], r["num_samples"]) == (impl, model, n)), None)


def analyse(rows, models, sizes):
    speedups, shares, peaks, targets, agreement = [], [], [], [], []
    for model in models:
        for n in sizes:
            r, p = find(rows, "rust", model, n), find(rows, "python", model, n)
            if r:
                shares.append((model, n, r["non_model_s"] / r["wall_s"]))
            if r and p:
                speedups.append((model, n, p["wall_s"] / r["wall_s"],
                                 p["non_model_s"] / max(r["non_model_s"], 1e-9),
                                 r["model_s"] / p["model_s"] if p["model_s"] > 0 else float("nan")))
                top_r = {f for f, _ in r["top_features"]}
                top_p = {f for f, _ in p["top_features"]}
                agreement.append((model, n, r["predicted_label"], p["predicted_label"], len(top_r & top_p)))
        lo, hi = find(rows, "rust", model, 1000), find(rows, "rust", model, 5000)
        if lo and hi:
            peaks.append((model, hi["peak_mb"] / lo["peak_mb"], lo["peak_mb"], hi["peak_mb"]))

    for model, n, share in shares:
        if model == "heavy":
            ok = share <= NON_MODEL_SHARE_MAX
            targets.append((ok, f"Rust non-model time ≤ {NON_MODEL_SHARE_MAX:.0%} of wall (heavy, n={n}): {share:.1%}"))
    if "heavy" in models and not any(m == "heavy" for m, _, _ in shares):
        targets.append((None, "Rust non-model share (heavy): not measured"))
    for model, n, ratio, _, _ in speedups:
        if model == "light":
            ok = ratio >= SPEEDUP_MIN
            targets.append((ok, f"end to end ≥ {SPEEDUP_MIN:.0f}× faster than Python (light, n={n}): {ratio:.1f}×"))
    for model, ratio, lo, hi in peaks:
        ok = ratio <= PEAK_RATIO_MAX
        targets.append((ok, f"Rust peak memory at 5000 ≤ {PEAK_RATIO_MAX}× at 1000 ({model}): "
                            f"{ratio:.2f}× ({lo:.0f} → {hi:.0f} MB)"))
    if not peaks:
        targets.append((None, "Rust peak memory 5000 vs 1000: not measured (needs both sizes; not in --quick)"))
    return dict(speedups=speedups, shares=shares, peaks=peaks, targets=targets, agreement=agreement)


def write_csv(rows, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r[c] if not isinstance(r[c], float) else f"{r[c]:.4f}" for c in COLUMNS])


def write_md(rows, a, info, instance, quick, path):
    mark = {True: "PASS", False: "MISS", None: "n/a"}
    lines = [
        "# musiclime vs the Python reference (the paper's code path)",
        "",
        f"Written by `benches/reference/run_bench.py{' --quick' if quick else ''}` on {info['date_utc']} UTC.",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}; {info['logical_cpus']} logical CPUs"
        + (f", {info['physical_cores']} physical cores" if info.get("physical_cores") else "")
        + (f", {info['usable_cpus']} usable by this process" if info.get("usable_cpus") else ""),
        f"- RAM: {info['ram_gib']} GiB; {info['os']}",
        f"- Python {info['python']} (`{VENV}`): onnxruntime {info['onnxruntime_python']}, numpy {info['numpy']}, librosa {info['librosa']}",
        f"- Rust: `{info['musiclime']}` (git {info['git']}), ONNX Runtime {info['onnxruntime_rust']} (from `.venv`)",
        f"- ONNX Runtime intra-op threads: the library default (the machine's cores) on both sides",
        f"- 1-minute load average: {info.get('load_before', float('nan')):.2f} before the runs, "
        f"{info.get('load_after', float('nan')):.2f} after (ours included)"
        + (" (**the machine was busy: timings are unreliable**)" if info.get("busy") else ""),
        "",
        "## Setup",
        "",
        f"One instance: `{instance['command']}` (30 s at 16 kHz, 4 stems), its lyrics replaced by the",
        f"fixed text in `run_bench.py` ({instance['lyrics_words']} words, {instance['lyrics_distinct_words']} distinct): 40 audio components",
        f"+ {instance['lyrics_distinct_words']} words = {40 + instance['lyrics_distinct_words']} features. Models `tests/fixtures/bench_models/{{light,heavy}}.onnx`",
        f"(log-mel [64, 938] + 128 tokens → 8 probabilities). Both sides: paper sampler, seed {SEED},",
        f"batches of {BATCH}, kernel width 25 on unscaled cosine distances, feature selection `none`,",
        "Ridge(alpha=1) for the predicted label. `wall_s`: Rust from the start of `explain` to the",
        "written explanation; Python from the end of its imports (listed apart below) to the",
        "explanation. `model_s`: time inside the ONNX Runtime session run. `non_model_s` = wall − model.",
        "`peak_mb`: peak resident memory of the process.",
        "",
        "## Results",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for r in rows:
        lines.append(
            f"| {r['implementation']} | {r['model']} | {r['num_samples']} | {r['wall_s']:.2f} | {r['model_s']:.2f} | "
            f"{r['non_model_s']:.2f} | {r['peak_mb']:.0f} | {r['samples_per_s']:.1f} |"
        )
    lines += ["", "## Speed-up (Python wall / Rust wall)", "",
              "Rust prepares the next batch while the model runs, so its non-model time counts only what",
              "does not overlap; the last column shows what the overlap costs the model (same graph, same",
              "ONNX Runtime, same threads: 1.00 would be no cost).", "",
              "| model | num_samples | end to end | non-model time | model time, Rust / Python |",
              "|---|---|---|---|---|"]
    for model, n, ratio, nm, mr in a["speedups"]:
        lines.append(f"| {model} | {n} | {ratio:.1f}× | {nm:.1f}× | {mr:.2f} |")
    lines += ["", "## Rust non-model share of wall time", "", "| model | num_samples | share |", "|---|---|---|"]
    for model, n, share in a["shares"]:
        lines.append(f"| {model} | {n} | {share:.1%} |")
    if a["peaks"]:
        lines += ["", "## Rust peak memory, 5000 vs 1000 samples", "",
                  "| model | at 1000 (MB) | at 5000 (MB) | ratio |", "|---|---|---|---|"]
        for model, ratio, lo, hi in a["peaks"]:
            lines.append(f"| {model} | {lo:.0f} | {hi:.0f} | {ratio:.2f} |")
    lines += ["", "## Targets", ""]
    for ok, text in a["targets"]:
        lines.append(f"- **{mark[ok]}** {text}")
    lines += ["", "## Same explanation? (sanity check, not a target)", "",
              "Both sides sample with their own random generator, so the neighbourhoods differ; the",
              "predicted label must agree and the top features should mostly overlap.", "",
              "| model | num_samples | predicted label (Rust / Python) | top-10 features in common |",
              "|---|---|---|---|"]
    for model, n, lr, lp, common in a["agreement"]:
        lines.append(f"| {model} | {n} | {lr} / {lp} | {common} / 10 |")
    lines += ["", "## Whole processes (wall clock and CPU time around each command)", "",
              "| implementation | model | num_samples | process wall (s) | process CPU (s) | Python imports (s) |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        imp = f"{r['import_s']:.2f}" if r.get("import_s") is not None else ""
        lines.append(f"| {r['implementation']} | {r['model']} | {r['num_samples']} | {r['process_s']:.2f} | "
                     f"{r['process_cpu_s']:.2f} | {imp} |")
    py = [r for r in rows if r["implementation"] == "python" and r.get("breakdown_s")]
    if py:
        keys = sorted({k for r in py for k in r["breakdown_s"]})
        lines += ["", "## Where the Python reference spends its time (s)", "",
                  "| model | num_samples | " + " | ".join(k[:-2] for k in keys) + " |",
                  "|---|---|" + "---|" * len(keys)]
        for r in py:
            lines.append(f"| {r['model']} | {r['num_samples']} | "
                         + " | ".join(f"{r['breakdown_s'].get(k, 0):.2f}" for k in keys) + " |")
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"smoke test: num_samples {QUICK_SIZES} only")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of light,heavy")
    ap.add_argument("--num-samples", help="comma-separated sizes (default 1000,5000; --quick 200)")
    ap.add_argument("--only", choices=["rust", "python"], help="run one side only")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up runs")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    if any(m not in MODELS for m in models):
        raise SystemExit(f"--models: choose from {MODELS}")
    sizes = [int(s) for s in args.num_samples.split(",")] if args.num_samples else (
        QUICK_SIZES if args.quick else SIZES)
    impls = [args.only] if args.only else ["rust", "python"]

    load_before = load_average()  # before anything of ours runs
    if load_before > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load_before:.2f}: other work on this machine skews the timings")
    os.makedirs(os.path.join(REPO, OUT), exist_ok=True)
    if "python" in impls:
        ensure_venv()
    check_binary("rust" in impls)
    instance = make_instance()
    log(f"instance: {TRACK} ({instance['lyrics_distinct_words']} distinct words); models {models}; sizes {sizes}")
    if not args.no_warmup:
        log("warm-up (untimed) ...")
        warm_up(models, impls)
    rows = []
    for model in models:
        for n in sizes:
            for impl in impls:
                rows.append(measure(impl, model, n))

    info = machine_info()
    info["load_before"], info["load_after"] = load_before, load_average()
    info["busy"] = load_before > 0.5 * (os.cpu_count() or 1)
    a = analyse(rows, models, sizes)
    write_csv(rows, os.path.join(REPO, OUT, "bench.csv"))
    write_md(rows, a, info, instance, args.quick, os.path.join(REPO, OUT, "bench.md"))
    with open(os.path.join(REPO, OUT, "bench.json"), "w") as f:
        json.dump(dict(machine=info, instance=instance, rows=rows,
                       targets=[dict(status={True: "PASS", False: "MISS", None: "n/a"}[ok], text=t)
                                for ok, t in a["targets"]]), f, indent=1)
        f.write("\n")
    log("")
    for ok, text in a["targets"]:
        log(f"{ {True: 'PASS', False: 'MISS', None: 'n/a '}[ok] } {text}")
    log(f"wrote {OUT}/bench.csv, bench.md, bench.json")
    if args.strict and any(ok is False for ok, _ in a["targets"]):
        sys.exit(1)


if __name__ == "__main__":
    main()

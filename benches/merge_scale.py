#!/usr/bin/env python3
"""What merging a large sharded run costs: `musiclime report` on a store of N unit records.

    python3 benches/merge_scale.py                 # 100,000 units (from the repo root)
    python3 benches/merge_scale.py --units 10000   # smaller

It runs a small real experiment (12 synthetic tracks, MusicLIME and lime_audio on the
built-in multimodal model, 40 audio components and about 10 words each, 1000 samples),
then writes a store of N records by giving copies of those records new instance ids
(`song000000`, ...), with a run.json that lists them, as a run of N/2 songs x 2 explainers
would leave it. Then it times `musiclime report` on it (wall time and peak memory via
/usr/bin/time when present) and records the store's file count and size, and the size of the
tables written (in a temporary directory, removed afterwards). Results go to
reports/bench/merge_scale/merge_scale.json and .md.

Only the standard library is needed; the binary is target/release/musiclime (honours
CARGO_TARGET_DIR; build it first with `cargo build --release`).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BINARY = os.path.join(TARGET, "release", "musiclime")
OUT = os.path.join(ROOT, "reports", "bench", "merge_scale")

CONFIG = """name: merge_template
dataset:
  synthetic: {{tracks: 12, seed: 1, seconds: 5.0, classes: 3}}
models:
  multimodal: builtin:multimodal
explainers:
  - {{name: musiclime, method: musiclime, model: multimodal}}
  - {{name: lime_audio, method: lime_audio, model: multimodal}}
metrics: [score, local_error, deletion_auc, insertion_auc, comprehensiveness_at_5, sufficiency_at_5, complexity, sparseness]
report: {{reference: musiclime}}
output: {output}
"""


def sh(args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw)


def template_run(work):
    """A real run whose records are the templates."""
    out = os.path.join(work, "template")
    config = os.path.join(work, "template.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(output=out))
    sh([BINARY, "run", config, "--fresh"])
    return out


def build_store(template, target, units):
    """A run directory with `units` records cloned from `template`'s."""
    with open(os.path.join(template, "run.json")) as f:
        manifest = json.load(f)
    explainers = [e["name"] for e in manifest["config"]["explainers"]]
    store = os.path.join(template, "store")
    by_explainer = {e: [] for e in explainers}
    for name in sorted(os.listdir(store)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(store, name)) as f:
            record = json.load(f)
        by_explainer[record["explainer"]].append(record)
    songs = units // len(explainers)
    ids = [f"song{i:06d}" for i in range(songs)]
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(os.path.join(target, "store"))
    for i, song in enumerate(ids):
        for explainer in explainers:
            pool = by_explainer[explainer]
            record = dict(pool[i % len(pool)])
            record["instance"] = song
            path = os.path.join(target, "store", f"{song}__{explainer}__cell0__r0.json")
            with open(path, "w") as f:
                json.dump(record, f, separators=(",", ":"))
    manifest["instance_ids"] = ids
    manifest["instances"] = songs
    manifest["units"] = songs * len(explainers)
    manifest["config"]["output"] = target
    manifest["status"] = "prepared"
    with open(os.path.join(target, "run.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return songs * len(explainers)


def directory_size(path):
    total, count = 0, 0
    for base, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(base, name))
            count += 1
    return total, count


def timed_report(target):
    """Wall seconds and peak resident MB of `musiclime report`."""
    time_binary = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    args = [BINARY, "report", target]
    if time_binary:
        args = [time_binary, "-v"] + args
    started = time.monotonic()
    done = subprocess.run(args, text=True, capture_output=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"musiclime report failed:\n{done.stderr}")
    peak = None
    for line in done.stderr.splitlines():
        if "Maximum resident set size" in line:
            peak = int(line.split(":")[1]) / 1024.0
    return wall, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=100_000)
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: run `cargo build --release` first")
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="merge_scale_")
    template = template_run(work)
    target = os.path.join(work, f"store_{args.units}")
    started = time.monotonic()
    units = build_store(template, target, args.units)
    build_seconds = time.monotonic() - started
    store_bytes, store_files = directory_size(os.path.join(target, "store"))
    wall, peak = timed_report(target)
    tables_bytes, tables_files = directory_size(os.path.join(target, "tables"))
    largest = sorted(
        ((os.path.getsize(os.path.join(target, "tables", n)), n) for n in os.listdir(os.path.join(target, "tables"))),
        reverse=True,
    )[:4]
    result = {
        "units": units,
        "store_files": store_files,
        "store_mb": store_bytes / 1e6,
        "store_written_seconds": build_seconds,
        "report_seconds": wall,
        "report_peak_mb": peak,
        "tables_files": tables_files,
        "tables_mb": tables_bytes / 1e6,
        "largest_tables": [{"file": n, "mb": b / 1e6} for b, n in largest],
    }
    with open(os.path.join(OUT, "merge_scale.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = [
        f"# Merging {units:,} units",
        "",
        f"- store: {store_files:,} files, {store_bytes / 1e6:.0f} MB",
        f"- `musiclime report`: {wall:.1f} s wall, peak {peak:.0f} MB" if peak else f"- `musiclime report`: {wall:.1f} s wall",
        f"- tables: {tables_files} files, {tables_bytes / 1e6:.0f} MB; largest: "
        + ", ".join(f"{n} {b / 1e6:.0f} MB" for b, n in largest),
    ]
    with open(os.path.join(OUT, "merge_scale.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()

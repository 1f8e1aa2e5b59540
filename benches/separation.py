#!/usr/bin/env python3
"""What separating a song costs: `musiclime separate` on a 5-minute 44.1 kHz track.

    python3 benches/separation.py                 # from the repo root (`just bench` runs it)
    python3 benches/separation.py --separator S   # another separator.yaml

The separator is Spleeter's 2 stems (`just spleeter` writes models/spleeter/separator.yaml) when
it exists, else the tiny CI fixture (tests/fixtures/separator), which measures musiclime's own
share (STFT, masks, inverse STFT) with a negligible graph. The track is `musiclime synth`'s
(5 minutes, 44.1 kHz); a separator's cost does not depend on the music. Three runs after a
warm-up; wall seconds and peak memory (the process's maximum resident set) as min / median /
max. Writes reports/bench/separation.md and separation.json. Only the standard library is needed.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
BINARY = os.path.join(TARGET, "release", "musiclime")
OUT = os.path.join(REPO, "reports", "bench", "separation")
SPLEETER = os.path.join(REPO, "models", "spleeter", "separator.yaml")
FIXTURE = os.path.join(REPO, "tests", "fixtures", "separator", "separator.yaml")
SECONDS = 300


def timed(cmd):
    """(wall seconds, peak MB) of one run of `cmd`."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--separator", help="a separator.yaml (default: Spleeter, else the fixture)")
    ap.add_argument("--runs", type=int, default=3)
    args, _ = ap.parse_known_args()  # `just bench ARGS` passes other benchmarks' flags too
    separator = args.separator or (SPLEETER if os.path.exists(SPLEETER) else FIXTURE)
    if not os.access(BINARY, os.X_OK):
        raise SystemExit(f"{BINARY} not found: run `cargo build --release` first")
    os.makedirs(OUT, exist_ok=True)
    data = os.path.join(OUT, "track")
    if not os.path.exists(os.path.join(data, "manifest.csv")):
        subprocess.run([BINARY, "synth", "--out", data, "--tracks", "1", "--seconds",
                        str(SECONDS), "--sample-rate", "44100", "--seed", "2"], check=True,
                       stdout=subprocess.DEVNULL)
    audio = os.path.join(data, "track000", "mixture.wav")
    stems = os.path.join(OUT, "stems")
    cmd = [BINARY, "separate", "--audio", audio, "--separator", separator, "--out", stems]
    timed(cmd)  # warm-up
    runs = [timed(cmd) for _ in range(args.runs)]
    walls, peaks = [r[0] for r in runs], [r[1] for r in runs]
    with open(os.path.join(stems, "stems.json")) as f:
        info = json.load(f)
    result = {"separator": os.path.relpath(separator, REPO), "seconds_of_audio": SECONDS,
              "sample_rate": 44100, "runs": args.runs, "wall_s": walls, "peak_mb": peaks,
              "stems": info["stems"], "residual_db": info["residual_db"],
              "cores": os.cpu_count()}
    with open(os.path.join(OUT, "..", "separation.json"), "w") as f:
        json.dump(result, f, indent=1)
    line = lambda v, unit: (f"{min(v):.1f} / {statistics.median(v):.1f} / {max(v):.1f} {unit}")  # noqa: E731
    text = "\n".join([
        "# Separating a 5-minute song", "",
        f"`benches/separation.py`: `musiclime separate` with `{result['separator']}` "
        f"({', '.join(info['stems'])}) on a {SECONDS} s 44.1 kHz track, {os.cpu_count()} cores, "
        f"{args.runs} runs after a warm-up (min / median / max).", "",
        "| wall | peak memory | residual |", "|---|---|---|",
        f"| {line(walls, 's')} | {line(peaks, 'MB')} | {info['residual_db']:.1f} dB |", ""])
    with open(os.path.join(OUT, "..", "separation.md"), "w") as f:
        f.write(text)
    shutil.rmtree(stems, ignore_errors=True)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time and memory of models/musicnn/mtt_musicnn.onnx on this CPU with onnxruntime.

    .venv-musicnn/bin/python experiments/musicnn/bench.py

Timing: one session with default options (intra-op threads = physical cores) and one with a
single thread; per batch size (1, 4, 11 and 32 patches of [187, 96]), 3 warm-up runs, then the
median and minimum of 20 (batch 1 and 4) / 10 (batch 11 and 32) runs, and ms per patch.

Memory: for each batch size (0 = create the session only, 1, 11, 32, 64) and each allocator
setting (the default CPU arena; `enable_cpu_mem_arena=False`; each of those with
`enable_mem_pattern=False`), a fresh Python process (numpy + onnxruntime only, no TensorFlow)
creates the session and runs the batch 3 times; `/usr/bin/time -v` reports its peak RSS.
Activations per patch = the slope of peak RSS over batch size (32 -> 64, and 1 -> 64). (A batch
of 256 patches peaked at 13.2 GB with the arena and 5.8 GB without, the same slopes; left out so
the script stays safe on small machines.)

Writes models/musicnn/bench.json. The numbers depend on the machine and its load (the load
average is recorded), so they are indicative.
"""

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np

ONNX = "models/musicnn/mtt_musicnn.onnx"
OUT = "models/musicnn/bench.json"
BATCHES = [0, 1, 11, 32, 64]
SETTINGS = ["arena", "no_arena", "arena_no_mem_pattern", "no_arena_no_mem_pattern"]


def child(batch, setting):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.enable_cpu_mem_arena = not setting.startswith("no_arena")
    so.enable_mem_pattern = not setting.endswith("no_mem_pattern")
    sess = ort.InferenceSession(ONNX, so, providers=["CPUExecutionProvider"])
    if batch:
        x = np.random.default_rng(0).random((batch, 187, 96)).astype(np.float32) * 3
        for _ in range(3):
            sess.run(None, {"melspectrogram": x})


def peak_rss_mb(batch, arena):
    cmd = ["/usr/bin/time", "-v", sys.executable, os.path.abspath(__file__), "--child", str(batch), arena]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return kb / 1024.0


def timings():
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    res = {}
    for threads in (0, 1):
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        sess = ort.InferenceSession(ONNX, so, providers=["CPUExecutionProvider"])
        for batch, reps in ((1, 20), (4, 20), (11, 10), (32, 10)):
            x = (rng.random((batch, 187, 96)) * 3).astype(np.float32)
            for _ in range(3):
                sess.run(None, {"melspectrogram": x})
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                sess.run(None, {"melspectrogram": x})
                ts.append((time.perf_counter() - t0) * 1000)
            key = f"{'default' if not threads else '1'}_threads_batch_{batch}"
            med = statistics.median(ts)
            res[key] = {"median_ms": round(med, 2), "min_ms": round(min(ts), 2), "runs": reps,
                        "median_ms_per_patch": round(med / batch, 2)}
            print(f"{key}: median {res[key]['median_ms']} ms, min {res[key]['min_ms']} ms, "
                  f"{res[key]['median_ms_per_patch']} ms per patch")
    return res


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), sys.argv[3])
        return
    import onnxruntime as ort

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    report = {"onnxruntime": ort.__version__, "cpu": cpu, "cores": os.cpu_count(),
              "python": platform.python_version(), "load_average_start": os.getloadavg()}
    report["timing"] = timings()
    rss = {}
    for arena in SETTINGS:
        rss[arena] = {}
        for b in BATCHES:
            rss[arena][b] = round(peak_rss_mb(b, arena), 1)
            print(f"peak RSS, {arena}, batch {b}: {rss[arena][b]} MB")
    report["peak_rss_mb"] = rss
    report["activation_mb_per_patch"] = {
        arena: {"slope_32_to_64": round((r[64] - r[32]) / 32, 2),
                "slope_1_to_64": round((r[64] - r[1]) / 63, 2),
                "batch_1_over_session_only": round(r[1] - r[0], 1)}
        for arena, r in rss.items()}
    report["load_average_end"] = os.getloadavg()
    with open(OUT, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report["activation_mb_per_patch"], indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

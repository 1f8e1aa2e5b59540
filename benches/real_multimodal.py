#!/usr/bin/env python3
"""What explaining the real multimodal model costs (`just real-multimodal`: musicnn's MSD tagger +
all-MiniLM-L6-v2, docs/real-multimodal.md) on a real 30 s recording with vocals.

    python3 benches/real_multimodal.py            # from the repo root (`just bench` runs it)
    python3 benches/real_multimodal.py --quick    # 1000 samples only

The recording (Armygeddon, Muldjord, CC BY-SA 3.0) is separated once by Spleeter (`musiclime
separate`, models/spleeter) into vocals and accompaniment; every explanation reads those stems
(`--stems`), 10 segments: 20 audio components and the lyrics' words. Rows: MusicLIME with the
paper's sampler and with crossed sampling (A audio masks x T lyric masks), and LIME on the audio
and on the lyrics alone, at 1000 and 5000 samples. Each row is one run (they last from seconds
to minutes): wall seconds, peak memory (the process's maximum resident set), the audio encoder's
patches and the text encoder's lyric masks run and reused. Writes reports/bench/real_multimodal.md
and .json. Only the standard library is needed. Skipped, saying so, when the model is missing.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from separation import BINARY, REPO, SPLEETER, timed  # noqa: E402  (one way to time a command)

OUT = os.path.join(REPO, "reports", "bench", "real_multimodal")
MODEL = os.path.join(REPO, "models", "real_multimodal", "model.yaml")
RECORDINGS = os.path.join(REPO, "models", "real_multimodal", "recordings")
TRACK = "armygeddon"
# (name, method, sampler args per sample count)
ROWS = [
    ("musiclime, paper sampler", ["--method", "musiclime"], {}),
    ("musiclime, crossed", ["--method", "musiclime", "--sampler", "crossed"],
     {1000: ["--audio-masks", "40"], 5000: ["--audio-masks", "50"]}),
    ("lime_audio", ["--method", "lime_audio"], {}),
    ("lime_lyrics", ["--method", "lime_lyrics"], {}),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1000 samples only")
    args, _ = ap.parse_known_args()  # `just bench ARGS` passes other benchmarks' flags too
    if not (os.path.exists(MODEL) and os.path.exists(SPLEETER)):
        print("real multimodal model: not built (`just real-multimodal`); skipped")
        return 0
    os.makedirs(OUT, exist_ok=True)
    audio = os.path.join(RECORDINGS, f"{TRACK}.wav")
    lyrics = os.path.join(RECORDINGS, f"{TRACK}.txt")
    stems = os.path.join(OUT, "stems")
    separation = timed([BINARY, "separate", "--audio", audio, "--separator", SPLEETER, "--out", stems])
    rows = []
    for n in [1000] if args.quick else [1000, 5000]:
        for name, method, extra in ROWS:
            out = os.path.join(OUT, f"{name.split(',')[0]}_{'crossed' if 'crossed' in name else 'paper'}_{n}")
            cmd = [BINARY, "explain", "--audio", audio, "--lyrics", lyrics, "--stems", stems,
                   "--model", MODEL, "--num-samples", str(n), "--out", out, *method, *extra.get(n, [])]
            wall, peak = timed(cmd)
            with open(os.path.join(out, "explanation.json")) as f:
                items = json.load(f)["model_items"]
            rows.append({"explainer": name, "num_samples": n, "wall_s": wall, "peak_mb": peak, **items})
            print(f"  {name}, {n}: {wall:.1f} s, {peak:.0f} MB, {items}", flush=True)
    result = {"track": TRACK, "seconds": 30, "components": "2 Spleeter stems x 10 segments",
              "separation": {"wall_s": separation[0], "peak_mb": separation[1]},
              "cores": os.cpu_count(), "rows": rows}
    with open(os.path.join(OUT, "..", "real_multimodal.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = ["# Explaining the real multimodal model", "",
             f"`benches/real_multimodal.py`: musicnn MSD + all-MiniLM-L6-v2 (docs/real-multimodal.md) "
             f"on a 30 s recording with vocals ({TRACK}, CC BY-SA 3.0) and its lyrics, Spleeter stems "
             f"x 10 segments, {os.cpu_count()} cores, one run per row. Separating it once: "
             f"{separation[0]:.1f} s, {separation[1]:.0f} MB.", "",
             "Patches: the audio encoder's 3 s patches (11 per clip) run and reused; lyric masks: the text "
             "encoder's runs (every sample has its own lyrics mask unless the sampler crosses them).", "",
             "| explainer | samples | wall | peak memory | fusion items | encoder items run | encoder items reused |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['explainer']} | {r['num_samples']} | {r['wall_s']:.1f} s | {r['peak_mb']:.0f} MB "
                     f"| {r['items_run']} | {r['encoder_items_run']} | {r['encoder_items_saved']} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "..", "real_multimodal.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

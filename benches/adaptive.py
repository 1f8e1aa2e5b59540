#!/usr/bin/env python3
"""Enough samples, not 5000: what `num_samples: auto` saves, and what it costs in stability and
correctness, against the paper's fixed 5000 samples.

    python3 benches/adaptive.py            # from the repo root (`just bench-auto`, `just bench`)
    python3 benches/adaptive.py --quick    # smoke test: 4 tracks, ceiling 1000

Sections:
1. The synthetic benchmark (configs/adaptive.yaml: 12 tracks x 3 repeats, the planted and the
   multimodal built-in models, MusicLIME fixed 5000 against auto with ceiling 5000, rounds of
   250 rows, top-5 stability probability 0.95). Per model: model items run (timings table),
   wall seconds of the units, rows used, mean Jaccard@5 across the repeats and planted
   precision@k per modality.
2. A patched tagger on a 30 s track (`--modality audio`, 4 stems x 10 segments): the
   musicnn-shaped fixture (tests/fixtures/musicnn_shaped: the real MTT musicnn's shapes and
   cost, random weights) and, when `just musicnn` has converted it, the real MTT musicnn on the
   real recording; 3 seeds each of fixed 5000 and auto, model items, wall time and the mean
   pairwise top-5 Jaccard across the seeds.

Targets (PASS/MISS): at least 3x fewer model items than fixed 5000; mean Jaccard@5 within 0.02
of fixed 5000's; planted precision@k equal (synthetic benchmark). Writes
reports/bench/adaptive.md and adaptive.json. Only the standard library is needed.
"""

import argparse
import csv
import itertools
import json
import os
import sys
from collections import defaultdict
from statistics import mean

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))
import run_bench as common  # noqa: E402  (shared helpers: run, log, machine_info)

REPO = common.REPO
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
BINARY = os.path.join(TARGET, "release", "musiclime")
OUT = os.path.join("reports", "bench", "adaptive")
FIXTURE_TAGGER = os.path.join("tests", "fixtures", "musicnn_shaped", "musicnn_shaped.yaml")
REAL_TAGGER = os.path.join("models", "musicnn", "musicnn_mtt.yaml")
REAL_CLIP = os.path.join("models", "musicnn", "armygeddon_30s.wav")

ITEMS_RATIO_MIN = 3.0
JACCARD_TOLERANCE = 0.02


def musiclime(*args, log_path=None):
    return common.run([BINARY, *map(str, args)], log_path)


def read_csv(path):
    with open(os.path.join(REPO, path), newline="") as f:
        return list(csv.DictReader(f))


def synthetic_section(quick):
    """Runs configs/adaptive.yaml (a quick copy when asked) and summarises it per explainer."""
    config = os.path.join("configs", "adaptive.yaml")
    output = os.path.join(OUT, "run")
    with open(os.path.join(REPO, config)) as f:
        text = f.read().replace("output: reports/adaptive", f"output: {output}")
    if quick:
        text = (text.replace("tracks: 12", "tracks: 4")
                .replace("num_samples: 5000", "num_samples: 1000")
                .replace("max_samples: 5000", "max_samples: 1000")
                .replace("fixed_5000", "fixed_1000"))
    path = os.path.join(REPO, OUT, "adaptive.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    common.log("synthetic benchmark: fixed against auto ...")
    _, wall = musiclime("run", path, "--fresh", log_path=os.path.join(REPO, OUT, "run.log"))
    tables = os.path.join(output, "tables")
    per = defaultdict(lambda: defaultdict(list))
    for row in read_csv(os.path.join(tables, "timings.csv")):
        per[row["explainer"]]["items"].append(float(row["model_items_run"]))
        per[row["explainer"]]["seconds"].append(float(row["seconds"]))
    for row in read_csv(os.path.join(tables, "metrics.csv")):
        if row["value"] not in ("", "NaN", "nan"):
            per[row["explainer"]][row["metric"]].append(float(row["value"]))
    for row in read_csv(os.path.join(tables, "stability.csv")):
        if row["value"] not in ("", "NaN", "nan"):
            per[row["explainer"]][row["metric"]].append(float(row["value"]))
    fixed = "fixed_1000" if quick else "fixed_5000"
    pairs = [(fixed, "auto"), (fixed + "_planted", "auto_planted")]
    rows = []
    for f, a in pairs:
        pf, pa = per[f], per[a]
        row = {
            "fixed": f,
            "auto": a,
            "items_fixed": sum(pf["items"]),
            "items_auto": sum(pa["items"]),
            "seconds_fixed": sum(pf["seconds"]),
            "seconds_auto": sum(pa["seconds"]),
            "samples_auto_mean": mean(pa["samples_used"]),
            "samples_auto_min": min(pa["samples_used"]),
            "samples_auto_max": max(pa["samples_used"]),
            "jaccard_fixed": mean(pf["jaccard_at_5"]),
            "jaccard_auto": mean(pa["jaccard_at_5"]),
            "stable_fixed": mean(pf["posterior_top_k_stable"]),
            "stable_auto": mean(pa["posterior_top_k_stable"]),
        }
        for m in ("precision_at_k_audio", "precision_at_k_lyrics"):
            row[m + "_fixed"] = mean(pf[m]) if pf[m] else float("nan")
            row[m + "_auto"] = mean(pa[m]) if pa[m] else float("nan")
        row["items_ratio"] = row["items_fixed"] / max(row["items_auto"], 1)
        row["items_pass"] = row["items_ratio"] >= ITEMS_RATIO_MIN
        row["jaccard_pass"] = abs(row["jaccard_auto"] - row["jaccard_fixed"]) <= JACCARD_TOLERANCE
        row["precision_pass"] = all(
            abs(row[m + "_auto"] - row[m + "_fixed"]) <= 1e-9
            for m in ("precision_at_k_audio", "precision_at_k_lyrics")
            if row[m + "_fixed"] == row[m + "_fixed"]
        )
        rows.append(row)
    return rows, wall


def top_set(explanation, k=5):
    label = explanation["labels"][str(explanation["predicted_label"])]
    return {w["feature"] for w in label["weights"][:k]}


def tagger_section(quick):
    """Fixed against auto on a 30 s track through a patched tagger, 3 seeds each."""
    cases = [("musicnn_shaped", FIXTURE_TAGGER, None)]
    if os.path.exists(os.path.join(REPO, REAL_TAGGER)):
        cases.append(("musicnn_mtt_real", REAL_TAGGER, REAL_CLIP))
    data = os.path.join(OUT, "tagger_track")
    if not os.path.exists(os.path.join(REPO, data, "manifest.csv")):
        musiclime("synth", "--out", data, "--tracks", 1, "--seconds", 30, "--seed", 3)
    ceiling = 1000 if quick else 5000
    seeds = [0, 1] if quick else [0, 1, 2]
    rows = []
    for name, model, clip in cases:
        audio = clip or os.path.join(data, "track000", "mixture.wav")
        lyrics = os.path.join(data, "track000", "lyrics.txt")
        runs = {}
        for mode in (str(ceiling), "auto"):
            runs[mode] = []
            for seed in seeds:
                out = os.path.join(OUT, "tagger", f"{name}_{mode}_{seed}")
                profile = out + ".profile.json"
                common.log(f"{name}: --num-samples {mode} --seed {seed} ...")
                musiclime("explain", "--audio", audio, "--lyrics", lyrics, "--model", model,
                          "--modality", "audio", "--segments", 10, "--num-samples", mode,
                          "--max-samples", ceiling, "--seed", seed, "--out", out,
                          "--profile", profile, log_path=os.path.join(REPO, out + ".log"))
                with open(os.path.join(REPO, profile)) as f:
                    p = json.load(f)
                with open(os.path.join(REPO, out, "explanation.json")) as f:
                    e = json.load(f)
                label = e["labels"][str(e["predicted_label"])]
                runs[mode].append({
                    "items": p["model_items"]["items_run"],
                    "wall_s": p["wall_s"],
                    "samples": p["num_samples"],
                    "top": top_set(e),
                    "stable": (label.get("uncertainty") or {}).get("top_k_stable"),
                })

        def jaccard(rs):
            pairs = list(itertools.combinations([r["top"] for r in rs], 2))
            return mean(len(a & b) / len(a | b) for a, b in pairs)

        fixed, auto = runs[str(ceiling)], runs["auto"]
        row = {
            "model": name,
            "ceiling": ceiling,
            "items_fixed": sum(r["items"] for r in fixed),
            "items_auto": sum(r["items"] for r in auto),
            "wall_fixed": sum(r["wall_s"] for r in fixed),
            "wall_auto": sum(r["wall_s"] for r in auto),
            "samples_auto": [r["samples"] for r in auto],
            "jaccard_fixed": jaccard(fixed),
            "jaccard_auto": jaccard(auto),
            "top5_overlap": mean(len(a["top"] & f["top"]) / 5 for a, f in zip(auto, fixed)),
        }
        row["items_ratio"] = row["items_fixed"] / max(row["items_auto"], 1)
        row["items_pass"] = row["items_ratio"] >= ITEMS_RATIO_MIN
        row["jaccard_pass"] = abs(row["jaccard_auto"] - row["jaccard_fixed"]) <= JACCARD_TOLERANCE
        rows.append(row)
    return rows


def verdict(ok):
    return "PASS" if ok else "MISS"


def write_report(synthetic, tagger, info, quick):
    smoke = " (QUICK smoke run: 4 tracks, ceiling 1000; not the targets' setting)" if quick else ""
    lines = [
        "# num_samples: auto against a fixed sample count",
        "",
        f"Measured {info.get('date_utc', '?')} on {info.get('cpu', '?')} "
        f"({info.get('cores', '?')} cores){smoke}. "
        "`python3 benches/adaptive.py` (`just bench-auto`) regenerates this file.",
        "",
        "auto: rounds of 250 rows (rounded up to the batch size), stop when every explained label's "
        "top-5 features are the top 5 of a posterior draw with probability >= 0.95 (1000 draws), "
        "ceiling = the fixed count. Equal ceilings, unequal budgets: the point is the budget.",
        "",
        "## Synthetic benchmark (configs/adaptive.yaml, 12 tracks x 3 repeats)",
        "",
        "| fixed | auto | model items fixed | auto | ratio | unit seconds fixed | auto | rows used by auto (mean, min-max) | Jaccard@5 fixed | auto | top-5 stable p fixed | auto | precision@k audio fixed / auto | lyrics fixed / auto | items ≥ 3x | Jaccard within 0.02 | precision equal |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in synthetic:
        lines.append(
            f"| {r['fixed']} | {r['auto']} | {r['items_fixed']:.0f} | {r['items_auto']:.0f} | "
            f"{r['items_ratio']:.2f}x | {r['seconds_fixed']:.1f} | {r['seconds_auto']:.1f} | "
            f"{r['samples_auto_mean']:.0f} ({r['samples_auto_min']:.0f}-{r['samples_auto_max']:.0f}) | "
            f"{r['jaccard_fixed']:.3f} | {r['jaccard_auto']:.3f} | {r['stable_fixed']:.3f} | "
            f"{r['stable_auto']:.3f} | {r['precision_at_k_audio_fixed']:.3f} / "
            f"{r['precision_at_k_audio_auto']:.3f} | {r['precision_at_k_lyrics_fixed']:.3f} / "
            f"{r['precision_at_k_lyrics_auto']:.3f} | {verdict(r['items_pass'])} | "
            f"{verdict(r['jaccard_pass'])} | {verdict(r['precision_pass'])} |"
        )
    lines += [
        "",
        "## Patched tagger, 30 s track, audio modality (3 seeds each)",
        "",
        "| model | ceiling | model items fixed | auto | ratio | wall s fixed | auto | rows used by auto | Jaccard@5 across seeds fixed | auto | top-5 overlap auto vs fixed | items ≥ 3x | Jaccard within 0.02 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in tagger:
        lines.append(
            f"| {r['model']} | {r['ceiling']} | {r['items_fixed']} | {r['items_auto']} | "
            f"{r['items_ratio']:.2f}x | {r['wall_fixed']:.1f} | {r['wall_auto']:.1f} | "
            f"{', '.join(str(s) for s in r['samples_auto'])} | {r['jaccard_fixed']:.3f} | "
            f"{r['jaccard_auto']:.3f} | {r['top5_overlap']:.2f} | {verdict(r['items_pass'])} | "
            f"{verdict(r['jaccard_pass'])} |"
        )
    if not any(r["model"] == "musicnn_mtt_real" for r in tagger):
        lines += ["", "The real MTT musicnn was not converted on this machine (`just musicnn`); "
                  "only the musicnn-shaped fixture (random weights) ran."]
    path = os.path.join(REPO, OUT + ".md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(REPO, OUT + ".json"), "w") as f:
        json.dump({"synthetic": synthetic, "tagger": tagger, "machine": info}, f, indent=1,
                  default=lambda o: sorted(o) if isinstance(o, set) else str(o))
    common.log(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (not the targets)")
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        raise SystemExit(f"build the release binary first: cargo build --release ({BINARY})")
    info = common.machine_info()
    synthetic, _ = synthetic_section(args.quick)
    tagger = tagger_section(args.quick)
    for r in tagger:
        for run in ("top",):
            r.pop(run, None)
    write_report(synthetic, tagger, info, args.quick)
    for r in synthetic:
        common.log(f"{r['auto']}: {r['items_ratio']:.2f}x fewer items "
                   f"{verdict(r['items_pass'])}, Jaccard {r['jaccard_fixed']:.3f} -> "
                   f"{r['jaccard_auto']:.3f} {verdict(r['jaccard_pass'])}, precision "
                   f"{verdict(r['precision_pass'])}")
    for r in tagger:
        common.log(f"{r['model']}: {r['items_ratio']:.2f}x fewer items {verdict(r['items_pass'])}, "
                   f"Jaccard {r['jaccard_fixed']:.3f} -> {r['jaccard_auto']:.3f} "
                   f"{verdict(r['jaccard_pass'])}")


if __name__ == "__main__":
    main()

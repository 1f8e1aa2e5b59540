#!/usr/bin/env python3
"""What real models cost: model items, wall time and peak memory, and what exact memoisation,
the cap on items per run (`max_batch`) and crossed sampling save.

    python3 benches/model_cost.py            # from the repo root (`just bench` runs it)
    python3 benches/model_cost.py --quick    # smoke test: fewer samples, no 5000-sample runs

Sections (all on synthetic tracks from `musiclime synth`, so no download is needed):
1. Patched tagger: the musicnn-shaped fixture (tests/fixtures/musicnn_shaped: the real MTT
   musicnn's shapes, random weights, ~50 MB of ONNX Runtime memory per 3 s patch) and, when
   `just musicnn` has converted it, the real MTT musicnn (models/musicnn/musicnn_mtt.yaml), on
   a 30 s 16 kHz track with 4 stems x 10 segments, `--modality audio`. Memoised at batch sizes
   1 and 64 x 1000 and 5000 samples; unmemoised (`--no-memoise`, every item run) at 1000
   samples, where the two explanations are compared (scores within 1e-6, the same features in
   the same order). Naive items = samples x patches.
2. Long song: a 5.4-minute 44.1 kHz stereo WAV (a synthetic track written as 16-bit stereo),
   `builtin:audio` with HPSS at default settings: peak memory against the decoded audio.
3. Split late-fusion model (tests/fixtures/onnx/split.yaml: audio encoder, text encoder,
   fusion) on 8 synthetic tracks: paper vs crossed sampling at 5000 samples (encoder runs,
   wall time, planted precision@k per modality; lyrics on the tracks whose words carry their
   label), and the paper sampler at the crossed sampler's encoder budget; stability = mean
   pairwise top-k Jaccard over 3 seeds.
4. The real MTT musicnn on the real 30 s recording (models/musicnn/armygeddon_30s.wav, CC BY-SA,
   see experiments/musicnn/) with HPSS at 5000 samples, when converted.

Writes reports/bench/model_cost.md, model_cost.csv and model_cost.json, with the targets of the
"real models at real cost" work marked PASS or MISS. Only the standard library is needed.
"""

import argparse
import array
import csv
import itertools
import json
import os
import shutil
import struct
import sys
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))
import run_bench as common  # noqa: E402  (shared helpers: run, log, machine_info)

REPO = common.REPO
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
BINARY = os.path.join(TARGET, "release", "musiclime")
OUT = os.path.join("reports", "bench", "model_cost")
FIXTURE_TAGGER = os.path.join("tests", "fixtures", "musicnn_shaped", "musicnn_shaped.yaml")
REAL_TAGGER = os.path.join("models", "musicnn", "musicnn_mtt.yaml")
REAL_CLIP = os.path.join("models", "musicnn", "armygeddon_30s.wav")
SPLIT = os.path.join("tests", "fixtures", "onnx", "split.yaml")
LONG_SECONDS = 324  # 5.4 minutes
PATCHES_30S = 11  # 30 s at 16 kHz, hop 256: 1876 frames; patches of 187 at 0, 187, ..., 1689

# Targets
TAGGER_PEAK_MB = 2048
LONG_PEAK_MB = 1536
ITEMS_SAVED_MIN = 10.0
ENCODER_SAVED_MIN = 25.0
PRECISION_MIN = 0.9
REAL_WALL_S = 600


def log(msg):
    common.log(msg)


def musiclime(*args, log_path=None):
    """Runs the release binary; returns (output, seconds)."""
    return common.run([BINARY, *map(str, args)], log_path)


def json_file(path):
    with open(os.path.join(REPO, path)) as f:
        return json.load(f)


def synth(out, tracks, seconds, rate, seed=3, classes=4):
    path = os.path.join(OUT, f"{out}_{tracks}x{seconds}s_{rate}_seed{seed}")
    if not os.path.exists(os.path.join(REPO, path, "manifest.csv")):
        musiclime("synth", "--out", path, "--tracks", tracks, "--seconds", seconds,
                  "--sample-rate", rate, "--seed", seed, "--classes", classes)
    return path


def explain(name, audio, lyrics, model, extra):
    """`musiclime explain ... --profile`; returns (profile, explanation)."""
    out = os.path.join(OUT, "runs", name)
    shutil.rmtree(os.path.join(REPO, out), ignore_errors=True)
    profile = out + ".profile.json"
    musiclime("explain", "--audio", audio, "--lyrics", lyrics, "--model", model, "--out", out,
              "--profile", profile, *extra, log_path=os.path.join(REPO, out + ".log"))
    return json_file(profile), json_file(os.path.join(out, "explanation.json"))


def predicted_weights(explanation):
    label = str(explanation["predicted_label"])
    return explanation["labels"][label]


def same_explanation(a, b):
    """Every label's score within 1e-6 and identical features in identical order."""
    for label, la in a["labels"].items():
        lb = b["labels"].get(label)
        if lb is None or abs(la["score"] - lb["score"]) > 1e-6:
            return False
        if [w["feature"] for w in la["weights"]] != [w["feature"] for w in lb["weights"]]:
            return False
        if any(abs(x["weight"] - y["weight"]) > 1e-6 for x, y in zip(la["weights"], lb["weights"])):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# 1 and 4: patched taggers
# ---------------------------------------------------------------------------------------------
def tagger_rows(model_name, model, audio, lyrics, stems, sizes, batches, naive_n):
    rows, explanations = [], {}
    source = ["--stems", stems] if stems else ["--separator", "hpss"]
    for n, batch in itertools.product(sizes, batches):
        name = f"{model_name}_n{n}_b{batch}"
        prof, exp = explain(name, audio, lyrics, model,
                            [*source, "--modality", "audio", "--num-samples", n, "--batch-size", batch])
        explanations[(n, batch)] = exp
        rows.append(tagger_row(model_name, n, batch, "memoised", prof))
    if naive_n:
        prof, exp = explain(f"{model_name}_n{naive_n}_naive", audio, lyrics, model,
                            [*source, "--modality", "audio", "--num-samples", naive_n, "--no-memoise"])
        row = tagger_row(model_name, naive_n, 64, "every item", prof)
        memo = explanations.get((naive_n, 64))
        row["same_explanation"] = same_explanation(memo, exp) if memo else None
        rows.append(row)
    return rows, explanations


def tagger_row(model_name, n, batch, mode, prof):
    items = prof["model_items"]
    naive = n * PATCHES_30S
    row = dict(section="tagger", model=model_name, num_samples=n, batch_size=batch, mode=mode,
               wall_s=prof["wall_s"], model_s=prof["model_s"], peak_mb=prof["peak_mb"],
               items_run=items["items_run"], items_saved=items["items_saved"],
               naive_items=naive, items_ratio=naive / max(items["items_run"], 1),
               largest_run=items["largest_run"])
    log(f"  {model_name} n={n} batch={batch} {mode}: {row['wall_s']:.1f} s, peak {row['peak_mb']:.0f} MB, "
        f"items {row['items_run']} of {naive} ({row['items_ratio']:.1f}x fewer), largest run {row['largest_run']}")
    return row


# ---------------------------------------------------------------------------------------------
# 2: a long stereo song
# ---------------------------------------------------------------------------------------------
def read_float_wav(path):
    """Mono float32 WAV (as `musiclime synth` writes it): (rate, samples)."""
    with open(path, "rb") as f:
        data = f.read()
    pos, rate, samples = 12, None, None
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if tag == b"fmt ":
            fmt, channels, rate = struct.unpack("<HHI", body[:8])
            if fmt == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the format is the sub-format GUID's first two bytes
                fmt = struct.unpack("<H", body[24:26])[0]
            if fmt != 3 or channels != 1:
                raise SystemExit(f"{path}: expected mono float32")
        elif tag == b"data":
            samples = array.array("f", body)
        pos += 8 + size + (size & 1)
    return rate, samples


def long_stereo_song():
    """A 5.4-minute 44.1 kHz 16-bit stereo WAV: a synthetic track, the right channel delayed."""
    path = os.path.join(REPO, OUT, "long_song.wav")
    data = synth("long", 1, LONG_SECONDS, 44100, seed=9)
    if not os.path.exists(path):
        rate, mono = read_float_wav(os.path.join(REPO, data, "track000", "mixture.wav"))
        delay = 441
        frames = array.array("h")
        for i, x in enumerate(mono):
            y = mono[i - delay] if i >= delay else 0.0
            frames.append(int(max(-1.0, min(1.0, 0.9 * x)) * 32767))
            frames.append(int(max(-1.0, min(1.0, 0.9 * y)) * 32767))
        with wave.open(path, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(frames.tobytes())
    return os.path.relpath(path, REPO), os.path.join(data, "track000", "lyrics.txt")


def long_song_row(quick):
    audio, lyrics = long_stereo_song()
    with wave.open(os.path.join(REPO, audio)) as w:
        frames, channels = w.getnframes(), w.getnchannels()
    decoded_mb = frames * channels * 4 / 2**20  # as float32, both channels
    n = 200 if quick else 1000
    prof, _ = explain("long_song", audio, lyrics, "builtin:audio",
                      ["--separator", "hpss", "--modality", "audio", "--num-samples", n])
    row = dict(section="long song", model="builtin:audio", num_samples=n, batch_size=64,
               mode="memoised", wall_s=prof["wall_s"], model_s=prof["model_s"],
               peak_mb=prof["peak_mb"], decoded_mb=decoded_mb,
               items_run=prof["model_items"]["items_run"],
               items_saved=prof["model_items"]["items_saved"])
    log(f"  long song ({frames / 44100:.0f} s stereo, decoded {decoded_mb:.0f} MB): {row['wall_s']:.1f} s, "
        f"peak {row['peak_mb']:.0f} MB ({row['peak_mb'] / decoded_mb:.1f}x the decoded audio)")
    return row


# ---------------------------------------------------------------------------------------------
# 3: split model, paper vs crossed
# ---------------------------------------------------------------------------------------------
def top_k(explanation, modality_of, modality, k):
    weights = predicted_weights(explanation)["weights"]
    mine = [w for w in weights if modality_of(w["feature"]) == modality]
    ranked = sorted(mine, key=lambda w: -w["weight"])
    return [w["feature"] for w in ranked[:k]]


def split_rows(quick):
    tracks = 4 if quick else 8
    data = synth("split", tracks, 10, 16000, seed=7)
    truth = json_file(os.path.join(data, "ground_truth.json"))
    n = 1000 if quick else 5000
    audio_masks = 50 if quick else 100
    budget = audio_masks + n // audio_masks  # encoder inputs of the crossed neighbourhood
    settings = [
        ("paper", n, []),
        ("crossed", n, ["--sampler", "crossed", "--audio-masks", audio_masks]),
        ("paper (equal encoder budget)", budget // 2, []),
    ]
    seeds = [0, 1, 2]
    rows = []
    for label, samples, extra in settings:
        precision = {"audio": [], "lyrics": []}
        jaccard, walls, encoder_runs, fusion_runs = [], [], [], []
        for t in range(tracks):
            track = os.path.join(data, f"track{t:03d}")
            planted = truth[f"track{t:03d}"]
            audio_features = set()
            tops = []
            for seed in seeds:
                name = f"split_{label.split()[0]}_{samples}_t{t}_s{seed}"
                prof, exp = explain(name, os.path.join(track, "mixture.wav"),
                                    os.path.join(track, "lyrics.txt"), SPLIT,
                                    ["--stems", os.path.join(track, "stems"), "--num-samples", samples,
                                     "--seed", seed, *extra])
                audio_features = {f["name"] for f in exp["features"] if f.get("modality") == "audio"}
                modality_of = lambda f: "audio" if f in audio_features else "lyrics"  # noqa: E731
                top = []
                for modality, key in (("audio", "audio"), ("lyrics", "words")):
                    k = len(planted[key])
                    got = top_k(exp, modality_of, modality, k)
                    # every fourth synthetic track's words name another class (src/synth.rs):
                    # they are no evidence for its label, so they are no ground truth either
                    disagrees = modality == "lyrics" and t % 4 == 3
                    if seed == 0 and k and not disagrees:
                        precision[modality].append(len(set(got) & set(planted[key])) / k)
                    top += got
                tops.append(set(top))
                walls.append(prof["wall_s"])
                encoder_runs.append(prof["model_items"]["encoder_items_run"])
                fusion_runs.append(prof["model_items"]["items_run"])
            pairs = list(itertools.combinations(tops, 2))
            jaccard.append(sum(len(a & b) / max(len(a | b), 1) for a, b in pairs) / len(pairs))
        row = dict(section="split", model="split fixture", num_samples=samples, batch_size=64,
                   mode=label, wall_s=sum(walls) / len(walls),
                   encoder_runs=sum(encoder_runs) / len(encoder_runs),
                   naive_encoder_runs=2 * samples,
                   items_run=sum(fusion_runs) / len(fusion_runs),
                   precision_audio=sum(precision["audio"]) / max(len(precision["audio"]), 1),
                   precision_lyrics=sum(precision["lyrics"]) / max(len(precision["lyrics"]), 1),
                   stability_jaccard=sum(jaccard) / len(jaccard))
        log(f"  split {label} n={samples}: {row['wall_s']:.2f} s, encoder runs {row['encoder_runs']:.0f}, "
            f"precision audio {row['precision_audio']:.2f} lyrics {row['precision_lyrics']:.2f}, "
            f"stability {row['stability_jaccard']:.2f}")
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def targets(rows, real_row):
    out = []
    for r in rows:
        if r["section"] == "tagger" and r["mode"] == "memoised" and r["batch_size"] == 64 \
                and r["model"] == "musicnn-shaped":
            out.append((r["peak_mb"] <= TAGGER_PEAK_MB,
                        f"peak RSS, musicnn-shaped tagger, 30 s, default settings, n={r['num_samples']}: "
                        f"{r['peak_mb']:.0f} MB (≤ {TAGGER_PEAK_MB} MB)"))
        if r["section"] == "tagger" and r["mode"] == "memoised" and r["num_samples"] == 5000 \
                and r["batch_size"] == 64:
            out.append((r["items_ratio"] >= ITEMS_SAVED_MIN,
                        f"{r['model']}, 30 s, 4 sources × 10 segments, 5000 samples: {r['items_run']} model items "
                        f"of {r['naive_items']} ({r['items_ratio']:.1f}× fewer; ≥ {ITEMS_SAVED_MIN:.0f}×)"))
        if r["section"] == "tagger" and r["mode"] == "every item":
            out.append((r.get("same_explanation") is True,
                        f"{r['model']}: memoised explanation equals the unmemoised one at n={r['num_samples']} "
                        f"(scores within 1e-6, same features in the same order)"))
        if r["section"] == "long song":
            out.append((r["peak_mb"] <= LONG_PEAK_MB,
                        f"peak RSS, 5.4-minute 44.1 kHz stereo song, builtin:audio, HPSS, n={r['num_samples']}: "
                        f"{r['peak_mb']:.0f} MB = {r['peak_mb'] / r['decoded_mb']:.1f}× the decoded audio "
                        f"(≤ {LONG_PEAK_MB} MB)"))
    split = {r["mode"]: r for r in rows if r["section"] == "split"}
    if "paper" in split and "crossed" in split:
        p, c = split["paper"], split["crossed"]
        ratio = p["encoder_runs"] / max(c["encoder_runs"], 1)
        out.append((ratio >= ENCODER_SAVED_MIN,
                    f"split fixture, {c['num_samples']} samples: crossed runs the encoders {ratio:.0f}× less "
                    f"({c['encoder_runs']:.0f} vs {p['encoder_runs']:.0f}; ≥ {ENCODER_SAVED_MIN:.0f}×)"))
        for name, r in (("paper", p), ("crossed", c)):
            ok = r["precision_audio"] >= PRECISION_MIN and r["precision_lyrics"] >= PRECISION_MIN
            out.append((ok, f"split fixture, {name}: planted precision@k audio {r['precision_audio']:.2f}, "
                            f"lyrics {r['precision_lyrics']:.2f} (≥ {PRECISION_MIN})"))
    if real_row:
        out.append((real_row["wall_s"] <= REAL_WALL_S,
                    f"real MTT musicnn, 30 s, 5000 samples: {real_row['wall_s']:.0f} s wall (≤ {REAL_WALL_S} s), "
                    f"peak {real_row['peak_mb']:.0f} MB"))
    else:
        out.append((None, "real MTT musicnn: not converted (`just musicnn`)"))
    return out


def write_report(rows, marks, info, real):
    columns = ["section", "model", "num_samples", "batch_size", "mode", "wall_s", "model_s", "peak_mb",
               "items_run", "items_saved", "naive_items", "items_ratio", "largest_run", "encoder_runs",
               "naive_encoder_runs", "precision_audio", "precision_lyrics", "stability_jaccard",
               "decoded_mb", "same_explanation"]
    with open(os.path.join(REPO, OUT, "..", "model_cost.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    fmt = lambda v: "" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))  # noqa: E731
    mark = {True: "PASS", False: "MISS", None: "n/a"}
    lines = ["# What real models cost musiclime", "",
             f"Written by `benches/model_cost.py` on {info['date_utc']} UTC; {info['cpu']}, "
             f"{info['usable_cpus']} usable CPUs, {info['ram_gib']} GiB; musiclime `{info['musiclime']}` "
             f"(git {info['git']}), ONNX Runtime {info['onnxruntime_rust']}. One run per row.", "",
             "## Targets", ""]
    lines += [f"- **{mark[ok]}** {text}" for ok, text in marks]
    for section, cols in [
        ("tagger", ["model", "num_samples", "batch_size", "mode", "wall_s", "model_s", "peak_mb", "items_run",
                    "naive_items", "items_ratio", "largest_run", "same_explanation"]),
        ("long song", ["model", "num_samples", "wall_s", "peak_mb", "decoded_mb", "items_run", "items_saved"]),
        ("split", ["mode", "num_samples", "wall_s", "encoder_runs", "naive_encoder_runs", "items_run",
                   "precision_audio", "precision_lyrics", "stability_jaccard"]),
    ]:
        chosen = [r for r in rows if r["section"] == section]
        if not chosen:
            continue
        lines += ["", f"## {section}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in chosen]
    if real:
        lines += ["", "## Real MTT musicnn: the top tags and the components behind them", ""]
        for tag in real["tags"]:
            lines.append(f"- **{tag['name']}** ({tag['model_output']:.3f}): "
                         + ", ".join(f"{f} {w:+.4f}" for f, w in tag["top"]))
    lines.append("")
    with open(os.path.join(REPO, OUT, "..", "model_cost.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(REPO, OUT, "..", "model_cost.json"), "w") as f:
        json.dump(dict(machine=info, rows=rows, real=real,
                       targets=[dict(status=mark[ok], text=t) for ok, t in marks]), f, indent=1)
        f.write("\n")


def real_musicnn(quick):
    """The real tagger on the real 30 s recording with HPSS, 5000 samples."""
    if not (os.path.exists(os.path.join(REPO, REAL_TAGGER)) and os.path.exists(os.path.join(REPO, REAL_CLIP))):
        return None, None
    lyrics = os.path.join(OUT, "no_lyrics.txt")
    with open(os.path.join(REPO, lyrics), "w") as f:
        f.write("")
    n = 500 if quick else 5000
    prof, exp = explain("real_musicnn", REAL_CLIP, lyrics, REAL_TAGGER,
                        ["--separator", "hpss", "--modality", "audio", "--num-samples", n, "--top-labels", 3])
    row = tagger_row("MTT musicnn (real)", n, 64, "memoised", prof)
    row["section"] = "tagger"
    tags = []
    for label, l in exp["labels"].items():
        top = sorted(l["weights"], key=lambda w: -w["weight"])[:5]
        tags.append(dict(name=l["name"], model_output=l["model_output"],
                         top=[(w["feature"], w["weight"]) for w in top]))
    tags.sort(key=lambda t: -t["model_output"])
    return row, dict(num_samples=n, wall_s=prof["wall_s"], peak_mb=prof["peak_mb"],
                     model_items=prof["model_items"], tags=tags)


def section_path(name):
    return os.path.join(REPO, OUT, f"section_{name}.json")


def save_section(name, value):
    with open(section_path(name), "w") as f:
        json.dump(value, f, indent=1)


def load_section(name):
    if not os.path.exists(section_path(name)):
        return None
    with open(section_path(name)) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: fewer samples, no 5000-sample runs")
    ap.add_argument("--sections", default="tagger,long,split,real",
                    help="comma-separated subset of tagger,long,split,real")
    args, _ = ap.parse_known_args()  # `just bench ARGS` passes the reference benchmark's flags too
    sections = set(args.sections.split(","))
    if not os.access(BINARY, os.X_OK):
        raise SystemExit(f"{BINARY} not found: run `cargo build --release` first")
    os.makedirs(os.path.join(REPO, OUT, "runs"), exist_ok=True)
    if "tagger" in sections:
        log("patched tagger (musicnn-shaped fixture) ...")
        data = synth("tagger", 1, 30, 16000, seed=3)
        track = os.path.join(data, "track000")
        sizes = [200] if args.quick else [1000, 5000]
        tagger, _ = tagger_rows("musicnn-shaped", FIXTURE_TAGGER, os.path.join(track, "mixture.wav"),
                                os.path.join(track, "lyrics.txt"), os.path.join(track, "stems"),
                                sizes, [1, 64], sizes[0])
        if os.path.exists(os.path.join(REPO, REAL_TAGGER)):
            log("patched tagger (real MTT musicnn, synthetic track) ...")
            real_rows, _ = tagger_rows("MTT musicnn", REAL_TAGGER, os.path.join(track, "mixture.wav"),
                                       os.path.join(track, "lyrics.txt"), os.path.join(track, "stems"),
                                       [sizes[-1]], [64], None)
            tagger += real_rows
        save_section("tagger", tagger)
    if "long" in sections:
        log("long stereo song ...")
        save_section("long", [long_song_row(args.quick)])
    if "split" in sections:
        log("split model: paper vs crossed ...")
        save_section("split", split_rows(args.quick))
    if "real" in sections:
        log("real MTT musicnn on the real recording ...")
        real_row, real = real_musicnn(args.quick)
        save_section("real", dict(row=real_row, real=real))
    # the report holds the latest measurement of every section (`--sections` reruns some)
    rows = [r for name in ("tagger", "long", "split") for r in load_section(name) or []]
    saved_real = load_section("real") or {}
    real_row, real = saved_real.get("row"), saved_real.get("real")
    if real_row:
        rows.append(real_row)
    info = common.machine_info()
    marks = targets(rows, real_row)
    write_report(rows, marks, info, real)
    log("")
    for ok, text in marks:
        log(f"{ {True: 'PASS', False: 'MISS', None: 'n/a '}[ok] } {text}")
    log("wrote reports/bench/model_cost.md, model_cost.csv, model_cost.json")


if __name__ == "__main__":
    main()

"""Parity checks of models/musicnn/mtt_musicnn.onnx (written by convert.py) on real music.

Run from the repository root after make_clip.py and convert.py:

    .venv-musicnn/bin/python experiments/musicnn/check.py [--np2-dir models/musicnn/np2]

Clips (all mono; see make_clip.py): models/musicnn/armygeddon_30s.wav (30 s, 16 kHz), the
committed tests/fixtures/frontend/music_16k.flac (6 s, 16 kHz: the same cut's first 6 s up to
gain), models/musicnn/armygeddon_30s_m11db.wav (the 30 s clip at -11 dB) and, for information,
models/musicnn/armygeddon_30s_44k.wav (the 44.1 kHz mix: musicnn resamples it with librosa.load's
soxr_hq; our features come from scipy's resample_poly 160/441 of the same samples, without the
re-normalisation make_clip.py applies after resampling, so only the resampler differs).

(a) ONNX vs TensorFlow: the same float32 log-mel patches through onnxruntime and through
    musicnn's graph as musicnn.extractor builds it (is_training placeholder fed False): all
    patches in one run, and one patch per run for onnxruntime.
(b) musicnn end to end vs ONNX on our features. musicnn's
    `extractor(file, model='MTT_musicnn', input_length=3, input_overlap=False)` is run as is
    (numpy 1.26 here) and compared with onnxruntime on patches computed the way
    models/musicnn/musicnn_mtt.yaml says: librosa mel power (slaney scale and norm, n_fft 512,
    hop 256, 96 mels), log10(1 + 10000 x), [frames, mels] patches of 187 frames hop 187, as many
    patches as the extractor makes (it drops the last partial patch). Variants of our features:
      f64_reflect  float64 librosa (as tests/fixtures/frontend), reflect padding: the YAML
      f64_constant float64, constant padding (librosa >= 0.10's default, what the extractor does
                   with the pinned librosa 0.11)
      f32_constant librosa as usually called (float32), constant padding
      f16_np1      f32_constant with musicnn's float16 cast of the mel power (numpy < 2
                   arithmetic): reproduces the extractor's features bit for bit
    The float16 quirk: batch_data casts the mel power to float16, then `10000 * rep + 1`. With
    numpy < 2 (value-based casting) that product is float32 and only the float16 rounding of the
    mel power remains. With numpy >= 2 (NEP 50) it stays float16, so every mel power above
    65504 / 10000 = 6.55 becomes +inf and the log too. The "numpy >= 2" regime below emulates that
    arithmetic (float16 product, sum and log10), runs the extractor's TF graph on it one patch at
    a time as the extractor does, counts the inf inputs and non-finite tags per patch, and
    compares only the finite patches with ONNX; with --np2-dir (see np2_batch_data.py) the
    emulated patches are first checked bit for bit against musicnn's batch_data run under numpy 2.

Also writes models/musicnn/reference_scores.json: what `musiclime` should give on
models/musicnn/musicnn_mtt.yaml for the 16 kHz clips (float64 librosa features exactly as the
YAML says, musiclime's patching with its end-aligned extra patch, per-patch scores, mean and max
over patches), for a Rust-side test.

Writes models/musicnn/parity.json and prints a summary.
"""

import argparse
import importlib.metadata as md
import json
import os
import platform
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=r"`tf\.layers\.", category=UserWarning)

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import soundfile as sf  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert  # noqa: E402  (the graph builder; importing it disables eager execution)
from musicnn import extractor as mextractor  # noqa: E402

OUT = "models/musicnn"
ONNX = os.path.join(OUT, "mtt_musicnn.onnx")
SPEC = os.path.join(OUT, "musicnn_mtt.yaml")
# (name, file the extractor reads, 16 kHz file our features come from)
CLIPS = [
    ("armygeddon_30s", f"{OUT}/armygeddon_30s.wav", f"{OUT}/armygeddon_30s.wav"),
    ("music_16k_fixture", "tests/fixtures/frontend/music_16k.flac", "tests/fixtures/frontend/music_16k.flac"),
    ("armygeddon_30s_m11db", f"{OUT}/armygeddon_30s_m11db.wav", f"{OUT}/armygeddon_30s_m11db.wav"),
    ("armygeddon_30s_44k", f"{OUT}/armygeddon_30s_44k.wav", "resample_poly"),
]
F16_LIMIT = 65504.0 / 10000.0  # mel power above which float16(10000 * x) overflows
VERSIONS = ["musicnn", "tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime", "librosa", "numpy",
            "scipy", "soundfile", "soxr", "protobuf"]


def read_spec():
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    return spec, spec["inputs"][0]


def mel_power(y, inp, dtype, pad_mode):
    kwargs = dict(sr=inp["sample_rate"], n_fft=inp["n_fft"], hop_length=inp["hop_length"],
                  n_mels=inp["n_mels"], center=inp["center"], pad_mode=pad_mode,
                  power=inp["power"], htk=inp["mel_scale"] == "htk", norm="slaney")
    if dtype == np.float64:
        kwargs["dtype"] = np.float64  # the mel basis too (librosa's default is float32)
    return librosa.feature.melspectrogram(y=y.astype(dtype), **kwargs).T  # [frames, mels]


def patches_of(feat, n_patches, frames, hop):
    return np.stack([feat[i * hop: i * hop + frames] for i in range(n_patches)])


def stats(a, b):
    if len(a) == 0:
        return None
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return {"max_abs": float(d.max()), "mean_abs": float(d.mean())}


def fmt(s):
    return "n/a (no finite patch)" if s is None else f"max {s['max_abs']:.2e} (mean {s['mean_abs']:.1e})"


def top_tags(scores, labels, k=5):
    idx = np.argsort(-np.nan_to_num(scores, nan=-1.0))[:k]
    return [[labels[i], None if np.isnan(scores[i]) else round(float(scores[i]), 4)] for i in idx]


class Ctx:
    pass


def regime(ctx, taggram, batch, ours, labels, with_top=True):
    """Finite/overflowed bookkeeping and comparisons for one run of musicnn."""
    n = len(taggram)
    inf_inputs = np.isinf(batch).reshape(n, -1).sum(1)
    nonfinite_tags = (~np.isfinite(taggram)).sum(1)
    finite = (inf_inputs == 0) & (nonfinite_tags == 0)
    r = {
        "inf_inputs_per_patch": inf_inputs.tolist(),
        "nonfinite_tags_per_patch": nonfinite_tags.tolist(),
        "finite_patches": np.flatnonzero(finite).tolist(),
        "overflowed_patches": np.flatnonzero(~finite).tolist(),
        "vs_onnx_finite_patches": {k: stats(v[finite], taggram[finite]) for k, v in ours.items()},
        "vs_onnx_finite_patches_1_onward": {
            k: stats(v[1:][finite[1:]], taggram[1:][finite[1:]]) for k, v in ours.items()},
    }
    rows = []
    for i in np.flatnonzero(~finite):
        t = taggram[i]
        ok = np.isfinite(t)
        row = {"patch": int(i), "inf_inputs": int(inf_inputs[i]), "nonfinite_tags": int((~ok).sum()),
               "finite_tags_max_abs_diff_vs_f64_reflect":
                   float(np.abs(t[ok] - ours["f64_reflect"][i][ok]).max()) if ok.any() else None}
        if with_top:
            row["musicnn_top3"] = top_tags(t, labels, 3)
            row["ours_top3"] = top_tags(ours["f64_reflect"][i], labels, 3)
        rows.append(row)
    r["overflowed"] = rows
    over = taggram[~finite]
    if len(over):
        # TF turns a patch with any +inf input into one fixed, finite tag vector.
        r["overflowed_rows_all_identical"] = bool((over == over[0]).all())
        r["overflowed_row_top3"] = top_tags(over[0], labels, 3)
    if finite.any():
        r["clip_mean_finite_patches_max_abs_diff_vs_f64_reflect"] = float(np.abs(
            taggram[finite].mean(0) - ours["f64_reflect"][finite].mean(0)).max())
    return r


def resampler_sensitivity(ctx, path, ours_f32, n, frames, hop):
    """librosa.load's soxr_hq vs resample_poly: where the features differ and what it does."""
    y, _ = librosa.load(path, sr=ctx.inp["sample_rate"])
    theirs = np.log10(1.0 + ctx.inp["log_scale"] * mel_power(y, ctx.inp, np.float32, "constant"))
    d_band = np.abs(theirs - ours_f32).mean(0)
    run = lambda f: ctx.run_ort(patches_of(f, n, frames, hop).astype(np.float32))  # noqa: E731
    t_theirs = run(theirs)
    swapped = ours_f32.copy()
    swapped[:, -1] = theirs[:, -1]
    top8 = ours_f32.copy()
    top8[:, -8:] = theirs[:, -8:]
    return {
        "mean_abs_feature_diff_last_8_bands": [round(float(v), 4) for v in d_band[-8:]],
        "mean_abs_feature_diff_other_bands_max": float(d_band[:-8].max()),
        "tags_max_abs_diff": float(np.abs(t_theirs - run(ours_f32)).max()),
        "tags_max_abs_diff_top_band_swapped": float(np.abs(t_theirs - run(swapped)).max()),
        "tags_max_abs_diff_top_8_bands_swapped": float(np.abs(t_theirs - run(top8)).max()),
        "top_band_hz": [round(float(f), 1) for f in librosa.mel_frequencies(ctx.inp["n_mels"] + 2, fmax=ctx.inp["sample_rate"] / 2)[-3::2]],
    }


def patch_starts(n_frames, frames, hop):
    """musiclime's patching (README, "Multi-label taggers"): 0, hop, 2 hop, ... and, when the last
    patch ends before the clip does, one more aligned to the clip's end."""
    assert n_frames >= frames
    starts = list(range(0, n_frames - frames + 1, hop))
    if starts[-1] + frames < n_frames:
        starts.append(n_frames - frames)
    return starts


def musiclime_reference(ctx, path):
    """Expected clip scores of `musiclime` on models/musicnn/musicnn_mtt.yaml: float64 librosa
    features exactly as the YAML says (reflect padding), musiclime's patching, mean and max."""
    spec, inp = ctx.spec, ctx.inp
    frames, hop = spec["patching"]["frames"], spec["patching"]["hop"]
    y, rate = sf.read(path, dtype="float32")
    assert rate == inp["sample_rate"]
    out = {"file": path, "samples": len(y)}
    scores = {}
    for dtype in (np.float64, np.float32):
        feat = np.log10(1.0 + inp["log_scale"] * mel_power(y, inp, dtype, inp["pad_mode"])).astype(np.float32)
        starts = patch_starts(len(feat), frames, hop)
        scores[dtype] = ctx.run_ort(np.stack([feat[s: s + frames] for s in starts]))
    out["frames"] = len(feat)
    out["patch_starts"] = starts
    s64 = scores[np.float64]
    out["per_patch"] = s64.round(7).tolist()
    out["mean"] = s64.mean(0).round(7).tolist()
    out["max"] = s64.max(0).round(7).tolist()
    out["mean_top5"] = top_tags(s64.mean(0), spec["classes"])
    out["float32_features_max_abs_diff"] = float(np.abs(scores[np.float32] - s64).max())
    return out


def check_clip(ctx, name, mn_path, our_path, np2_dir):
    spec, inp, labels = ctx.spec, ctx.inp, ctx.spec["classes"]
    frames, hop = spec["patching"]["frames"], spec["patching"]["hop"]
    res = {"musicnn_reads": mn_path, "our_features_from": our_path}

    # musicnn end to end, as pinned (numpy 1.26). It prints a progress line.
    taggram_np1, labels_mn, _ = mextractor.extractor(
        mn_path, model="MTT_musicnn", input_length=3, input_overlap=False)
    assert list(labels_mn) == labels
    batch_np1, rep_np1 = mextractor.batch_data(mn_path, frames, hop)
    n = len(taggram_np1)
    assert len(batch_np1) == n
    res["patches"] = n

    if our_path == "resample_poly":
        from scipy.signal import resample_poly

        y44, rate44 = sf.read(mn_path, dtype="float64")
        assert rate44 == 44100 and inp["sample_rate"] == 16000
        y, rate = resample_poly(y44, 160, 441).astype(np.float32), 16000
    else:
        y, rate = sf.read(our_path, dtype="float32")
    assert rate == inp["sample_rate"] and y.ndim == 1, (our_path, rate, y.shape)
    assert inp["pad_mode"] == "reflect" and inp["log"] == "log10_scaled"
    scale = inp["log_scale"]
    m32 = mel_power(y, inp, np.float32, "constant")
    feats = {
        "f64_reflect": np.log10(1.0 + scale * mel_power(y, inp, np.float64, "reflect")),
        "f64_constant": np.log10(1.0 + scale * mel_power(y, inp, np.float64, "constant")),
        "f32_constant": np.log10(1.0 + scale * m32),
        "f16_np1": np.log10(10000 * m32.astype(np.float16) + 1),  # numpy < 2: float32 product
    }
    assert feats["f16_np1"].dtype == np.float32
    patches = {k: patches_of(v, n, frames, hop).astype(np.float32) for k, v in feats.items()}
    ours = {k: ctx.run_ort(p) for k, p in patches.items()}
    same_as_musicnn = our_path == mn_path
    if same_as_musicnn:
        res["f16_np1_equals_musicnn_features"] = bool(np.array_equal(patches["f16_np1"], batch_np1))
    res["mel_power_max"] = float(m32.max())
    res["mel_power_max_per_patch"] = [float(m32[i * hop: i * hop + frames].max()) for i in range(n)]
    res["mel_values_above_6.55_per_patch"] = [
        int((m32[i * hop: i * hop + frames] > F16_LIMIT).sum()) for i in range(n)]
    res["logmel_max"] = float(feats["f64_reflect"].max())
    res["reflect_vs_constant_padding"] = {
        "patch0": stats(ours["f64_reflect"][:1], ours["f64_constant"][:1]),
        "other_patches": stats(ours["f64_reflect"][1:], ours["f64_constant"][1:])}
    res["f32_vs_f64_features"] = stats(feats["f32_constant"], feats["f64_constant"])
    res["f32_vs_f64_tags"] = stats(ours["f32_constant"], ours["f64_constant"])

    # (a) ONNX vs TF on identical float32 patches.
    p = patches["f64_reflect"]
    tf_out = ctx.run_tf(p)
    one_by_one = np.concatenate([ctx.run_ort(p[i:i + 1]) for i in range(n)])
    res["a_onnx_vs_tf"] = {
        "batched": stats(ours["f64_reflect"], tf_out),
        "one_patch_per_run": stats(one_by_one, tf_out),
        "batched_vs_one_patch_per_run": stats(ours["f64_reflect"], one_by_one),
        "on_musicnn_own_patches": stats(ctx.run_ort(batch_np1.astype(np.float32)), ctx.run_tf(batch_np1)),
    }

    # (b1) musicnn as pinned (numpy < 2).
    res["b_numpy_lt_2"] = regime(ctx, taggram_np1, batch_np1, ours, labels)

    # (b2) musicnn under numpy >= 2: float16 product, sum and log (emulated here).
    with np.errstate(over="ignore"):
        rep16 = librosa.feature.melspectrogram(
            y=librosa.load(mn_path, sr=inp["sample_rate"])[0], sr=inp["sample_rate"],
            hop_length=inp["hop_length"], n_fft=inp["n_fft"], n_mels=inp["n_mels"]).T.astype(np.float16)
        rep16 = np.log10(np.float16(10000) * rep16 + np.float16(1))
    assert rep16.dtype == np.float16
    batch_np2 = patches_of(rep16, n, frames, hop)
    if np2_dir and os.path.exists(os.path.join(np2_dir, name + ".npy")):
        # Same +inf positions; the finite values may differ by one float16 ulp where the float32
        # mel power (numpy 2's vs 1.26's FFT and matmul) rounds to a neighbouring float16.
        real = np.load(os.path.join(np2_dir, name + ".npy"))
        assert real.shape == batch_np2.shape and real.dtype == np.float16, name
        same_inf = bool(np.array_equal(np.isinf(real), np.isinf(batch_np2)))
        ok = np.isfinite(real) & np.isfinite(batch_np2)
        differ = int((real[ok] != batch_np2[ok]).sum())
        ulps = np.abs(real[ok].view(np.int16).astype(int) - batch_np2[ok].view(np.int16).astype(int))
        res["np2_emulation_vs_musicnn_under_numpy2"] = {
            "same_inf_positions": same_inf, "finite_values_differing": differ,
            "of": int(ok.sum()), "max_float16_ulps": int(ulps.max()) if ulps.size else 0}
        assert same_inf and (ulps.max() if ulps.size else 0) <= 1, (name, res["np2_emulation_vs_musicnn_under_numpy2"])
    # the extractor feeds one patch per run (configuration.BATCH_SIZE = 1), the float16 array as is
    with np.errstate(invalid="ignore"):
        taggram_np2 = np.concatenate([ctx.run_tf(batch_np2[i:i + 1]) for i in range(n)])
    res["b_numpy_ge_2_emulated"] = regime(ctx, taggram_np2, batch_np2, ours, labels)
    if our_path == "resample_poly":
        res["resampler_sensitivity"] = resampler_sensitivity(ctx, mn_path, feats["f32_constant"], n, frames, hop)
    res["clip_mean_top5_ours_f64_reflect"] = top_tags(ours["f64_reflect"].mean(0), labels)
    res["clip_mean_top5_musicnn_numpy_lt_2"] = top_tags(taggram_np1.mean(0), labels)
    return res


def main():
    ap = argparse.ArgumentParser(description="musicnn ONNX parity checks")
    ap.add_argument("--np2-dir", help="folder of np2_batch_data.py outputs to check the numpy >= 2 emulation against")
    args = ap.parse_args()

    ctx = Ctx()
    ctx.spec, ctx.inp = read_spec()
    sess = ort.InferenceSession(ONNX, providers=["CPUExecutionProvider"])
    inp_name, out_name = sess.get_inputs()[0].name, sess.get_outputs()[0].name
    assert inp_name == ctx.inp["name"] and out_name == ctx.spec["outputs"]["scores"]
    graph, x, is_training, y = convert.build_graph(named=False)
    tf_sess = convert.restored_session(graph)
    ctx.run_ort = lambda b: sess.run([out_name], {inp_name: b})[0]
    ctx.run_tf = lambda b: tf_sess.run(y, {x: b, is_training: False})

    # What each runtime makes of non-finite inputs (random patches in the log-mel range).
    p = np.random.default_rng(0).random((4, 187, 96)).astype(np.float32) * 3
    p[0, 10, 1] = np.inf
    p[1, :, :] = np.inf
    p[2, :, :] = np.nan
    tf_p, ort_p = ctx.run_tf(p), ctx.run_ort(p)
    probe = {
        "patches": ["one +inf value", "all +inf", "all NaN", "finite"],
        "tf_nonfinite_tags": (~np.isfinite(tf_p)).sum(1).tolist(),
        "onnxruntime_nonfinite_tags": (~np.isfinite(ort_p)).sum(1).tolist(),
        "tf_top3": [top_tags(t, ctx.spec["classes"], 3) for t in tf_p],
        "tf_one_inf_equals_all_inf": bool(np.array_equal(tf_p[0], tf_p[1])),
        "finite_patch_max_abs_diff": float(np.abs(tf_p[3] - ort_p[3]).max()),
    }

    report = {
        "onnx": ONNX,
        "input": {"name": inp_name, "shape": [str(d) for d in sess.get_inputs()[0].shape]},
        "output": {"name": out_name, "shape": [str(d) for d in sess.get_outputs()[0].shape]},
        "versions": {p: md.version(p) for p in VERSIONS},
        "python": platform.python_version(),
        "float16_overflow_mel_power": F16_LIMIT,
        "nonfinite_input_probe": probe,
        "clips": {},
    }
    for name, mn_path, our_path in CLIPS:
        report["clips"][name] = check_clip(ctx, name, mn_path, our_path, args.np2_dir)

    ref = {"spec": SPEC, "onnx": ONNX, "classes": ctx.spec["classes"],
           "note": "float64 librosa features as the spec says (pad_mode reflect), musiclime's "
                   "patching (end-aligned extra patch), onnxruntime; float32_features_max_abs_diff: "
                   "the same with librosa in float32",
           "clips": {name: musiclime_reference(ctx, mn_path) for name, mn_path, our_path in CLIPS
                     if our_path == mn_path}}
    with open(os.path.join(OUT, "reference_scores.json"), "w") as f:
        json.dump(ref, f, indent=1)
    for name, r in ref["clips"].items():
        print(f"musiclime reference, {name}: {r['frames']} frames, patches at {r['patch_starts']}, "
              f"mean top 5 {r['mean_top5']}; float32 librosa changes the scores by "
              f"{r['float32_features_max_abs_diff']:.1e}")

    out = os.path.join(OUT, "parity.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {out}")
    print(f"non-finite inputs {probe['patches']}: TF non-finite tags {probe['tf_nonfinite_tags']} "
          f"(TF top 3 {probe['tf_top3'][:3]}), onnxruntime non-finite tags "
          f"{probe['onnxruntime_nonfinite_tags']}")
    for name, r in report["clips"].items():
        a = r["a_onnx_vs_tf"]
        print(f"\n== {name} ({r['patches']} patches; mel power max {r['mel_power_max']:.1f}, "
              f"values > 6.55 per patch {r['mel_values_above_6.55_per_patch']})")
        print(f"  (a) ONNX vs TF, same float32 patches: batched {fmt(a['batched'])}; one per run "
              f"{fmt(a['one_patch_per_run'])}; musicnn's own patches {fmt(a['on_musicnn_own_patches'])}")
        if "f16_np1_equals_musicnn_features" in r:
            print(f"  our f16_np1 features == musicnn's: {r['f16_np1_equals_musicnn_features']}")
        if "np2_emulation_vs_musicnn_under_numpy2" in r:
            print(f"  numpy>=2 emulation vs musicnn's batch_data under numpy 2: "
                  f"{r['np2_emulation_vs_musicnn_under_numpy2']}")
        for key, label in [("b_numpy_lt_2", "musicnn as pinned (numpy<2)"),
                           ("b_numpy_ge_2_emulated", "musicnn under numpy>=2")]:
            g = r[key]
            print(f"  (b) {label}: inf inputs per patch {g['inf_inputs_per_patch']}, non-finite tags "
                  f"per patch {g['nonfinite_tags_per_patch']}; finite patches {g['finite_patches']}")
            for k, s in g["vs_onnx_finite_patches"].items():
                print(f"      vs ONNX[{k}] on finite patches: {fmt(s)}; from patch 1 on: "
                      f"{fmt(g['vs_onnx_finite_patches_1_onward'][k])}")
            if g["overflowed"]:
                print(f"      overflowed rows all identical: {g['overflowed_rows_all_identical']} "
                      f"(top 3 {g['overflowed_row_top3']})")
            for row in g["overflowed"][:3]:
                print(f"      overflowed patch {row['patch']}: {row['inf_inputs']} inf inputs -> "
                      f"{row['nonfinite_tags']} non-finite tags; musicnn top {row['musicnn_top3']}, "
                      f"ours {row['ours_top3']}")
        if "resampler_sensitivity" in r:
            rs = r["resampler_sensitivity"]
            print(f"  resampler (soxr_hq vs resample_poly): tags max diff {rs['tags_max_abs_diff']:.3f}; "
                  f"feature diff in the top 8 bands {rs['mean_abs_feature_diff_last_8_bands']} (others <= "
                  f"{rs['mean_abs_feature_diff_other_bands_max']:.4f}); with the top band ({rs['top_band_hz']} Hz) "
                  f"swapped {rs['tags_max_abs_diff_top_band_swapped']:.4f}, top 8 bands "
                  f"{rs['tags_max_abs_diff_top_8_bands_swapped']:.4f}")
        rc = r["reflect_vs_constant_padding"]
        print(f"  reflect vs constant padding: patch 0 {fmt(rc['patch0'])}, others {fmt(rc['other_patches'])}")
        print(f"  clip mean top 5, ours: {r['clip_mean_top5_ours_f64_reflect']}")


if __name__ == "__main__":
    main()

"""The audio expert of the real multimodal model: musicnn's MSD tagger as ONNX.

Run in the musicnn environment (experiments/musicnn/README.md), from the repository root:

    .venv-musicnn/bin/python experiments/real_multimodal/audio_encoder.py models/real_multimodal

The graph is musicnn's own `MSD_musicnn` (Pons & Serra 2019: 50 Million Song Dataset tags, the
checkpoint shipped in the musicnn 0.1.0 wheel), built with `musicnn.models.define_model` exactly
as experiments/musicnn/convert.py builds the MagnaTagATune one:

    melspectrogram [batch, 187, 96]   (one 3 s patch of log10(1 + 10000 mel power), 16 kHz)
      -> MSD_musicnn, sigmoid -> tags [batch, 50]

musiclime cuts a clip into patches and averages the tags over them before the fusion
(`patching` in model.yaml: a split model whose audio encoder reads patches), which is musicnn's
clip-level output (the mean of its taggram) with one more patch aligned to the clip's end.

Parity (written to OUT/audio_parity.json): the ONNX graph against the TensorFlow graph on the
same patches, and the mean over musicnn's own patches against musicnn's `extractor` (its
float16-rounded features with zero padding: ~1e-3 apart, from the first patch).
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "musicnn"))

from importlib.metadata import version  # noqa: E402

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402

import convert  # noqa: E402  (experiments/musicnn: the graph helpers; disables eager execution)
from musicnn import configuration as mconfig  # noqa: E402
from musicnn import extractor as mextractor  # noqa: E402
from musicnn import models as mmodels  # noqa: E402

MODEL = "MSD_musicnn"
PATCH = convert.N_FRAMES
INPUT = "melspectrogram"
OUTPUT = "tags"
DEFAULT_CLIPS = ["tests/fixtures/frontend/music_16k.flac"]


def build_graph():
    """MSD_musicnn on a batch of patches, sigmoid tag probabilities."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, PATCH, mconfig.N_MELS], name=INPUT)
        with tf.name_scope("model"):
            logits = mmodels.define_model(x, False, MODEL, len(mconfig.MSD_LABELS))[0]
            probabilities = tf.nn.sigmoid(logits)
        y = tf.identity(probabilities, name=OUTPUT)
    return graph, x, y


def features(path):
    """musiclime's log-mel for the audio encoder's model.yaml: librosa in float64, reflect padding
    (musicnn was trained with librosa 0.7, see experiments/musicnn/README.md), [frames, 96]."""
    y, _ = librosa.load(path, sr=mconfig.SR, mono=True)
    mel = librosa.feature.melspectrogram(
        y=y.astype(np.float64), sr=mconfig.SR, n_fft=mconfig.FFT_SIZE, hop_length=mconfig.FFT_HOP,
        n_mels=mconfig.N_MELS, center=True, pad_mode="reflect", power=2.0, htk=False,
        norm="slaney", dtype=np.float64).T
    return np.log10(1.0 + 10000.0 * mel).astype(np.float32)


def export(sess, graph, path):
    frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
        sess, graph.as_graph_def(), [OUTPUT])
    model, _ = tf2onnx.convert.from_graph_def(
        frozen, input_names=[f"{INPUT}:0"], output_names=[f"{OUTPUT}:0"], opset=convert.OPSET)
    convert.rename_io(model, f"{INPUT}:0", INPUT)
    convert.rename_io(model, f"{OUTPUT}:0", OUTPUT)
    for vi in list(model.graph.input) + list(model.graph.output):
        dim0 = vi.type.tensor_type.shape.dim[0]
        dim0.ClearField("dim_value")
        dim0.dim_param = "batch"
    model.doc_string = (
        "musicnn MSD_musicnn (Pons & Serra 2019), Million Song Dataset, 50 tags: one 3 s patch of "
        "187 frames x 96 mels in, sigmoid tag probabilities out. Weights "
        "from the musicnn 0.1.0 wheel (ISC licence, (c) Music Technology Group, Universitat Pompeu "
        "Fabra 2019).")
    del model.metadata_props[:]
    for key, value in {
        "source": f"musicnn {version('musicnn')} {MODEL} checkpoint",
        "licence": "ISC (musicnn, (c) Music Technology Group, Universitat Pompeu Fabra 2019)",
        "converter": f"tensorflow {tf.__version__}, tf2onnx {tf2onnx.__version__}",
        "classes": json.dumps(mconfig.MSD_LABELS),
    }.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def parity(sess, x, y, onnx_path, clips):
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    report = {}
    for clip in clips:
        feats = features(clip)
        patches = np.stack([feats[i * PATCH:(i + 1) * PATCH] for i in range(len(feats) // PATCH)])
        tf_tags = sess.run(y, {x: patches})
        onnx_tags = session.run([OUTPUT], {INPUT: patches})[0]
        taggram, _ = mextractor.extractor(clip, model=MODEL, input_length=3,
                                          input_overlap=False, extract_features=False)
        clip_tags = onnx_tags.mean(axis=0)
        top = np.argsort(-clip_tags)[:5]
        name = os.path.basename(clip)
        report[name] = {
            "patches": len(patches),
            "onnx_vs_tensorflow": float(np.abs(onnx_tags - tf_tags).max()),
            "clip_mean_vs_musicnn_extractor": float(np.abs(clip_tags - np.mean(taggram, axis=0)).max()),
            "top_tags": {mconfig.MSD_LABELS[i]: round(float(clip_tags[i]), 4) for i in top},
        }
        print(f"  {name}: {report[name]}")
        if report[name]["onnx_vs_tensorflow"] > 1e-4:
            raise SystemExit(f"{clip}: ONNX and TensorFlow disagree; see the report above")
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="output directory (models/real_multimodal)")
    ap.add_argument("--clips", nargs="*", default=DEFAULT_CLIPS,
                    help="audio files for the parity check (at least 3 s each)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    graph, x, y = build_graph()
    sess = convert.restored_session(graph, MODEL)
    path = os.path.join(args.out, "audio_encoder.onnx")
    export(sess, graph, path)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
    report = {"model": MODEL, "classes": mconfig.MSD_LABELS,
              "versions": {p: version(p) for p in ["musicnn", "tensorflow-cpu", "tf2onnx", "onnx",
                                                   "onnxruntime", "librosa", "numpy"]},
              "clips": parity(sess, x, y, path, args.clips)}
    with open(os.path.join(args.out, "audio_parity.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()

"""The audio expert of the real multimodal model: musicnn's MSD tagger over a whole clip, as ONNX.

Run in the musicnn environment (experiments/musicnn/README.md), from the repository root:

    .venv-musicnn/bin/python experiments/real_multimodal/audio_encoder.py models/real_multimodal

The graph is musicnn's own `MSD_musicnn` (Pons & Serra 2019: 50 Million Song Dataset tags, the
checkpoint shipped in the musicnn 0.1.0 wheel), built with `musicnn.models.define_model` exactly
as experiments/musicnn/convert.py builds the MagnaTagATune one, with one wrapper around it:

    melspectrogram [batch, frames, 96]   (log10(1 + 10000 mel power), 16 kHz, as musicnn)
      -> the first n = frames // 187 whole 3 s patches, [batch * n, 187, 96]
      -> MSD_musicnn, sigmoid                                   [batch * n, 50]
      -> mean over each clip's patches                          tags [batch, 50]

which is musicnn's clip-level output (`extractor(..., input_overlap=False)` and the mean of its
taggram), so the encoder reads a whole clip and the model can be split into an audio encoder, a
text encoder and a fusion head (crossed sampling re-encodes the audio only for a new audio
mask). Like musicnn it reads no partial last patch: clips need at least 3 s.

Parity (written to OUT/audio_parity.json): the ONNX graph against the TensorFlow graph on the
same features (every clip given), and against musicnn's own `extractor` (the mean of its
taggram: float16-rounded features with zero padding, so ~1e-3 apart on the first patch).
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
    """MSD_musicnn over every whole patch of each clip, tag probabilities averaged per clip."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, mconfig.N_MELS], name=INPUT)
        batch = tf.shape(x)[0]
        patches = tf.shape(x)[1] // PATCH
        whole = x[:, : patches * PATCH, :]
        flat = tf.reshape(whole, [-1, PATCH, mconfig.N_MELS])
        with tf.name_scope("model"):
            logits = mmodels.define_model(flat, False, MODEL, len(mconfig.MSD_LABELS))[0]
            probabilities = tf.nn.sigmoid(logits)
        per_clip = tf.reshape(probabilities, [batch, patches, len(mconfig.MSD_LABELS)])
        y = tf.identity(tf.reduce_mean(per_clip, axis=1), name=OUTPUT)
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
        dims = vi.type.tensor_type.shape.dim
        dims[0].ClearField("dim_value")
        dims[0].dim_param = "batch"
        if vi.name == INPUT:
            dims[1].ClearField("dim_value")
            dims[1].dim_param = "frames"
    model.doc_string = (
        "musicnn MSD_musicnn (Pons & Serra 2019), Million Song Dataset, 50 tags, over a whole clip: "
        "3 s patches of 187 frames, sigmoid tag probabilities averaged over the patches. Weights "
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
        feats = features(clip)[None]
        tf_tags = sess.run(y, {x: feats})
        onnx_tags = session.run([OUTPUT], {INPUT: feats})[0]
        taggram, _ = mextractor.extractor(clip, model=MODEL, input_length=3,
                                             input_overlap=False, extract_features=False)
        musicnn_tags = np.asarray(taggram).mean(axis=0)
        top = np.argsort(-onnx_tags[0])[:5]
        report[os.path.basename(clip)] = {
            "patches": int(feats.shape[1] // PATCH),
            "onnx_vs_tensorflow": float(np.abs(onnx_tags - tf_tags).max()),
            "onnx_vs_musicnn_extractor": float(np.abs(onnx_tags[0] - musicnn_tags).max()),
            "top_tags": {mconfig.MSD_LABELS[i]: round(float(onnx_tags[0, i]), 4) for i in top},
        }
        print(f"  {os.path.basename(clip)}: {report[os.path.basename(clip)]}")
        if report[os.path.basename(clip)]["onnx_vs_tensorflow"] > 1e-4:
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

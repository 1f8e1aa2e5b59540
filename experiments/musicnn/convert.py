"""Convert musicnn's pretrained MagnaTagATune tagger (MTT_musicnn) to ONNX.

Run from the repository root in the pinned environment (see README.md):

    .venv-musicnn/bin/python experiments/musicnn/convert.py

What it does:
  1. rebuilds the MTT_musicnn graph with musicnn's own code (`musicnn.models.define_model`,
     imported from the installed wheel, nothing copied), exactly as `musicnn.extractor.extractor`
     does (tf.compat.v1 graph mode, `tf.name_scope('model')`, sigmoid on the logits), but with
     `is_training=False` as a Python constant instead of a boolean placeholder, so batch norm
     reads its moving statistics and dropout is the identity without any tf.cond in the graph;
     the input placeholder is named `melspectrogram` and the sigmoid output is wrapped in
     `tf.identity(name='taggram')`;
  2. restores the checkpoint shipped in the wheel (`musicnn/MTT_musicnn/`, the same
     `Saver.restore` call as the extractor);
  3. freezes the variables into constants and converts the frozen GraphDef with
     `tf2onnx.convert.from_graph_def` (opset 17);
  4. renames the ONNX input/output from TF's `melspectrogram:0` / `taggram:0` to `melspectrogram`
     / `taggram`, names the dynamic batch axis `batch`, records provenance in the model's
     metadata, checks the model with onnx.checker and writes `models/musicnn/mtt_musicnn.onnx`;
  5. writes `models/musicnn/musicnn_mtt.yaml`: configs/models/musicnn_mtt.yaml with the ONNX file
     and the real input/output names filled in, and `pad_mode: reflect` (see README.md: musicnn
     was trained with librosa 0.7.0, whose default was reflection padding);
  6. a quick self-check: onnxruntime vs the TensorFlow graph on random log-mel-like patches.

The parity checks on real music are in check.py.
"""

import argparse
import json
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import warnings
from importlib.metadata import version

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
import yaml

tf.compat.v1.disable_eager_execution()
# musicnn's tf.compat.v1.layers calls each warn that they are deprecated.
warnings.filterwarnings("ignore", message=r"`tf\.layers\.", category=UserWarning)

import musicnn  # noqa: E402
from musicnn import configuration as mconfig  # noqa: E402
from musicnn import models as mmodels  # noqa: E402

MODEL = "MTT_musicnn"
N_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1, as the extractor
INPUT_NAME = "melspectrogram"
OUTPUT_NAME = "taggram"
OPSET = 17
SPEC_TEMPLATE = "configs/models/musicnn_mtt.yaml"


def checkpoint_prefix(model=MODEL):
    # The extractor restores os.path.dirname(musicnn.__file__) + '/' + model + '/'.
    return os.path.join(os.path.dirname(musicnn.__file__), model) + "/"


def build_graph(named):
    """musicnn's MTT_musicnn graph, as musicnn.extractor builds it.

    named=True: the export graph (is_training a Python False, readable tensor names).
    named=False: the extractor's graph verbatim (placeholders `model/Placeholder`,
    `model/Placeholder_1` for is_training, output `model/Sigmoid`).
    Returns (graph, x, is_training or None, sigmoid output)."""
    graph = tf.Graph()
    with graph.as_default():
        if named:
            x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, mconfig.N_MELS], name=INPUT_NAME)
            with tf.name_scope("model"):
                outs = mmodels.define_model(x, False, MODEL, len(mconfig.MTT_LABELS))
                normalized_y = tf.nn.sigmoid(outs[0])
            y = tf.identity(normalized_y, name=OUTPUT_NAME)
            return graph, x, None, y
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, mconfig.N_MELS])
            is_training = tf.compat.v1.placeholder(tf.bool)
            outs = mmodels.define_model(x, is_training, MODEL, len(mconfig.MTT_LABELS))
            normalized_y = tf.nn.sigmoid(outs[0])
        return graph, x, is_training, normalized_y


def restored_session(graph, model=MODEL):
    with graph.as_default():
        sess = tf.compat.v1.Session(graph=graph)
        sess.run(tf.compat.v1.global_variables_initializer())
        saver = tf.compat.v1.train.Saver()
        saver.restore(sess, checkpoint_prefix(model))
    return sess


def rename_io(model, old, new):
    for vi in list(model.graph.input) + list(model.graph.output):
        if vi.name == old:
            vi.name = new
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new


def write_spec(out_dir, onnx_file):
    with open(SPEC_TEMPLATE) as f:
        text = f.read()
    subs = [
        (r"^onnx: .*$", f"onnx: {onnx_file}                  # written by experiments/musicnn/convert.py"),
        (r"^  - name: .*$", f"  - name: {INPUT_NAME}                 # [batch, 187, 96] float32"),
        (r"^  scores: .*$", f"  scores: {OUTPUT_NAME}                        # [batch, 50], sigmoid probabilities"),
        (r"^    pad_mode: constant$",
         "    pad_mode: reflect                  # musicnn was trained with librosa 0.7.0 (reflect default)"),
        (r"^# FILL IN the path of your ONNX export.*\n# output names it has.*\n",
         "# Converted from the musicnn 0.1.0 wheel's MTT_musicnn checkpoint by experiments/musicnn/convert.py\n"
         "# (tf2onnx; see experiments/musicnn/README.md for versions, parity and licence).\n"),
    ]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text, count=1, flags=re.M)
        if n != 1:
            raise SystemExit(f"{SPEC_TEMPLATE}: pattern {pattern!r} not found; update convert.py")
    path = os.path.join(out_dir, "musicnn_mtt.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def check_spec_against_musicnn():
    """The frontend keys of the template must match musicnn.configuration and the tag list."""
    with open(SPEC_TEMPLATE) as f:
        spec = yaml.safe_load(f)
    inp = spec["inputs"][0]
    expected = {"sample_rate": mconfig.SR, "n_fft": mconfig.FFT_SIZE,
                "hop_length": mconfig.FFT_HOP, "n_mels": mconfig.N_MELS}
    for key, value in expected.items():
        assert int(inp[key]) == value, (key, inp[key], value)
    assert spec["classes"] == mconfig.MTT_LABELS, "tag list differs from musicnn's MTT_LABELS"


def main():
    ap = argparse.ArgumentParser(description="musicnn MTT_musicnn -> ONNX")
    ap.add_argument("--out", default="models/musicnn")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    check_spec_against_musicnn()

    # The extractor's own graph: report its tensor names.
    g_ref, x_ref, is_tr, y_ref = build_graph(named=False)
    print(f"musicnn extractor graph: input {x_ref.name} {x_ref.shape}, is_training {is_tr.name}, "
          f"output {y_ref.name} {y_ref.shape}")

    graph, x, _, y = build_graph(named=True)
    sess = restored_session(graph)
    n_vars = len(graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES))
    print(f"restored {n_vars} variables from {checkpoint_prefix()}")
    frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
        sess, graph.as_graph_def(), [OUTPUT_NAME])
    print(f"frozen graph: {len(frozen.node)} nodes")

    model, _ = tf2onnx.convert.from_graph_def(
        frozen, input_names=[f"{INPUT_NAME}:0"], output_names=[f"{OUTPUT_NAME}:0"], opset=OPSET)
    rename_io(model, f"{INPUT_NAME}:0", INPUT_NAME)
    rename_io(model, f"{OUTPUT_NAME}:0", OUTPUT_NAME)
    for vi in list(model.graph.input) + list(model.graph.output):
        dim0 = vi.type.tensor_type.shape.dim[0]
        dim0.ClearField("dim_value")
        dim0.dim_param = "batch"
    model.doc_string = (
        "musicnn MTT_musicnn (Pons & Serra 2019), MagnaTagATune, 50 tags. Weights from the musicnn "
        "0.1.0 wheel (ISC licence, (c) Music Technology Group, Universitat Pompeu Fabra 2019). "
        "Input: log10(1 + 10000 * librosa mel power) [batch, 187 frames, 96 mels], 16 kHz, "
        "n_fft 512, hop 256. Output: sigmoid tag probabilities [batch, 50].")
    meta = {
        "source": f"musicnn {version('musicnn')} {MODEL} checkpoint",
        "licence": "ISC (musicnn, (c) Music Technology Group, Universitat Pompeu Fabra 2019)",
        "converter": f"tensorflow {tf.__version__}, tf2onnx {tf2onnx.__version__}, opset {OPSET}",
        "classes": json.dumps(mconfig.MTT_LABELS),
    }
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model, full_check=True)
    onnx_path = os.path.join(args.out, "mtt_musicnn.onnx")
    onnx.save(model, onnx_path)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"wrote {onnx_path}: {os.path.getsize(onnx_path)} bytes, IR {model.ir_version}, "
          f"opset {OPSET}, {len(model.graph.node)} nodes ({', '.join(ops)})")
    for vi in list(model.graph.input) + list(model.graph.output):
        dims = [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
        print(f"  {vi.name}: {dims}")

    spec_path = write_spec(args.out, os.path.basename(onnx_path))
    print(f"wrote {spec_path}")

    # Self-check on random inputs in the range of real log-mel patches (0 .. ~5).
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    patches = (rng.random((4, N_FRAMES, mconfig.N_MELS)) * 3.0).astype(np.float32)
    tf_out = sess.run(y, {x: patches})
    sess_ref = restored_session(g_ref)
    ref_out = sess_ref.run(y_ref, {x_ref: patches, is_tr: False})
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    ort_out = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"]).run(
        [OUTPUT_NAME], {INPUT_NAME: patches})[0]
    d_graph = float(np.abs(tf_out - ref_out).max())
    d_onnx = float(np.abs(ort_out - ref_out).max())
    print(f"self-check, 4 random patches: export graph vs extractor graph {d_graph:.2e}, "
          f"onnxruntime vs extractor graph {d_onnx:.2e}")
    assert d_graph < 1e-5 and d_onnx < 1e-4


if __name__ == "__main__":
    main()

"""The paper's code path for one MusicLIME explanation, timed: the Python reference that
`just bench` (run_bench.py) compares `musiclime explain` with.

    python musiclime_reference.py --stems DIR --lyrics FILE --model light.onnx \
        --tokenizer tokenizer.json --num-samples 1000 --seed 0 --out profile.json

Written from shared/spec/musiclime-reference.md and the authors' notebook
(`MusicLIME & GlobalAggregates/MusicLIME.ipynb`: `LimeMusicExplainer`,
`SourceSeparationBasedFactorization`, `compute_segments`), with the same structure and the same
Python loops, and with what the notebook takes from elsewhere replaced as follows:

* Open-Unmix separation -> the four stems are read from DIR (vocals, drums, bass, other; summed
  to mono by librosa.load, at 16 kHz). Separation is outside the timed comparison on both sides.
* the PyTorch AST/RoBERTa predict function -> librosa log-mel + the `tokenizers` package + an
  onnxruntime session on the benchmark ONNX model (tests/fixtures/bench_models/).

Everything else is the reference: 4 sources x 10 equal segments = 40 components, each a
full-length float32 array that is zero outside its segment (segment-major order, names
`vocals0, drums0, bass0, other0, vocals1, ...`; trailing `len % 10` samples in no segment);
lyric words from lime's `IndexedString` (split `\\W+`, bow); the mask matrix from
`RandomState(seed).randint(0, 2, n * d)` with row 0 all ones; per row, the selected components
summed with Python's `sum` and the lyrics rebuilt with `inverse_removing`; the model called on
batches (of 64 here, as `musiclime explain --batch-size 64`); cosine distances to row 0 from
`sklearn.metrics.pairwise_distances` (not multiplied by 100: the MusicLIME quirk, spec section
4; `--distance-scale 100` gives lime_text's convention); kernel sqrt(exp(-d^2 / 25^2)); and
`lime.lime_base.LimeBase.explain_instance_with_data` for the predicted label (top_labels=1)
with feature_selection 'none' (Ridge(alpha=1) on every feature).

Timed: `wall_s` from the end of the imports (reported apart as `import_s`) to the end of the
explanation, i.e. loading, composition, features, model and surrogate; `model_s` is the time
inside `InferenceSession.run`; `non_model_s = wall_s - model_s`; `peak_mb` is ru_maxrss.
"""

import time

T_PROCESS = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from functools import partial  # noqa: E402

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import sklearn.metrics  # noqa: E402
from lime import lime_base, lime_text  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

# librosa loads its submodules lazily (~1.5 s on first attribute access): count that as import.
_ = (librosa.load, librosa.feature.melspectrogram, librosa.util.fix_length, librosa.filters.mel)
T_IMPORTED = time.perf_counter()

SOURCES = ["vocals", "drums", "bass", "other"]  # Open-Unmix order
SR = 16000
SECONDS = 30.0
N_SAMPLES = int(round(SR * SECONDS))
MAX_LENGTH = 128
PAD_ID = 0
MEL = dict(
    n_fft=1024,
    hop_length=512,
    win_length=1024,
    window="hann",
    center=True,
    pad_mode="constant",
    power=2.0,
    n_mels=64,
    fmin=0.0,
    fmax=8000.0,
    htk=False,
    norm="slaney",
)
LOG_SCALE = 10000.0


class Timer:
    """Accumulated seconds per stage (for the breakdown in the profile)."""

    def __init__(self):
        self.seconds = {}

    def add(self, key, started):
        self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started


TIMER = Timer()


# ---------------------------------------------------------------------------------------------
# Factorization (notebook: compute_segments, SourceSeparationBasedFactorization)
# ---------------------------------------------------------------------------------------------
def compute_segments(signal, sr, temporal_segmentation_params=None):
    audio_length = len(signal)
    explained_length = audio_length
    if temporal_segmentation_params is None:
        n_default = min(audio_length // sr, 10)  # 1 segment per second, at most 10
        temporal_segmentation_params = {"type": "fixed_length", "n_temporal_segments": n_default}
    elif isinstance(temporal_segmentation_params, int):
        temporal_segmentation_params = {
            "type": "fixed_length",
            "n_temporal_segments": temporal_segmentation_params,
        }
    segmentation_type = temporal_segmentation_params["type"]
    assert segmentation_type in ["fixed_length", "manual"]
    segments = []
    if segmentation_type == "fixed_length":
        n_temporal_segments = temporal_segmentation_params["n_temporal_segments"]
        samples_per_segment = audio_length // n_temporal_segments
        explained_length = samples_per_segment * n_temporal_segments
        if explained_length < audio_length:
            warnings.warn(f"last {audio_length - explained_length} samples are ignored")
        for s in range(n_temporal_segments):
            segment_start = s * samples_per_segment
            segments.append((segment_start, segment_start + samples_per_segment))
    else:
        segments = temporal_segmentation_params["manual_segments"]
        explained_length = segments[-1][1]
    return segments, explained_length


class StemsFactorization:
    """SourceSeparationBasedFactorization with precomputed stems instead of Open-Unmix."""

    def __init__(self, stems_dir, target_sr=SR, temporal_segmentation_params=10):
        self.target_sr = target_sr
        self.original_components, self._components_names = self.initialize_components(stems_dir)
        # The notebook's _original_mix is the loaded mixture; the stems add up to it.
        self._original_mix = sum(self.original_components)
        self.temporal_segments, self.explained_length = compute_segments(
            self._original_mix, self.target_sr, temporal_segmentation_params
        )
        self.prepare_components(0, len(self._original_mix))

    def initialize_components(self, stems_dir):
        components = []
        for source in SOURCES:
            path = os.path.join(stems_dir, f"{source}.wav")
            waveform, _ = librosa.load(path, mono=True, sr=self.target_sr)
            components.append(waveform)
        length = min(len(c) for c in components)
        return [c[:length] for c in components], list(SOURCES)

    def prepare_components(self, start_sample, y_length):
        self.components = [
            comp[start_sample : start_sample + y_length] for comp in self.original_components
        ]
        component_names = []
        temporary_components = []
        for s, (segment_start, segment_end) in enumerate(self.temporal_segments):
            for co in range(self.get_number_components()):
                current_component = np.zeros(self.explained_length, dtype=np.float32)
                current_component[segment_start:segment_end] = self.components[co][
                    segment_start:segment_end
                ]
                temporary_components.append(current_component)
                component_names.append(self._components_names[co] + str(s))
        self.components = temporary_components
        self._components_names = component_names

    def get_number_components(self):
        return len(self.components)

    def get_ordered_component_names(self):
        return self._components_names

    def retrieve_components(self, selection_order=None):
        if selection_order is None:
            return self.components
        if len(selection_order) == 0:
            return [np.zeros_like(self.components[0])]
        return [self.components[o] for o in selection_order]

    def compose_model_input(self, components=None):
        sel_sources = self.retrieve_components(selection_order=components)
        if len(sel_sources) > 1:
            y = sum(sel_sources)
        else:
            y = sel_sources[0]
        return y


# ---------------------------------------------------------------------------------------------
# The model: log-mel + tokens + onnxruntime (stands in for the paper's AST + RoBERTa predict)
# ---------------------------------------------------------------------------------------------
def log_mel(y):
    """[64, 938] float32: librosa log-mel of y padded with zeros / cropped to 30 s."""
    y = librosa.util.fix_length(np.asarray(y, dtype=np.float32), size=N_SAMPLES)
    s = librosa.feature.melspectrogram(y=y, sr=SR, **MEL)
    return np.log10(1.0 + LOG_SCALE * s).astype(np.float32)


class OnnxPredictor:
    def __init__(self, model_path, tokenizer_path, threads):
        opts = ort.SessionOptions()
        if threads > 0:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            model_path, opts, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(tokenizer_path)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.model_seconds = 0.0
        self.calls = 0

    def tokens(self, texts):
        """input_ids, attention_mask: the encoding (with [CLS]/[SEP]) cut to 128, padded with 0."""
        ids = np.full((len(texts), MAX_LENGTH), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(texts), MAX_LENGTH), dtype=np.int64)
        for i, enc in enumerate(self.tokenizer.encode_batch(list(texts))):
            row = enc.ids[:MAX_LENGTH]
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return ids, mask

    def __call__(self, texts, audios):
        """predict_fn(texts, audios) -> probs [batch, classes], as the notebook calls it."""
        t = time.perf_counter()
        mel = np.stack([log_mel(a) for a in audios])
        TIMER.add("log_mel_s", t)
        t = time.perf_counter()
        ids, mask = self.tokens(texts)
        TIMER.add("tokenize_s", t)
        t = time.perf_counter()
        (probs,) = self.session.run(
            ["probs"], {"mel": mel, "input_ids": ids, "attention_mask": mask}
        )
        self.model_seconds += time.perf_counter() - t
        self.calls += 1
        return probs


# ---------------------------------------------------------------------------------------------
# The explainer (notebook: LimeMusicExplainer, modality 'both')
# ---------------------------------------------------------------------------------------------
class LimeMusicExplainer:
    def __init__(self, kernel_width=25, feature_selection="none", distance_scale=1.0,
                 split_expression=r"\W+", bow=True, mask_string=None, random_state=None):
        kernel_width = float(kernel_width)

        def kernel(d, kernel_width):
            return np.sqrt(np.exp(-(d**2) / kernel_width**2))

        self.random_state = check_random_state(random_state)
        self.feature_selection = feature_selection
        self.distance_scale = distance_scale
        # The notebook passes absolute_feature_sort=False as the third positional argument,
        # which is lime 0.2.0.1's random_state (only seeds Ridge, which ignores it).
        self.base = lime_base.LimeBase(partial(kernel, kernel_width=kernel_width), False, False)
        self.split_expression = split_expression
        self.bow = bow
        self.mask_string = mask_string

    def explain_instance(self, factorization, text_instance, predict_fn, top_labels=1,
                         num_features=100000, num_samples=1000, batch_size=64):
        self.factorization = factorization
        indexed_string = lime_text.IndexedString(
            text_instance, bow=self.bow, split_expression=self.split_expression,
            mask_string=self.mask_string,
        )
        data, labels, distances = self.combined_data_labels_distances(
            indexed_string, predict_fn, num_samples, batch_size=batch_size
        )
        t = time.perf_counter()
        top = np.argsort(labels[0])[-top_labels:]
        result = {}
        for label in top:
            result[int(label)] = self.base.explain_instance_with_data(
                data, labels, distances, label, num_features,
                model_regressor=None, feature_selection=self.feature_selection,
            )
        TIMER.add("surrogate_s", t)
        return indexed_string, data, labels, list(reversed(top.tolist())), result

    def combined_data_labels_distances(self, indexed_string, predict_fn, num_samples,
                                       batch_size=64, distance_metric="cosine"):
        t = time.perf_counter()
        doc_size = indexed_string.num_words()
        audio_size = self.factorization.get_number_components()
        total_features = doc_size + audio_size
        data = self.random_state.randint(0, 2, num_samples * total_features).reshape(
            (num_samples, total_features)
        )
        data[0, :] = 1
        TIMER.add("sample_s", t)

        labels, audios, texts = [], [], []
        for row in data:
            t = time.perf_counter()
            non_zeros = np.where(row[:audio_size] != 0)[0]
            audios.append(self.factorization.compose_model_input(non_zeros))
            TIMER.add("compose_audio_s", t)
            t = time.perf_counter()
            inactive = np.where(row[audio_size:] == 0)[0]
            texts.append(indexed_string.inverse_removing(inactive))
            TIMER.add("compose_text_s", t)
            if len(audios) == batch_size:
                t = time.perf_counter()
                batch = np.array(audios)
                TIMER.add("compose_audio_s", t)
                labels.extend(predict_fn(texts, batch))
                audios, texts = [], []
        if len(audios) > 0:
            labels.extend(predict_fn(texts, np.array(audios)))

        t = time.perf_counter()
        distances = sklearn.metrics.pairwise_distances(
            data, data[0].reshape(1, -1), metric=distance_metric
        ).ravel() * self.distance_scale
        TIMER.add("distances_s", t)
        return data, np.array(labels), distances


def feature_name(i, factorization, indexed_string):
    n_audio = factorization.get_number_components()
    if i < n_audio:
        return factorization.get_ordered_component_names()[i]
    return indexed_string.word(i - n_audio)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stems", required=True, help="directory with vocals/drums/bass/other.wav")
    ap.add_argument("--lyrics", required=True, help="the lyrics (UTF-8 text)")
    ap.add_argument("--model", required=True, help="the ONNX model (mel, input_ids, attention_mask -> probs)")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.json (Hugging Face tokenizers)")
    ap.add_argument("--num-samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--segments", type=int, default=10)
    ap.add_argument("--kernel-width", type=float, default=25.0)
    ap.add_argument("--distance-scale", type=float, default=1.0,
                    help="factor on cosine distances (1: MusicLIME, the default; 100: lime_text)")
    ap.add_argument("--threads", type=int, default=0,
                    help="onnxruntime intra-op threads (0: onnxruntime's default, the cores)")
    ap.add_argument("--out", required=True, help="profile JSON to write")
    args = ap.parse_args()

    started = time.perf_counter()
    t = time.perf_counter()
    predictor = OnnxPredictor(args.model, args.tokenizer, args.threads)
    TIMER.add("load_model_s", t)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "last N samples are ignored", as the reference warns
        factorization = StemsFactorization(args.stems, SR, args.segments)
    with open(args.lyrics, encoding="utf-8") as f:
        text = f.read()
    TIMER.add("load_input_s", t)

    explainer = LimeMusicExplainer(
        kernel_width=args.kernel_width, feature_selection="none",
        distance_scale=args.distance_scale, random_state=args.seed,
    )
    indexed_string, data, labels, top, result = explainer.explain_instance(
        factorization, text, predictor, top_labels=1, num_samples=args.num_samples,
        batch_size=args.batch_size,
    )
    wall = time.perf_counter() - started

    label = top[0]
    intercept, local_exp, score, local_pred = result[label]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    profile = {
        "implementation": "python",
        "model": os.path.basename(args.model),
        "num_samples": args.num_samples,
        "wall_s": wall,
        "model_s": predictor.model_seconds,
        "non_model_s": wall - predictor.model_seconds,
        "peak_mb": peak_kb / 1024.0,
        "samples_per_s": args.num_samples / wall,
        "import_s": T_IMPORTED - T_PROCESS,
        "breakdown_s": {k: round(v, 4) for k, v in TIMER.seconds.items()},
        "model_calls": predictor.calls,
        "onnxruntime_intra_threads": args.threads or "default",
        "num_audio_components": factorization.get_number_components(),
        "num_words": indexed_string.num_words(),
        "predicted_label": int(label),
        "row0_probs": [float(p) for p in labels[0]],
        "score": float(score),
        "intercept": float(intercept),
        "local_pred": float(np.ravel(local_pred)[0]),
        "top_features": [
            [feature_name(int(i), factorization, indexed_string), float(w)]
            for i, w in local_exp[:10]
        ],
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "librosa": librosa.__version__,
            "onnxruntime": ort.__version__,
            "scikit-learn": sklearn.__version__,
        },
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(profile, f, indent=2)
        f.write("\n")
    print(
        f"python reference: {args.num_samples} samples in {wall:.2f} s "
        f"(model {predictor.model_seconds:.2f} s), peak {profile['peak_mb']:.0f} MB; "
        f"label {label}, top {profile['top_features'][0][0]}"
    )


if __name__ == "__main__":
    main()

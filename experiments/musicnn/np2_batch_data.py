"""Optional cross-check: musicnn's own `batch_data` run under numpy >= 2.

musicnn.extractor.batch_data casts the mel power to float16 and then computes
`np.log10(10000 * audio_rep + 1)`. Under numpy < 2 (value-based casting) `10000 * float16`
promotes to float32, so nothing overflows; under numpy >= 2 (NEP 50) it stays float16 and every
mel power above 65504 / 10000 = 6.55 becomes +inf. The conversion environment needs numpy < 2
(tensorflow 2.15), so check.py emulates the numpy >= 2 arithmetic; this script produces the real
thing to compare with. It runs musicnn's `batch_data` function, taken from the installed
musicnn/extractor.py (the module itself imports tensorflow, so only that function is compiled
from its source), in an environment with numpy 2 and librosa but no tensorflow, e.g. the one of
tests/fixtures/frontend:

    python3.11 -m venv /tmp/venv-np2
    /tmp/venv-np2/bin/pip install -r tests/fixtures/frontend/requirements.txt
    /tmp/venv-np2/bin/pip install --no-deps musicnn==0.1.0
    /tmp/venv-np2/bin/python experiments/musicnn/np2_batch_data.py models/musicnn/np2
    .venv-musicnn/bin/python experiments/musicnn/check.py --np2-dir models/musicnn/np2

It writes <out>/<clip>.npy (float16, [patches, 187, 96]) for each clip check.py uses.
"""

import ast
import os
import sys

import librosa
import numpy as np

import musicnn
from musicnn import configuration as config

CLIPS = {
    "armygeddon_30s": "models/musicnn/armygeddon_30s.wav",
    "armygeddon_30s_m11db": "models/musicnn/armygeddon_30s_m11db.wav",
    "music_16k_fixture": "tests/fixtures/frontend/music_16k.flac",
}


def main():
    assert int(np.__version__.split(".")[0]) >= 2, "run this under numpy >= 2"
    out = sys.argv[1] if len(sys.argv) > 1 else "models/musicnn/np2"
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(os.path.dirname(musicnn.__file__), "extractor.py")) as f:
        tree = ast.parse(f.read())
    fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "batch_data"]
    ns = {"np": np, "librosa": librosa, "config": config}
    exec(compile(ast.Module(fn, []), "musicnn/extractor.py", "exec"), ns)
    for name, path in CLIPS.items():
        with np.errstate(over="ignore"):
            batch, _ = ns["batch_data"](path, 187, 187)
        per_patch = np.isinf(batch).reshape(len(batch), -1).sum(1)
        print(f"{name}: {batch.dtype} {batch.shape}, numpy {np.__version__}, librosa "
              f"{librosa.__version__}: +inf values per patch {per_patch.tolist()}")
        np.save(os.path.join(out, name + ".npy"), batch)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The whole musicnn -> ONNX recipe, from the repository root (what `just musicnn` runs):
# creates .venv-musicnn if missing, installs the pins, cuts the clips (apt-get download of the
# Debian package), converts, checks parity. `--bench` also times onnxruntime and measures peak RSS.
# Outputs (git-ignored): models/musicnn/{mtt_musicnn.onnx, musicnn_mtt.yaml, armygeddon_30s*.wav,
# parity.json, reference_scores.json[, bench.json]}.
set -euo pipefail
VENV=.venv-musicnn
PY=$VENV/bin/python
if [ ! -x "$PY" ]; then
    python3.11 -m venv "$VENV"
    "$VENV/bin/pip" install --no-deps -r experiments/musicnn/requirements.txt
fi
"$PY" experiments/musicnn/make_clip.py
"$PY" experiments/musicnn/convert.py
# models/musicnn/np2 (np2_batch_data.py, optional): verify the numpy >= 2 emulation too
if [ -d models/musicnn/np2 ]; then
    "$PY" experiments/musicnn/check.py --np2-dir models/musicnn/np2
else
    "$PY" experiments/musicnn/check.py
fi
if [ "${1:-}" = "--bench" ]; then
    "$PY" experiments/musicnn/bench.py
fi

#!/usr/bin/env bash
# The real multimodal model and its recordings, from the repository root (what `just
# real-multimodal` runs after `just setup export-venv`): models/real_multimodal/ (git-ignored)
# gets the recordings (recordings.py), musicnn's MSD tagger as the audio encoder
# (audio_encoder.py, in .venv-musicnn) and all-MiniLM-L6-v2 with the zero-shot heads (build.py,
# in .venv-export), with parity reports; Spleeter is exported first when models/spleeter is missing.
set -euo pipefail
OUT=models/real_multimodal
MUSICLIME=${CARGO_TARGET_DIR:-target}/release/musiclime
if [ ! -x .venv-musicnn/bin/python ]; then
    python3.11 -m venv .venv-musicnn
    .venv-musicnn/bin/pip install -q --no-deps -r experiments/musicnn/requirements.txt
fi
.venv-export/bin/pip install -q --no-deps -r experiments/real_multimodal/requirements.txt
cargo build --release
[ -f models/spleeter/separator.yaml ] || just spleeter
.venv-export/bin/python experiments/real_multimodal/recordings.py "$OUT/recordings" "$@"
REC=$OUT/recordings
.venv-musicnn/bin/python experiments/real_multimodal/audio_encoder.py "$OUT" \
    --clips tests/fixtures/frontend/music_16k.flac "$REC/armygeddon.wav" "$REC/feelings.wav"
.venv-export/bin/python experiments/real_multimodal/build.py "$OUT" --musiclime "$MUSICLIME" \
    --case "$REC/armygeddon.wav" "$REC/armygeddon.txt" --case "$REC/feelings.wav" "$REC/feelings.txt"
"$MUSICLIME" validate configs/real_multimodal.yaml

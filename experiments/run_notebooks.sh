#!/usr/bin/env bash
# Executes every notebook under experiments/ headlessly and checks its outputs:
#   experiments/run_notebooks.sh            (or `just notebooks`)
# Installs what is missing: Jupyter (pinned, into .venv-notebooks), evcxr_jupyter 0.22.0
# (cargo install) and its kernel spec. The kernel's build directory is kept in
# target/evcxr-notebooks, so only the first run compiles musiclime and its dependencies.
# Executed copies go to reports/notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

if [ ! -x .venv-notebooks/bin/jupyter ]; then
    python3 -m venv .venv-notebooks
    .venv-notebooks/bin/pip install --quiet -r experiments/requirements-notebooks.txt
fi
if ! command -v evcxr_jupyter >/dev/null 2>&1; then
    cargo install evcxr_jupyter --locked --version 0.22.0
fi
evcxr_jupyter --install >/dev/null

export EVCXR_TMPDIR="$root/target/evcxr-notebooks"
mkdir -p "$EVCXR_TMPDIR" reports/notebooks
status=0
for notebook in experiments/*.ipynb; do
    name="$(basename "$notebook")"
    start=$(date +%s)
    if ! .venv-notebooks/bin/jupyter nbconvert --to notebook --execute "$notebook" \
        --output-dir reports/notebooks \
        --ExecutePreprocessor.kernel_name=rust \
        --ExecutePreprocessor.timeout=3600 \
        --ExecutePreprocessor.startup_timeout=120; then
        echo "$name: a cell failed (see above)" >&2
        status=1
        continue
    fi
    echo "$name: executed in $(( $(date +%s) - start )) s"
done
.venv-notebooks/bin/python experiments/check_notebooks.py reports/notebooks/*.ipynb || status=1
exit $status

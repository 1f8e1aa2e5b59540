#!/usr/bin/env bash
# Executes every notebook under experiments/ headlessly and checks its outputs:
#   experiments/run_notebooks.sh            (or `just notebooks`)
# Installs what is missing: Jupyter (pinned, into .venv-notebooks), evcxr_jupyter 0.22.0
# (cargo install) and its kernel spec. The kernel's build directory is kept in
# target/evcxr-notebooks (seeded with the project's Cargo.lock, so the kernel builds the same
# dependency versions), so only the first run compiles musiclime and its dependencies.
# Executed copies go to reports/notebooks/.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
root="$PWD"
export PATH="$HOME/.cargo/bin:$PATH"

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
[ -f "$EVCXR_TMPDIR/Cargo.lock" ] || cp Cargo.lock "$EVCXR_TMPDIR/Cargo.lock"
rm -f reports/notebooks/*.ipynb

notebooks=(experiments/*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
    echo "no notebooks under experiments/" >&2
    exit 1
fi
status=0
executed=()
for notebook in "${notebooks[@]}"; do
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
    executed+=("reports/notebooks/$name")
done
if [ ${#executed[@]} -gt 0 ]; then
    .venv-notebooks/bin/python experiments/check_notebooks.py "${executed[@]}" || status=1
fi
exit $status

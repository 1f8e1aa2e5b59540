"""Checks of export.py's paper path and its refusals (run in the export venv; `just export-fixtures`).

    .venv-export/bin/python experiments/export/check_export.py

On make_tiny.py's checkpoints (in a temporary directory) it runs export.py as a user would and
checks the exit status, the message and that nothing was written:

* the authors' checkpoint form with `"preset": "paper"` exports, prints every setting with its
  source, and `--model-class user_class_example.py:PaperStyleModel` (built offline, strict
  state_dict) agrees with the graphs, as does a class built through `AutoModel`;
* a forward that differs with the same parameter names (text-first concatenation, mean
  pooling) exits 3 naming the class and the case;
* a class whose keys or shapes differ, a class that cannot be imported, a name the module lacks, an
  unknown preset (flag or json), an unknown class list: exit 2;
* a json key overrides the preset, and the printout says so.

Exit status 0 when every check passes; the first failure is printed and ends it with 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLE = "experiments/export/user_class_example.py"
CASE = ["--case", "tests/fixtures/frontend/music_44k.flac",
        "tests/fixtures/paper_normaliser/auld_lang_syne.txt"]


def export(checkpoint: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HERE / "export.py"), str(checkpoint), str(out),
                           "--attention", "none", *CASE, *args],
                          cwd=REPO, capture_output=True, text=True)


def expect(run: subprocess.CompletedProcess, code: int, *needles: str, out: Path | None = None):
    text = run.stdout + run.stderr
    if run.returncode != code or not all(n in text for n in needles):
        print(text[-3000:])
        raise SystemExit(f"FAILED: expected exit {code} with {needles}, got {run.returncode}")
    if out is not None and code != 0 and out.exists():
        raise SystemExit(f"FAILED: {out} was written by a failed export")
    print(f"ok: exit {code}" + (f", {needles[0]!r}" if needles else ""))


def edited(source: Path, target: Path, **changes) -> Path:
    """A copy of the checkpoint `source` with json keys changed (None deletes)."""
    import shutil

    shutil.copytree(source, target)
    spec_path = target / "musiclime_export.json"
    spec = json.loads(spec_path.read_text())
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    spec_path.write_text(json.dumps(spec, indent=2))
    return target


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, str(HERE / "make_tiny.py"), str(tmp / "ckpt")],
                       cwd=REPO, check=True, capture_output=True)
        paper = tmp / "ckpt/paper_form"

        out = tmp / "good"
        run = export(paper, out, "--model-class", f"{EXAMPLE}:PaperStyleModel")
        expect(run, 0, "max_length                       256  (preset paper)",
               "lyrics_normalization             paper  (preset paper)",
               "feature_extractor.sampling_rate  44100  (preset paper)",
               "(class preset paper-genre)", "your class's probabilities vs ONNX")
        yaml = (out / "model.yaml").read_text()
        assert "sample_rate: 44100" in yaml and "max_length: 256" in yaml, yaml
        assert "window_seconds: 10.255" in yaml and "alternative rock" in yaml, yaml

        for name, needle in (("TextFirstModel", "does not compute what was exported"),
                             ("MeanPoolingModel", "does not compute what was exported")):
            out = tmp / name
            expect(export(paper, out, "--model-class", f"{EXAMPLE}:{name}"), 3, needle, name,
                   out=out)
        expect(export(paper, tmp / "auto", "--model-class", f"{EXAMPLE}:AutoClassModel"), 0,
               "your class's probabilities vs ONNX")
        out = tmp / "renamed"
        expect(export(paper, out, "--model-class", f"{EXAMPLE}:OneMoreClassModel"), 2,
               "does not fit your class", "size mismatch", out=out)
        expect(export(paper, out, "--model-class", f"{EXAMPLE}:RenamedHeadModel"), 2,
               "does not fit your class", "missing ['head.layer_norm.weight'", out=out)
        expect(export(paper, out, "--model-class", "no_such_module:Model"), 2,
               "cannot import no_such_module", out=out)
        expect(export(paper, out, "--model-class", f"{EXAMPLE}:NoSuchClass"), 2,
               "has no `NoSuchClass`", out=out)
        expect(export(paper, out, "--model-class", "no-colon"), 2, "write MODULE:NAME", out=out)
        expect(export(paper, out, "--preset", "papr"), 2, "--preset: unknown preset 'papr'",
               out=out)
        expect(export(edited(paper, tmp / "p1", preset="papr"), out), 2,
               "`preset`: unknown preset 'papr'; presets: paper", out=out)
        plain = edited(paper, tmp / "p2", preset=None)
        expect(export(plain, tmp / "flag", "--preset", "paper"), 0, "(preset paper)")
        expect(export(edited(paper, tmp / "p3", classes="paper-genres"), out), 2,
               "unknown class list 'paper-genres'", out=out)
        expect(export(edited(paper, tmp / "p4", max_length=128), tmp / "override"), 0,
               "overriding preset paper's 256")
    print("every check passed")


if __name__ == "__main__":
    main()

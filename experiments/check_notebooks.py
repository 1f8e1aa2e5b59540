"""Checks executed notebooks: every code cell ran, none failed, every cell that ends in a value
shows it, and the outputs hold rich displays (text/html, and image/svg+xml or image/png).

The evcxr kernel reports a `?` error or a panic as text on stderr and still marks the cell as
run, so any stderr output counts as a failure, not only `error` outputs.

    python experiments/check_notebooks.py reports/notebooks/*.ipynb
"""

import json
import sys


def ends_in_value(source):
    """Whether a code cell's last line is an expression (evcxr displays it)."""
    lines = [l.strip() for l in "".join(source).splitlines() if l.strip()]
    lines = [l for l in lines if not l.startswith("//")]
    if not lines or all(l.startswith(":") for l in lines):
        return False
    last = lines[-1]
    return not (last.endswith(";") or last.endswith("}") or last.startswith(":"))


def check(path):
    nb = json.load(open(path))
    problems = []
    mimes = set()
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("execution_count") is None:
            problems.append(f"cell {i} did not run")
        shown = False
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                problems.append(f"cell {i} raised {out.get('ename')}: {out.get('evalue')}")
            elif kind == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                problems.append(f"cell {i} wrote to stderr: {text.strip()[:500]}")
            data = out.get("data", {})
            shown = shown or bool(data)
            mimes.update(data.keys())
        if ends_in_value(cell["source"]) and not shown:
            problems.append(f"cell {i} ends in a value but shows nothing")
    if "text/html" not in mimes:
        problems.append("no text/html output")
    if not mimes & {"image/svg+xml", "image/png"}:
        problems.append("no image/svg+xml or image/png output")
    return problems, sorted(mimes)


def main(paths):
    if not paths:
        print("usage: check_notebooks.py EXECUTED.ipynb ...", file=sys.stderr)
        return 2
    failed = False
    for path in paths:
        problems, mimes = check(path)
        if problems:
            failed = True
            print(f"{path}: FAILED")
            for p in problems:
                print(f"  {p}")
        else:
            print(f"{path}: ok ({', '.join(mimes)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

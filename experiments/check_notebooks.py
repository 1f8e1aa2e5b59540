"""Checks executed notebooks: no cell raised an error, every code cell ran, and the outputs
hold rich displays (text/html, and image/svg+xml or image/png).

    python experiments/check_notebooks.py reports/notebooks/*.ipynb
"""

import json
import sys


def check(path):
    nb = json.load(open(path))
    problems = []
    mimes = set()
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("execution_count") is None:
            problems.append(f"cell {i} did not run")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i} raised {out.get('ename')}: {out.get('evalue')}")
            mimes.update(out.get("data", {}).keys())
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

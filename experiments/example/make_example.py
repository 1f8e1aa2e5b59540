"""Build the bundled example neighbourhood used by README's quick start.

    pip install -r tests/fixtures/lime_parity/requirements.txt
    python experiments/example/make_example.py

A MusicLIME-shaped neighbourhood: 4 sources x 10 segments of a 10 s clip plus the distinct words
of a short lyric, 1000 paper-mode samples (fair coin flips, row 0 all ones), and the outputs of
a planted 9-genre model whose decision for `punk` rests on `drums3`, `vocals5` and the word
`riot`. It is not a real model's output; it exists so `musiclime refit` has something realistic
to explain before the experiment runner can produce neighbourhoods itself.
"""

import json
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ["vocals", "drums", "bass", "other"]
SEGMENTS = 10
SECONDS = 10.0
GENRES = ["alternative rock", "electronic", "folk", "heavy music", "hip hop", "pop", "punk", "rhythm music", "rock"]
LYRICS = """We start a riot in the street tonight
Break the walls and burn the night
No future, no control, we riot
Shout it loud until the morning light"""


def main():
    rng = np.random.default_rng(2025)
    words = []
    for w in re.split(r"\W+", LYRICS):
        if w and w not in words:
            words.append(w)
    features = []
    for s in range(SEGMENTS):
        for source in SOURCES:
            start = s * SECONDS / SEGMENTS
            features.append({"name": f"{source}{s}", "modality": "audio", "source": source, "segment": s,
                             "start_s": start, "end_s": start + SECONDS / SEGMENTS})
    for w in words:
        features.append({"name": w, "modality": "lyrics", "word": w,
                         "occurrences": len(re.findall(rf"(?<!\w){re.escape(w)}(?!\w)", LYRICS))})
    names = [f["name"] for f in features]
    d, n, c = len(features), 1000, len(GENRES)
    masks = rng.integers(0, 2, size=(n, d))
    masks[0] = 1
    coef = rng.normal(0.0, 0.15, size=(d, c))
    punk = GENRES.index("punk")
    for name, strength in [("drums3", 2.0), ("vocals5", 1.2), ("riot", 1.6), ("bass7", -0.8)]:
        coef[names.index(name), punk] += strength
    coef[names.index("night"), GENRES.index("pop")] += 0.9
    logits = masks @ coef / 4.0 + rng.normal(0.0, 0.05, size=(n, c))
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    columns = {f"mask_{j}": pa.array(masks[:, j].astype(np.uint8)) for j in range(d)}
    columns.update({f"prob_{k}": pa.array(probs[:, k]) for k in range(c)})
    path = os.path.join(HERE, "neighborhood.parquet")
    pq.write_table(pa.table(columns), path)
    with open(path + ".features.json", "w") as f:
        json.dump({"features": features, "classes": GENRES}, f, indent=1)
    print(f"{n} samples, {d} features ({SEGMENTS * len(SOURCES)} audio, {len(words)} words), {c} classes")


if __name__ == "__main__":
    main()

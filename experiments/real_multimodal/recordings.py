"""Eight real, redistributable recordings with lyrics for configs/real_multimodal.yaml.

Run from the repository root (what `just real-multimodal` runs; soundfile from the export venv):

    .venv-export/bin/python experiments/real_multimodal/recordings.py models/real_multimodal/recordings

Writes OUT/<id>.wav (a 30 s excerpt, 44.1 kHz mono 16-bit), OUT/<id>.txt (its lyrics),
OUT/manifest.csv (id, audio, lyrics), OUT/SOURCES.md (what each file is, its licence, where its
lyrics come from) and OUT/licences/ (the packages' copyright files and Muldjord's readme).

The recordings come from two Debian packages (`apt-get download`, checked by sha256):
- `fretsonfire-songs-muldjord` 2.dfsg-2.1: four songs by the Danish metal band Muldjord (El
  Senator), CC BY-SA 3.0, with vocals (growled; no lyrics are published with them);
- `fretsonfire-songs-sectoid` 1.dfsg-3.1: four instrumental songs by Sectoid (Carlos Viola
  Iborra), under the MIT (Expat) permission notice.
Frets on Fire ships each song as `song.ogg` (everything but the lead guitar) and `guitar.ogg`;
the mix is 0.5 x their sum (the plain sum clips), averaged over the two channels.

Vocals, measured (no package states them): Spleeter's vocal stem (`just spleeter`, `musiclime
separate`) holds -10 to -13 dB of the mix in the Muldjord songs (in verse-like blocks) and -39 to
-46 dB in the Sectoid songs. Each Muldjord excerpt is the 30 s window (5 s steps) whose vocal
stem is loudest relative to the mix; the Sectoid excerpts start at 60 s.

Lyrics: the songs' own are not published, so every recording is paired with a public-domain
text (poems and songs published before 1900), and SOURCES.md says so: what the text model reads
is not what is sung.
"""

import argparse
import csv
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
LYRICS = REPO / "experiments/real_multimodal/lyrics"
FIXTURE_LYRICS = REPO / "tests/fixtures/transformers/lyrics"
SECONDS = 30
PACKAGES = {
    "fretsonfire-songs-muldjord": (
        "2.dfsg-2.1", "b37adf8b08b46d4182c283e760e4f40622d83674e05803960ea1e11a92600c7b",
        "usr/share/games/fretsonfire/data/songs/muldjord"),
    "fretsonfire-songs-sectoid": (
        "1.dfsg-3.1", "14c1ed3e43c1a6a80eae7698f0469a0825cd1184e441968d62df89ca418aa0b4",
        "usr/share/games/fretsonfire/data/songs/sectoid"),
}
MULDJORD = "Muldjord (El Senator), CC BY-SA 3.0"
SECTOID = "Sectoid (Carlos Viola Iborra), MIT (Expat) notice"
# id, package, song folder, title, artist and licence, excerpt start (s), vocals, lyrics file, lyrics source
RECORDINGS = [
    ("armygeddon", "fretsonfire-songs-muldjord", "armygeddon", "Armygeddon", MULDJORD, 125, True,
     LYRICS / "charge_of_the_light_brigade.txt",
     "Alfred Tennyson, \"The Charge of the Light Brigade\" (1854), stanzas 1-3"),
    ("chaos_god", "fretsonfire-songs-muldjord", "chaos_god", "Chaos God", MULDJORD, 65, True,
     LYRICS / "ozymandias.txt", "Percy Bysshe Shelley, \"Ozymandias\" (1818)"),
    ("internal_degeneration", "fretsonfire-songs-muldjord", "internal_degeneration",
     "Internal Degeneration", MULDJORD, 95, True, LYRICS / "the_tyger.txt",
     "William Blake, \"The Tyger\" (1794), stanzas 1-4"),
    ("mutilated_mime", "fretsonfire-songs-muldjord", "mutilated_mime", "Mutilated Mime", MULDJORD,
     125, True, LYRICS / "a_poison_tree.txt", "William Blake, \"A Poison Tree\" (1794)"),
    ("escape_from_chaosland", "fretsonfire-songs-sectoid", "Escape from chaosland",
     "Escape from Chaosland", SECTOID, 60, False, LYRICS / "oh_susanna.txt",
     "Stephen Foster, \"Oh! Susanna\" (1848), two verses and the chorus"),
    ("feelings", "fretsonfire-songs-sectoid", "Feelings", "Feelings", SECTOID, 60, False,
     FIXTURE_LYRICS / "amazing_grace.txt", "John Newton, \"Amazing Grace\" (1779)"),
    ("metal_madness", "fretsonfire-songs-sectoid", "Metal madness", "Metal Madness", SECTOID, 60,
     False, FIXTURE_LYRICS / "my_bonnie.txt", "\"My Bonnie Lies over the Ocean\" (traditional)"),
    ("war_of_freedom", "fretsonfire-songs-sectoid", "War of freedom", "War of Freedom", SECTOID, 60,
     False, LYRICS / "when_johnny_comes_marching_home.txt",
     "Patrick Gilmore, \"When Johnny Comes Marching Home\" (1863), two verses"),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extract(package: str, root: Path, work: Path) -> Path:
    """The package's files under `root` (already extracted), or downloaded and extracted."""
    version, digest, songs = PACKAGES[package]
    if (root / songs).is_dir():
        return root
    subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=work, check=True)
    deb = next(work.glob(f"{package}_*.deb"))
    if sha256(deb) != digest:
        raise SystemExit(f"{deb}: sha256 {sha256(deb)}, expected {digest}")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "root")], check=True)
    return work / "root"


def excerpt(folder: Path, start: int) -> tuple[np.ndarray, int]:
    song, rate = sf.read(folder / "song.ogg", dtype="float64", always_2d=True)
    guitar, _ = sf.read(folder / "guitar.ogg", dtype="float64", always_2d=True)
    n = min(len(song), len(guitar))
    mix = (0.5 * (song[:n] + guitar[:n])).mean(axis=1)
    cut = mix[start * rate:(start + SECONDS) * rate]
    if len(cut) < SECONDS * rate:
        raise SystemExit(f"{folder}: shorter than {start + SECONDS} s")
    return cut, rate


def sources_md(rows) -> str:
    lines = ["# The recordings of configs/real_multimodal.yaml", "",
             "Written by experiments/real_multimodal/recordings.py. Each recording is a 30 s excerpt "
             "(44.1 kHz, mono: 0.5 x (song.ogg + guitar.ogg), channels averaged) of a song from a Debian "
             "package; excerpts of CC BY-SA 3.0 works are adaptations under the same licence, credit "
             "Muldjord (www.muldjord.com); the Sectoid songs carry the MIT (Expat) notice in "
             "licences/. The lyrics are public-domain texts, not the songs' own (none are published): "
             "the text model reads words that are not sung.", "",
             "| id | title | artist, licence | package | excerpt | vocals | lyrics (public domain) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r[0]} | {r[3]} | {r[4]} | {r[1]} {PACKAGES[r[1]][0]} | {r[5]}-{r[5] + SECONDS} s "
                     f"| {'yes' if r[6] else 'no (instrumental)'} | {r[8]} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--root", default="/", help="where the packages are extracted already, if they are")
    args = ap.parse_args()
    out = Path(args.out)
    (out / "licences").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        roots = {p: extract(p, Path(args.root), Path(tmp)) for p in PACKAGES}
        for package, root in roots.items():
            shutil.copy(root / f"usr/share/doc/{package}/copyright", out / "licences" / f"{package}.copyright")
        shutil.copy(roots["fretsonfire-songs-muldjord"] / PACKAGES["fretsonfire-songs-muldjord"][2]
                    / "armygeddon/readme.txt", out / "licences/muldjord-readme.txt")
        rows = []
        for rec in RECORDINGS:
            ident, package, folder, *_ = rec
            audio, rate = excerpt(roots[package] / PACKAGES[package][2] / folder, rec[5])
            sf.write(out / f"{ident}.wav", audio.astype(np.float32), rate, subtype="PCM_16")
            shutil.copy(rec[7], out / f"{ident}.txt")
            rows.append(rec)
            print(f"  {ident}: {rec[3]} ({rec[4]}), {rec[5]}-{rec[5] + SECONDS} s")
    with open(out / "manifest.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "audio", "lyrics"])
        for r in rows:
            writer.writerow([r[0], f"{r[0]}.wav", f"{r[0]}.txt"])
    (out / "SOURCES.md").write_text(sources_md(rows))
    print(f"wrote {len(rows)} recordings to {out}")


if __name__ == "__main__":
    sys.exit(main())

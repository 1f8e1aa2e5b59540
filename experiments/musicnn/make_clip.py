"""Cut a 30 s clip of "Armygeddon" (Muldjord, CC BY-SA 3.0) for the musicnn parity checks.

Same recipe as tests/fixtures/frontend/make_clips.py (which cut the committed 6 s clips), only
longer: from the Debian package `fretsonfire-songs-muldjord` (2.dfsg-2.1), decode `song.ogg`
(backing stem) and `guitar.ogg` (guitar stem), sum them, take the mean of the two channels,
cut 46 s .. 76 s with 1 s of margin either side at 44.1 kHz, resample with
scipy.signal.resample_poly (160/441 for 16 kHz; Kaiser window), trim the margins, scale the
peak to 0.9 full scale and write mono 16-bit WAV:

    models/musicnn/armygeddon_30s.wav       16 kHz   (musicnn's rate: no resampling anywhere)
    models/musicnn/armygeddon_30s_44k.wav   44.1 kHz (the plain mix, for resampling paths)
    models/musicnn/armygeddon_30s_m11db.wav 16 kHz, the first clip at -11 dB (peak 0.254): under
                                            numpy >= 2, musicnn's float16 features overflow in
                                            6 of its 10 patches and stay finite in 4 (check.py)

Run from the repository root:

    .venv-musicnn/bin/python experiments/musicnn/make_clip.py            # apt-get downloads the deb
    .venv-musicnn/bin/python experiments/musicnn/make_clip.py --root fof  # already extracted (dpkg -x)
    .venv-musicnn/bin/python experiments/musicnn/make_clip.py --root /    # package installed

The clips are adaptations of a CC BY-SA 3.0 work (see tests/fixtures/frontend/README.md for the
attribution); they land in the git-ignored models/ folder and are not committed.

Sanity check: the first 6 s of the 16 kHz clip must equal the committed fixture
tests/fixtures/frontend/music_16k.flac (same cut start, same resampler) up to the peak gain and
16-bit rounding; the script asserts it.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

DEB_NAME = "fretsonfire-songs-muldjord"
DEB_SHA256 = "b37adf8b08b46d4182c283e760e4f40622d83674e05803960ea1e11a92600c7b"
SONG_DIR = "usr/share/games/fretsonfire/data/songs/muldjord/armygeddon"
STEM_SHA256 = {
    "song.ogg": "3912690dfdf264df3c0e6ce4057e1ef2617d159e3fe873172762ebe3b8a15dd2",
    "guitar.ogg": "c54dc1cae8427c427b4c39fd3d5f743e6fdd85d31252db89641e8e9e8021a8bd",
}
SOURCE_RATE = 44100
MARGIN_S = 1
OFFSET_S = 46
LENGTH_S = 30
PEAK = 0.9
QUIET_DB = -11.0
# (output file, target rate, up, down)
CLIPS = [
    ("armygeddon_30s.wav", 16000, 160, 441),
    ("armygeddon_30s_44k.wav", 44100, 1, 1),
]
FIXTURE = "tests/fixtures/frontend/music_16k.flac"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fetch_deb(tmp):
    """apt-get download the package into tmp and extract it there; returns the root."""
    subprocess.run(["apt-get", "download", DEB_NAME], cwd=tmp, check=True)
    debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    deb = os.path.join(tmp, debs[0])
    digest = sha256(deb)
    if digest != DEB_SHA256:
        print(f"warning: {debs[0]} sha256 {digest} differs from {DEB_SHA256} (other version?)")
    root = os.path.join(tmp, "root")
    subprocess.run(["dpkg", "-x", deb, root], check=True)
    return root


def cut(mix, rate, up, down):
    start = (OFFSET_S - MARGIN_S) * SOURCE_RATE
    stop = (OFFSET_S + LENGTH_S + MARGIN_S) * SOURCE_RATE
    y = mix[start:stop]
    if (up, down) != (1, 1):
        y = resample_poly(y, up, down)
    y = y[MARGIN_S * rate : MARGIN_S * rate + LENGTH_S * rate]
    assert len(y) == LENGTH_S * rate
    y = y * (PEAK / np.abs(y).max())
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)


def write_checked(path, pcm, rate):
    sf.write(path, pcm, rate, format="WAV", subtype="PCM_16")
    back, back_rate = sf.read(path, dtype="int16")
    assert back_rate == rate and np.array_equal(back, pcm)
    print(f"{path}: {rate} Hz, {len(pcm)} samples ({LENGTH_S} s from {OFFSET_S} s), "
          f"peak {np.abs(pcm).max() / 32768:.3f}, sha256 {sha256(path)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", help="filesystem root holding the package's files "
                    "(default: apt-get download + dpkg -x into a temporary directory)")
    ap.add_argument("--out", default="models/musicnn", help="output folder")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.root if args.root else fetch_deb(tmp)
        tracks = []
        for name in ("song.ogg", "guitar.ogg"):
            path = os.path.join(root, SONG_DIR, name)
            digest = sha256(path)
            if digest != STEM_SHA256[name]:
                print(f"warning: {name} sha256 {digest} differs from {STEM_SHA256[name]}")
            data, rate = sf.read(path, dtype="float64", always_2d=True)
            assert rate == SOURCE_RATE, (path, rate)
            print(f"{name}: {len(data)} frames, {data.shape[1]} ch, sha256 {digest}")
            tracks.append(data)
    n = min(len(t) for t in tracks)
    mix = (tracks[0][:n] + tracks[1][:n]).mean(axis=1)

    for out_name, rate, up, down in CLIPS:
        pcm = cut(mix, rate, up, down)
        out = os.path.join(args.out, out_name)
        write_checked(out, pcm, rate)
        if rate == 16000 and os.path.exists(FIXTURE):
            fix, fix_rate = sf.read(FIXTURE, dtype="float64")
            assert fix_rate == rate
            head = pcm[: len(fix)].astype(np.float64) / 32768.0
            gain = np.dot(head, fix) / np.dot(head, head)
            err = np.abs(head * gain - fix).max()
            print(f"  first {len(fix) / rate:.0f} s vs {FIXTURE}: gain {gain:.6f}, "
                  f"max |diff| after gain {err:.2e} ({err * 32768:.2f} LSB)")
            assert err < 4 / 32768, "the clip does not start where the fixture does"
            quiet = pcm.astype(np.float64) * 10 ** (QUIET_DB / 20)
            quiet = np.clip(np.round(quiet), -32768, 32767).astype(np.int16)
            write_checked(os.path.join(args.out, "armygeddon_30s_m11db.wav"), quiet, rate)


if __name__ == "__main__":
    sys.exit(main())

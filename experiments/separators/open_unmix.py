"""Open-Unmix (the MusicLIME paper's separator: vocals, drums, bass, other) as an ONNX separator.

    .venv-export/bin/python experiments/separators/open_unmix.py OUT_DIR [--weights DIR] \\
        [--musiclime BINARY]

openunmix 1.3.0 (PyPI, MIT; installed with --no-deps, experiments/separators/requirements.txt)
holds the architecture; its trained weights are downloaded at run time, which this machine
cannot do. Without `--weights`, the four targets are built at their real size (`umxhq`: 2049
bins, 2 channels, hidden 512, 3 bidirectional LSTM layers, max_bin 1487) with seeded random
weights, which proves the path; with `--weights DIR` (the `vocals.pth`, `drums.pth`, `bass.pth`,
`other.pth` state dicts of a downloaded model, e.g. umxhq) the same export carries them.

What is where:
* in Rust (musiclime): the STFT (periodic Hann 4096, hop 1024, centred, **reflect** padding, as
  openunmix's TorchSTFT), the magnitudes of all 2049 bins, the whole song as one chunk (the
  LSTMs read every frame);
* in ONNX (`openunmix.onnx`): `magnitude` [batch, 2 channels, 2049 bins, frames] → `estimates`
  [batch, 4 stems, 2 channels, 2049, frames], each target's magnitude estimate;
* in Rust: each estimate with the mixture's phase (`mask: {kind: mixture_phase}`), then
  Open-Unmix's multichannel Wiener filter (`wiener: {iterations: N, window_frames: 300}`, its
  `filtering.wiener` on windows of 300 frames, as its Separator runs it), the inverse STFT, the
  mean of the channels.

`--niter N` (default 1, the default of openunmix's `predict.separate`, which the MusicLIME
authors called; 0: no Wiener filter, `Separator(niter=0)`) sets the iterations. The parity
check compares musiclime's stems with `openunmix.model.Separator(..., niter=N, softmask=False)`
on the same recording, as SDR per stem (the Separator filters in float32, musiclime in float64).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graph_metadata import stamp_sample_rate  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STEMS = ["vocals", "drums", "bass", "other"]
N_FFT, HOP, BINS, CHANNELS, MAX_BIN, HIDDEN = 4096, 1024, 2049, 2, 1487, 512
CLIP = REPO / "tests/fixtures/frontend/music_44k.flac"


def targets(weights: Path | None):
    from openunmix.model import OpenUnmix

    torch.manual_seed(0)
    models = []
    for stem in STEMS:
        model = OpenUnmix(nb_bins=BINS, nb_channels=CHANNELS, hidden_size=HIDDEN, max_bin=MAX_BIN)
        if weights is not None:
            model.load_state_dict(torch.load(weights / f"{stem}.pth", map_location="cpu"))
        models.append(model.eval())
    return models


class Estimates(nn.Module):
    def __init__(self, models):
        super().__init__()
        self.models = nn.ModuleList(models)

    def forward(self, magnitude):  # [batch, channels, bins, frames]
        return torch.stack([m(magnitude) for m in self.models], dim=1)


def sdr(reference, estimate):
    n = min(len(reference), len(estimate))
    r, e = reference[:n].astype(np.float64), estimate[:n].astype(np.float64)
    return float(10 * np.log10(np.sum(r ** 2) / max(np.sum((r - e) ** 2), 1e-30)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--weights", type=Path, help="a directory of vocals/drums/bass/other .pth")
    ap.add_argument("--musiclime", help="the musiclime binary: also compare its stems (SDR)")
    ap.add_argument("--niter", type=int, default=1,
                    help="Wiener (EM) iterations, as openunmix's niter (default 1; 0: none)")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    models = targets(args.weights)
    # The dynamo exporter: openunmix's forward reads its frame count from `x.data.shape`,
    # which the TorchScript exporter would freeze into the graph.
    example = torch.rand(1, CHANNELS, BINS, 20)
    frames = torch.export.Dim("frames", min=2)
    torch.onnx.export(Estimates(models).eval(), (example,), str(out / "openunmix.onnx"),
                      input_names=["magnitude"], output_names=["estimates"], opset_version=18,
                      dynamo=True, dynamic_shapes={"magnitude": {3: frames}}, external_data=False)
    stamp_sample_rate(out / "openunmix.onnx", 44100)
    weights = "random (seed 0)" if args.weights is None else str(args.weights)
    mask = "{kind: mixture_phase}" if args.niter == 0 else (
        f"{{kind: mixture_phase, wiener: {{iterations: {args.niter}, window_frames: 300}}}}")
    (out / "separator.yaml").write_text(f"""\
# Open-Unmix (umxhq architecture; weights: {weights}), written by
# experiments/separators/open_unmix.py; do not edit by hand. Wiener iterations: {args.niter}.
kind: spectrogram_mask
onnx: openunmix.onnx
stems: [{', '.join(STEMS)}]
sample_rate: 44100
channels: {CHANNELS}
stft: {{n_fft: {N_FFT}, hop: {HOP}, bins: {BINS}, pad: reflect}}
layout: bins_frames   # [batch, channels, bins, frames]; no `frames`: the song is one chunk
input: magnitude
output: estimates
mask: {mask}
""")
    import onnxruntime as ort

    probe = torch.rand(1, CHANNELS, BINS, 37) * 3
    with torch.no_grad():
        want = Estimates(models)(probe).numpy()
    got = ort.InferenceSession(str(out / "openunmix.onnx")).run(None, {"magnitude": probe.numpy()})[0]
    report = {"weights": weights, "wiener_iterations": args.niter,
              "onnx_vs_pytorch_max_abs": float(np.abs(got - want).max())}
    print(f"ONNX vs PyTorch estimates: max |diff| {report['onnx_vs_pytorch_max_abs']:.2e}")
    if args.musiclime:
        import soundfile as sf
        from openunmix.model import Separator

        stems_dir = out / "example_stems"
        subprocess.run([args.musiclime, "separate", "--audio", str(CLIP), "--separator",
                        str(out / "separator.yaml"), "--out", str(stems_dir), "--write-mixture"],
                       check=True)
        mono, rate = sf.read(stems_dir / "mixture.wav", dtype="float32")
        separator = Separator(dict(zip(STEMS, models)), niter=args.niter, softmask=False,
                              residual=False, n_fft=N_FFT, n_hop=HOP, nb_channels=CHANNELS).eval()
        with torch.no_grad():
            audio = torch.from_numpy(np.stack([mono, mono]))[None]
            reference = separator(audio)[0].mean(dim=1).numpy()  # [stems, samples]
        report["recording"] = str(CLIP.relative_to(REPO))
        report["sdr_db"] = {}
        for s, name in enumerate(STEMS):
            mine, _ = sf.read(stems_dir / f"{name}.wav", dtype="float32")
            report["sdr_db"][name] = sdr(reference[s], mine)
            print(f"  {name}: SDR {report['sdr_db'][name]:.1f} dB (musiclime vs openunmix "
                  f"Separator, niter={args.niter})")
    (out / "parity.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

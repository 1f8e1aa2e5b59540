"""The export's settings by name: presets, class lists, and where every setting came from.

A paper user must not get a different model by forgetting one opt-in. `"preset": "paper"` in
musiclime_export.json (or `export.py --preset paper`) sets what the MusicLIME authors used
(`Data/Dataset Related.ipynb` in their repository): their lyric cleaning, 256 tokens, and the
AST features computed at 44.1 kHz. `"classes": "paper-genre"` / `"paper-emotion"` name their
class lists in their order (scikit-learn LabelEncoder order, i.e. alphabetical; read from the
class-name table of the published sums, tests/fixtures/paper_aggregates/class_names.csv).

Precedence, per setting: a key written in musiclime_export.json, else the preset, else the
default. `resolve` returns the values with their sources, and the export prints them all.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLASS_TABLE = REPO / "tests/fixtures/paper_aggregates/class_names.csv"

# What the authors used (their `DataPreprocessor` and `ASTFeatureExtractor(..., sampling_rate=44100)`).
PRESETS = {
    "paper": {
        "lyrics_normalization": "paper",
        "max_length": 256,
        "feature_extractor.sampling_rate": 44100,
    },
}

# Class-list presets: the published sums file whose classes they are (Music4All, 9 classes each).
CLASS_PRESETS = {
    "paper-genre": "audio_genre_feature.csv",
    "paper-emotion": "emotion_audio_feature.csv",
}

# The settings a preset may set, with their defaults (None: the default is computed later from
# the model, e.g. max_length from the text encoder's positions).
DEFAULTS = {
    "lyrics_normalization": "none",
    "max_length": None,
    "feature_extractor.sampling_rate": None,
}


class SettingsError(Exception):
    """A preset or class list that does not exist, or two presets that disagree."""


@dataclass
class Settings:
    """Resolved settings: `values[key]` and where each came from (`sources[key]`)."""

    values: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    preset: str | None = None

    def get(self, key):
        return self.values.get(key)

    def lines(self) -> list[str]:
        """One line per setting: name, value, source."""
        width = max(len(k) for k in self.values)
        out = []
        for key in sorted(self.values):
            value = self.values[key]
            shown = "(from the model)" if value is None else value
            if isinstance(value, list):
                shown = f"[{', '.join(value)}]"
            out.append(f"{key:<{width}}  {shown}  ({self.sources[key]})")
        return out


def paper_classes(name: str) -> list[str]:
    """The authors' class names for `name` (a key of CLASS_PRESETS), in their label order."""
    if name not in CLASS_PRESETS:
        raise SettingsError(f"unknown class list {name!r}; class presets: "
                            f"{', '.join(sorted(CLASS_PRESETS))} (or list the names)")
    file = CLASS_PRESETS[name]
    try:
        with CLASS_TABLE.open() as f:
            rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))
                    if r["file"] == file]
    except OSError as e:
        raise SettingsError(f"class preset {name!r}: cannot read {CLASS_TABLE}: {e}")
    rows.sort(key=lambda r: int(r["label"]))
    if not rows or [int(r["label"]) for r in rows] != list(range(len(rows))):
        raise SettingsError(f"class preset {name!r}: {CLASS_TABLE} does not list labels "
                            f"0..n-1 for {file}")
    return [r["name"] for r in rows]


def _flatten(spec: dict) -> dict:
    """The json's presettable keys, `feature_extractor.x` for the extractor overrides."""
    flat = {k: spec[k] for k in ("lyrics_normalization", "max_length") if k in spec}
    for key, value in (spec.get("feature_extractor") or {}).items():
        flat[f"feature_extractor.{key}"] = value
    return flat


def resolve(spec: dict, spec_path: Path, flag_preset: str | None) -> Settings:
    """The settings of a checkpoint's json `spec` with `--preset` (`flag_preset`)."""
    json_preset = spec.get("preset")
    for where, name in (("--preset", flag_preset), (f"{spec_path}: `preset`", json_preset)):
        if name is not None and name not in PRESETS:
            raise SettingsError(f"{where}: unknown preset {name!r}; presets: "
                                f"{', '.join(sorted(PRESETS))}")
    if json_preset is not None and flag_preset is not None and json_preset != flag_preset:
        raise SettingsError(f"{spec_path}: `preset` is {json_preset!r} but --preset is "
                            f"{flag_preset!r}; give one")
    preset = flag_preset or json_preset
    from_preset = PRESETS.get(preset, {})
    given = _flatten(spec)
    settings = Settings(preset=preset)
    for key in sorted(set(DEFAULTS) | set(given)):
        if key in given:
            settings.values[key] = given[key]
            overrides = key in from_preset and from_preset[key] != given[key]
            settings.sources[key] = (f"{spec_path.name}, overriding preset {preset}'s "
                                     f"{from_preset[key]!r}" if overrides else spec_path.name)
        elif key in from_preset:
            settings.values[key] = from_preset[key]
            settings.sources[key] = f"preset {preset}"
        else:
            settings.values[key] = DEFAULTS[key]
            settings.sources[key] = "default"
    classes = spec.get("classes")
    if isinstance(classes, str):
        settings.values["classes"] = paper_classes(classes)
        settings.sources["classes"] = f"class preset {classes}"
    else:
        settings.values["classes"] = classes
        settings.sources["classes"] = spec_path.name
    return settings

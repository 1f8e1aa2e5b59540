"""`export.py --model-class module:NAME`: your own PyTorch class in the parity check.

export.py exports its own definition of the paper's classifiers (model.py). A class of yours with
the same parameter names but another forward (text-first concatenation, mean pooling, RoBERTa's
pooler) would load the same state_dict without error, and the export would silently compute our
forward instead of yours. With `--model-class`, export.py

1. imports NAME from `module` (a dotted module importable from the working directory or the
   checkpoint directory, or a path to a `.py` file);
2. builds it: NAME is called with `model_class_args` from musiclime_export.json (a JSON object;
   default: `num_labels` / `num_classes` = the number of classes when NAME takes such a
   parameter). While it is built, transformers' `from_pretrained` of any model class returns
   a model built from the checkpoint's own `audio` / `text` config.json (no download, random
   weights): a class whose `__init__` calls `ASTModel.from_pretrained("MIT/...")`, as the
   authors' does, is built offline, and the state_dict then sets every weight;
3. loads the checkpoint's state_dict into it (strict: a missing or unexpected key ends the
   export, exit 2, naming them);
4. runs it on the parity cases (`model(fbank, input_ids, attention_mask)` for late fusion,
   `model(fbank)` for audio, `model(input_ids, attention_mask)` for lyrics; a tensor, a
   `.logits`, a dict with `logits`, or a tuple whose first item is the logits) and compares its
   probabilities with the exported graphs' (exit 3 beyond the tolerance, naming the case and
   class).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np
import torch


# Words in a `from_pretrained` name that point at a config, by its model_type.
NAME_HINTS = {"audio-spectrogram-transformer": ["ast", "audio"], "roberta": ["roberta", "text"]}


class UserClassError(Exception):
    """`code` is the exit status: 2 for an unusable class, 3 for outputs that differ."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _load_file(path: Path, target: str):
    """The module in file `path`, under a name of its own (so that it cannot be confused with
    export.py's own modules, `model`, `settings`, ...), registered while it runs."""
    name = f"musiclime_user_class_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserClassError(f"--model-class {target!r}: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def import_name(target: str, checkpoint: Path):
    """NAME from `module:NAME`: a path to a .py file, or a module found in the working
    directory or the checkpoint directory (a top-level name), or an installed dotted module."""
    module_name, sep, name = target.rpartition(":")
    if not sep or not module_name or not name:
        raise UserClassError(f"--model-class {target!r}: write MODULE:NAME (e.g. "
                             "mymodels:AudioTextClassificationModel or path/to/file.py:Name)")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_absolute() and not path.exists():
                path = checkpoint / path
            if not path.is_file():
                raise FileNotFoundError(f"no file {path}")
            module = _load_file(path, target)
        else:
            found = None
            if "." not in module_name:
                found = importlib.machinery.PathFinder.find_spec(
                    module_name, [str(Path.cwd()), str(checkpoint)])
            if found is not None and found.origin and found.origin.endswith(".py"):
                module = _load_file(Path(found.origin), target)
            else:
                module = importlib.import_module(module_name)
    except UserClassError:
        raise
    except Exception as e:  # the user's module may fail in any way while importing
        raise UserClassError(f"--model-class {target!r}: cannot import {module_name}: "
                             f"{type(e).__name__}: {e}")
    if not hasattr(module, name):
        raise UserClassError(f"--model-class {target!r}: {module_name} has no `{name}`")
    return getattr(module, name)


@contextlib.contextmanager
def offline_pretrained(configs: list):
    """transformers' `from_pretrained` (model classes and Auto classes) builds from the
    matching config in `configs` instead of downloading."""
    import transformers
    from transformers.models.auto.auto_factory import _BaseAutoModelClass

    def matching(cls, auto: bool, name: str):
        fits = [c for c in configs
                if (type(c) in cls._model_mapping if auto else isinstance(c, cls.config_class))]
        if len(fits) > 1:  # e.g. AutoModel: the name says which ("MIT/ast-...", "roberta-large")
            fits = [c for c in fits
                    if any(a in name.lower() for a in NAME_HINTS.get(c.model_type, [c.model_type]))]
        if len(fits) == 1:
            return fits[0]
        names = [type(c).__name__ for c in configs]
        raise UserClassError(f"your class calls {cls.__name__}.from_pretrained({name!r}), and "
                             f"the checkpoint's configs ({names}) do not say which it means")

    def build(cls, auto, name, kwargs):
        found = matching(cls, auto, str(name))
        config = found.__class__.from_dict(found.to_dict())
        for key in ("num_labels", "id2label", "label2id"):
            if key in kwargs:
                setattr(config, key, kwargs[key])
        config._attn_implementation = "eager"
        return cls.from_config(config) if auto else cls(config)

    # Every Auto class has its own copy of `from_pretrained` (transformers' auto_class_update),
    # so each is patched, with the descriptors themselves saved (attribute access would give
    # bound methods) and put back.
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    patched = [(transformers.PreTrainedModel, False)]
    patched += [(cls, True) for cls in subclasses(_BaseAutoModelClass)
                if "from_pretrained" in cls.__dict__]
    if "from_pretrained" in _BaseAutoModelClass.__dict__:
        patched.append((_BaseAutoModelClass, True))
    saved = [(cls, cls.__dict__["from_pretrained"]) for cls, _ in patched]
    for cls, auto in patched:
        cls.from_pretrained = classmethod(
            lambda c, name="", *a, _auto=auto, **kw: build(c, _auto, name, kw))
    try:
        yield
    finally:
        for cls, original in saved:
            cls.from_pretrained = original


def build(target: str, checkpoint: Path, args: dict | None, num_classes: int, configs: list):
    """The user's model, built offline with `args` (or the number of classes)."""
    factory = import_name(target, checkpoint)
    if args is None:
        args = {}
        try:
            params = inspect.signature(factory).parameters
        except (TypeError, ValueError):
            params = {}
        for key in ("num_labels", "num_classes"):
            if key in params:
                args[key] = num_classes
    try:
        with offline_pretrained(configs):
            model = factory(**args)
    except UserClassError:
        raise
    except Exception as e:
        raise UserClassError(f"--model-class {target!r}: building it with {args} failed: "
                             f"{type(e).__name__}: {e} (set `model_class_args` in "
                             "musiclime_export.json to the arguments it takes)")
    if not isinstance(model, torch.nn.Module):
        raise UserClassError(f"--model-class {target!r} gave a {type(model).__name__}, not a "
                             "torch.nn.Module")
    return model


def load_weights(model: torch.nn.Module, state: dict, target: str):
    """The checkpoint's state_dict, strictly (position-id buffers aside)."""
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shapes that differ
        raise UserClassError(f"--model-class {target!r}: the checkpoint's state_dict does not "
                             f"fit your class: {str(e).splitlines()[-1].strip()}")
    missing = [k for k in result.missing_keys if not k.endswith("position_ids")]
    unexpected = [k for k in result.unexpected_keys if not k.endswith("position_ids")]
    if missing or unexpected:
        raise UserClassError(f"--model-class {target!r}: the checkpoint's state_dict does not "
                             f"fit your class: missing {missing[:6]}"
                             f"{' …' if len(missing) > 6 else ''}, unexpected {unexpected[:6]}"
                             f"{' …' if len(unexpected) > 6 else ''}")
    model.eval()


def logits_of(output) -> torch.Tensor:
    """The logits in whatever a forward returns."""
    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "logits"):
        return output.logits
    if isinstance(output, dict) and "logits" in output:
        return output["logits"]
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise UserClassError(f"your class's forward returned a {type(output).__name__}; return the "
                         "logits (a tensor, .logits, a dict with `logits`, or a tuple starting "
                         "with them)")


@torch.no_grad()
def run(model: torch.nn.Module, architecture: str, feeds: dict) -> np.ndarray:
    """The user's logits on the parity inputs, [batch, classes] float64."""
    t = {k: torch.from_numpy(v) for k, v in feeds.items()}
    if architecture == "late_fusion":
        out = model(t["fbank"], t["input_ids"], t["attention_mask"])
    elif architecture == "ast":
        out = model(t["fbank"])
    else:
        out = model(t["input_ids"], t["attention_mask"])
    return logits_of(out).double().numpy()

"""What an exported separator graph says about itself: the sample rate it expects, in the ONNX
metadata (`sample_rate`), which musiclime checks against the separator.yaml when it loads it."""

from pathlib import Path


def stamp_sample_rate(path: Path, rate: int):
    import onnx

    model = onnx.load(str(path))
    for prop in list(model.metadata_props):
        if prop.key == "sample_rate":
            model.metadata_props.remove(prop)
    model.metadata_props.add(key="sample_rate", value=str(rate))
    onnx.save(model, str(path))

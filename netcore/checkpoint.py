"""Training state files: a model's parameters and its optimiser's velocities, to continue later.

Unlike save_model (which rebuilds a model from its file), these files are loaded into a model
and an optimiser that already exist, so training can go on with other optimiser settings (a
new learning rate or momentum, as population-based training does) from exactly the weights
and momentum where it stopped.
"""

import zipfile
from typing import Any

import numpy as np

from ._types import PathLike
from .network import MLP
from .optim import SGD

STATE_FORMAT = "netcore-training-state-1"


def save_training_state(path: PathLike, model: MLP, optimizer: SGD) -> None:
    """Write the model's parameters and the optimiser's velocities (none without momentum)."""
    # Any: numpy's savez stub takes **kwds as arrays but also has a bool keyword, allow_pickle.
    arrays: dict[str, Any] = {f"param_{i}": p for i, p in enumerate(model.params)}
    optimizer.settle_velocities()
    arrays.update({f"velocity_{i}": v for i, v in enumerate(optimizer.velocities)})
    with open(path, "wb") as f:  # a file object keeps numpy from appending ".npz" to the name
        np.savez(f, format=np.array(STATE_FORMAT), **arrays)


def load_training_state(path: PathLike, model: MLP, optimizer: SGD) -> None:
    """Copy a saved state into `model` and `optimizer` (same layer shapes, else ValueError).

    Saved velocities are loaded when the optimiser has momentum; an optimiser with momentum
    given a state saved without it starts from zero velocities, and one without momentum
    ignores saved velocities.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != STATE_FORMAT:
                raise ValueError(f"format {str(data['format'])!r}")
            params = [data[f"param_{i}"] for i in range(len(model.params))]
            velocities = [data[f"velocity_{i}"] for i in range(len(model.params))
                          if f"velocity_{i}" in data]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a netcore training state for {model!r} ({error})") from None
    model.set_params(params)
    optimizer.settle_velocities()
    for v, saved in zip(optimizer.velocities, velocities):
        if v.shape != saved.shape:
            raise ValueError(f"{path}: velocity shape {saved.shape} does not match {v.shape}")
        np.copyto(v, saved, casting="same_kind")

"""Data sets for the hyperparameter search and for netcore's tests.

Every loader returns a :class:`Dataset`: features are float32 arrays of shape
(n_samples, n_features); classification labels are int64 in 0..k-1 with the
class names kept in ``class_names``; regression targets are float32.

Loaders are reached by name through :func:`load_dataset`::

    load_dataset("digits")
    load_dataset("fashion-mnist", n_train=10_000, seed=0)
    load_dataset("csv", path="iris.csv", label="species")

One module per job: ``base`` (the Dataset container and the registry), ``builtin``
(digits, xor, gender, synthetic, regression), ``files`` (csv, npz), ``idx`` (the IDX
format), ``mnist`` (MNIST and Fashion-MNIST: where their files are looked for, downloads)
and ``splits`` (splits, scaling, subsets).

To add a data set, write one module whose loader uses ``@register_dataset("name")`` and
import it below: the imports fill the registry, in the order ``hpsearch datasets`` lists.
"""

from . import builtin, files, mnist  # noqa: F401  (importing them registers their loaders)
from .base import (
    TASKS,
    Dataset,
    DatasetLocation,
    DownloadError,
    available_datasets,
    dataset_loader,
    dataset_locations,
    load_dataset,
    register_dataset,
)
from .builtin import load_digits, load_gender, load_regression, load_synthetic, load_xor
from .files import load_csv, load_npz
from .idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx
from .mnist import load_fashion_mnist, load_mnist
from .splits import (
    SCALING_METHODS,
    Scaling,
    Splits,
    scale_splits,
    split_dataset,
    stratified_subset,
    whole_data_splits,
)

__all__ = [
    "Dataset",
    "DatasetLocation",
    "DownloadError",
    "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC",
    "Scaling",
    "Splits",
    "SCALING_METHODS",
    "TASKS",
    "available_datasets",
    "dataset_loader",
    "dataset_locations",
    "load_csv",
    "whole_data_splits",
    "register_dataset",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_gender",
    "load_mnist",
    "load_npz",
    "load_regression",
    "load_synthetic",
    "load_xor",
    "read_idx",
    "scale_splits",
    "split_dataset",
    "stratified_subset",
]

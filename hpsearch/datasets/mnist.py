"""MNIST and Fashion-MNIST: their sources, where their IDX files are found or
downloaded, and their loaders.

Where the MNIST-style IDX files are looked for, in order:

1. the ``data_dir`` option (authoritative: if it lacks the files, that is an
   error, nothing else is tried);
2. ``$HPSEARCH_DATA/<name>``, then ``$HPSEARCH_DATA`` itself;
3. for fashion-mnist, Debian's ``dataset-fashion-mnist`` package location;
4. the cache, ``$XDG_CACHE_HOME/hpsearch/<name>`` (default
   ``~/.cache/hpsearch/<name>``);
5. otherwise the files are downloaded into the cache, each checked against
   the MD5 that torchvision lists for it (``download=False`` turns this off).

Note that MNIST and Fashion-MNIST use the same file names, so a directory
holding one of them directly (not in a ``<name>`` subdirectory) cannot tell
which it is; prefer ``$HPSEARCH_DATA/mnist`` and ``$HPSEARCH_DATA/fashion-mnist``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import Dataset, DownloadError, errors_naming, register_dataset
from .idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx
from .splits import stratified_subset


@dataclass(frozen=True)
class IdxSource:
    """Where one IDX data set comes from: download address (and the variable that
    replaces it), the MD5s of its .gz files, its class names and system directories."""

    name: str
    url: str
    url_env: str
    md5: dict[str, str]
    class_names: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()


IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# MD5s of the .gz files as distributed, from torchvision's datasets/mnist.py
# (Fashion-MNIST's also appear in its README). Debian's dataset-fashion-mnist
# package does NOT match them byte for byte: its build strips the gzip header's
# file name and resets the mtime to the package date; the compressed data are
# unchanged (putting back the original header reproduces these MD5s, see the
# tests). That is why only downloads are checked, not files found on disk.
SOURCES = {
    "mnist": IdxSource(
        name="mnist",
        url="https://ossci-datasets.s3.amazonaws.com/mnist/",
        url_env="HPSEARCH_MNIST_URL",
        md5={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        class_names=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": IdxSource(
        name="fashion-mnist",
        url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        url_env="HPSEARCH_FASHION_MNIST_URL",
        md5={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
}

DOWNLOAD_TIMEOUT_S = 60.0


def _cache_dir(name: str) -> Path:
    # Per the XDG spec an empty or relative XDG_CACHE_HOME is ignored.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "hpsearch" / name


def _idx_paths_in(directory: Path) -> dict[str, Path] | None:
    """The four IDX files in ``directory`` (each raw or .gz), or None if any is missing."""
    found = {}
    for key, base in IDX_FILES.items():
        for candidate in (directory / f"{base}.gz", directory / base):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def _candidate_dirs(source: IdxSource) -> list[Path]:
    """Where to look for ``source``'s files, in order (without an explicit data_dir)."""
    dirs = []
    env = os.environ.get("HPSEARCH_DATA", "")
    if env:
        # The per-name subdirectory first: MNIST and Fashion-MNIST share file
        # names, so files directly in $HPSEARCH_DATA could be either.
        dirs += [Path(env) / source.name, Path(env)]
    dirs += [Path(d) for d in source.system_dirs]
    dirs.append(_cache_dir(source.name))
    return dirs


def _find_idx_files(source: IdxSource) -> dict[str, Path] | None:
    for directory in _candidate_dirs(source):
        found = _idx_paths_in(directory)
        if found is not None:
            return found
    return None


def _download_url(source: IdxSource, url: str | None) -> str:
    base = url or os.environ.get(source.url_env) or source.url
    return base if base.endswith("/") else base + "/"


def _download_file(url: str, target: Path, md5: str) -> None:
    """Fetch ``url`` to ``target``, renaming into place only once the MD5 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name in the same directory, so the final rename is atomic and
    # an interrupted or bad download never looks like a usable file.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise DownloadError(
                f"checksum mismatch for {url}: md5 {digest.hexdigest()}, expected {md5}; "
                f"the file was not saved to {target.parent}"
            )
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _download_idx_files(source: IdxSource, url: str | None) -> dict[str, Path]:
    cache = _cache_dir(source.name)
    base_url = _download_url(source, url)
    for base in IDX_FILES.values():
        filename = f"{base}.gz"
        if (cache / filename).is_file() or (cache / base).is_file():
            continue  # kept from an earlier, partly successful download
        file_url = base_url + filename
        try:
            _download_file(file_url, cache / filename, source.md5[filename])
        except (OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
            reason = getattr(exc, "reason", None) or exc
            raise DownloadError(
                f"cannot download {source.name} from {file_url} ({reason}); put the four IDX files "
                f"({', '.join(f'{b}.gz' for b in IDX_FILES.values())}) in {cache} or in a directory "
                f"named by HPSEARCH_DATA (or pass data_dir=...), "
                f"or set {source.url_env} to a reachable mirror"
            ) from None
    found = _idx_paths_in(cache)
    assert found is not None, "all four files were just downloaded"
    return found


def _locate_idx_files(
    source: IdxSource, data_dir: str | os.PathLike | None, url: str | None, download: bool
) -> dict[str, Path]:
    if data_dir is not None:
        found = _idx_paths_in(Path(data_dir))
        if found is None:
            missing = [b for b in IDX_FILES.values() if not (Path(data_dir) / b).is_file()
                       and not (Path(data_dir) / f"{b}.gz").is_file()]
            raise FileNotFoundError(
                f"{source.name}: data_dir {data_dir} lacks {', '.join(missing)} (raw or .gz)"
            )
        return found
    found = _find_idx_files(source)
    if found is not None:
        return found
    if not download:
        where = ", ".join(str(d) for d in _candidate_dirs(source))
        raise FileNotFoundError(
            f"{source.name}: IDX files not found (looked in {where}) and download=False; "
            f"put them in one of those directories or set HPSEARCH_DATA"
        )
    return _download_idx_files(source, url)


def _where(name: str) -> Callable[[], tuple[bool, str]]:
    """(available, where) for `hpsearch datasets`: found files, else the download address.

    SOURCES[name] is read at call time so that a replaced source (tests) is the one shown."""

    def where() -> tuple[bool, str]:
        source = SOURCES[name]
        found = _find_idx_files(source)
        if found is not None:
            return True, str(found["train_images"].parent)
        return False, f"download on first use ({_download_url(source, None)})"

    return where


def _check_labels(labels: np.ndarray, n_classes: int, path: Path) -> None:
    bad = labels >= n_classes
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(
            f"{path}: labels out of range: {int(bad.sum())} labels outside 0..{n_classes - 1}, "
            f"first {int(labels[first])} at index {first}"
        )


def _load_idx_dataset(
    name: str,
    data_dir: str | os.PathLike | None,
    n_train: int | None,
    n_test: int | None,
    seed: int,
    url: str | None,
    download: bool,
) -> Dataset:
    source = SOURCES[name]
    paths = _locate_idx_files(source, data_dir, url, download)
    with errors_naming(paths["train_images"].parent, name):
        return _read_idx_dataset(source, paths, n_train, n_test, seed)


def _read_idx_dataset(
    source: IdxSource, paths: dict[str, Path], n_train: int | None, n_test: int | None, seed: int
) -> Dataset:
    name = source.name
    k = len(source.class_names)
    arrays = {}
    for split in ("train", "test"):
        images = read_idx(paths[f"{split}_images"], expected_magic=IDX_IMAGES_MAGIC)
        labels = read_idx(paths[f"{split}_labels"], expected_magic=IDX_LABELS_MAGIC)
        if len(images) != len(labels):
            raise ValueError(
                f"{name}: {paths[f'{split}_images']} has {len(images)} images but "
                f"{paths[f'{split}_labels']} has {len(labels)} labels"
            )
        _check_labels(labels, k, paths[f"{split}_labels"])
        limit = n_train if split == "train" else n_test
        if limit is not None:
            # Subsetting before the float32 conversion keeps peak memory low.
            keep = stratified_subset(labels, limit, seed)
            images, labels = images[keep], labels[keep]
        image_shape = images.shape[1:]
        arrays[split] = (images.reshape(len(images), -1), labels)
    rows, cols = image_shape
    # Same naming as scikit-learn's digits, row-major like the flattened images.
    feature_names = tuple(f"pixel_{r}_{c}" for r in range(rows) for c in range(cols))
    return Dataset(
        name=name,
        X=arrays["train"][0],
        y=arrays["train"][1],
        task="classification",
        class_names=source.class_names,
        feature_names=feature_names,
        X_test=arrays["test"][0],
        y_test=arrays["test"][1],
        value_range=(0.0, 255.0),
        source=str(paths["train_images"].parent),
    )


@register_dataset("fashion-mnist", where=_where("fashion-mnist"))
def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    url: str | None = None,
    download: bool = True,
) -> Dataset:
    """Fashion-MNIST: 60000 + 10000 28x28 images, raw pixels 0..255 as float32, 10 classes.

    ``n_train``/``n_test`` take a seeded stratified subset of either split.
    ``url`` (or ``$HPSEARCH_FASHION_MNIST_URL``) replaces the download address.
    See the module docstring for where the files are looked for.
    """
    return _load_idx_dataset("fashion-mnist", data_dir, n_train, n_test, seed, url, download)


@register_dataset("mnist", where=_where("mnist"))
def load_mnist(
    data_dir: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    url: str | None = None,
    download: bool = True,
) -> Dataset:
    """MNIST digits: 60000 + 10000 28x28 images, raw pixels 0..255 as float32.

    Downloads by default from the ossci-datasets mirror that torchvision uses
    (yann.lecun.com is unreliable); ``url`` or ``$HPSEARCH_MNIST_URL``
    replaces it. Other options as for :func:`load_fashion_mnist`.
    """
    return _load_idx_dataset("mnist", data_dir, n_train, n_test, seed, url, download)

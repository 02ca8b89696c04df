"""TOML experiment configs: read, validate, and turn into a search.

One TOML file describes one experiment (see docs/CONFIG.md for every key)::

    config = load_config("experiments/digits.toml")   # every problem is a ConfigError
    search = build_search(config, n_jobs=2)             # loads and splits the data
    result = search.run()

Everything is checked before anything runs, and every problem is a :class:`ConfigError`
whose message is one line starting with the key path, e.g.
``search.elitism: must be < population (16), got 16``. The effective config, every default
filled in, is ``config.to_dict()``; ``hpsearch.results.write_config(path, config.to_dict())``
writes it as TOML.

Relative paths (``out_dir``, ``dataset.path``, ``dataset.data_dir``) are relative to the
current working directory, not to the config file, so that ``runs/digits`` means the same
thing whether the config lives in ``experiments/`` or in a results directory.

One module per job: ``schema`` (the Config dataclass and which table holds what),
``parse`` (reading TOML and checking it key by key), ``dataset`` (the [dataset] table
against the data set's loader), ``build`` (overrides, the data, the search object).
"""

from .build import apply_overrides, build_search, load_splits
from .parse import load_config, parse_config
from .schema import SCALINGS, Config, ConfigError, DatasetConfig, ObjectiveConfig

__all__ = [
    "SCALINGS",
    "Config",
    "ConfigError",
    "DatasetConfig",
    "ObjectiveConfig",
    "apply_overrides",
    "build_search",
    "load_config",
    "load_splits",
    "parse_config",
]

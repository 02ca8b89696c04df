"""The numeric environment: what decides the last bits of a training, recorded and pinned.

NumPy and OpenBLAS pick their kernels when they load, from the CPU they find: on a CPU with
AVX-512 OpenBLAS runs its SkylakeX matrix products and NumPy its AVX-512 loops (exp, tanh, ...),
on one with AVX2 only the Haswell ones. The kernels round differently in the last bit, SGD
amplifies that bit over an epoch, and the search then takes another path. So a training's
numbers are identical wherever the kernels match, and only there.

Two modes (``Parallel(numerics=...)``, ``[parallel] numerics`` in a config)::

    native    every process computes with its own CPU's fastest kernels (the default)
    portable  every process computes with the same kernels on any x86-64 CPU with AVX2 and
              FMA (x86-64-v3: Intel from Haswell, 2013; AMD from Zen): OpenBLAS's Haswell
              kernels (OPENBLAS_CORETYPE), NumPy's loops up to AVX2 (NPY_DISABLE_CPU_FEATURES),
              MKL's AVX2 code path (MKL_CBWR). Both libraries read these variables once, when
              they load, so they are set in the environment of every worker process before it
              starts (loky's, a local Dask cluster's), and `hpsearch run`/`resume` restart
              themselves with them; `hpsearch numerics --export` prints them for the workers
              of a Dask cluster of your own and for a Python session (set before it starts).

Every training reports the environment it ran in (a record of a few strings), so a search
knows which kernels computed its trials: best.json and the checkpoint's header record it, and
a resume or a cluster whose environments differ says so in one line.
"""

from __future__ import annotations

import functools
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from .errors import UserError

__all__ = ["MODES", "EnvironmentMismatch", "NumericEnvironment", "check_mode", "current", "describe_all",
           "export_lines", "portable_env", "portable_unavailable", "restart_pinned", "runs_portable_kernels"]

MODES = ("native", "portable")
# OpenBLAS's kernel family for x86-64-v3 CPUs (threadpoolctl reports it as the architecture).
PORTABLE_OPENBLAS_CORE = "Haswell"
# NumPy's SIMD targets that x86-64-v3 CPUs have: every dispatch target beyond them is disabled.
X86_64_V3 = frozenset({"SSE", "SSE2", "SSE3", "SSSE3", "SSE41", "POPCNT", "SSE42", "AVX", "F16C", "FMA3",
                       "AVX2", "X86_V2", "X86_V3"})
# The environment variables that choose kernels (all read when a library loads).
KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "MKL_CBWR")


def _numpy_simd() -> tuple[dict[str, bool], list[str], list[str]]:
    """NumPy's CPU features, baseline and dispatch targets (NumPy 1.26 and 2.x)."""
    import importlib

    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # NumPy 1.x
        umath = importlib.import_module("numpy.core._multiarray_umath")
    return dict(umath.__cpu_features__), list(umath.__cpu_baseline__), list(umath.__cpu_dispatch__)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class EnvironmentMismatch(UserError):
    """A training ran with other kernels than the search asked for."""


@dataclass(frozen=True)
class NumericEnvironment:
    """The numeric libraries of one process and the kernels they chose.

    numpy: NumPy's version; blas: the BLAS library and version ("openblas 0.3.31");
    blas_kernel: the kernel family it runs ("Haswell", "SkylakeX"; "" where unknown);
    simd: NumPy's baseline and the dispatch targets it uses, as one string ("X86_V2 +X86_V3
    +X86_V4"); cpu: the processor's name; machine: the architecture ("x86_64");
    avx2_fma, avx512: what the CPU offers; pinned: the kernel variables hold the portable
    values. The first four decide a training's numbers (``fingerprint``)."""

    numpy: str
    blas: str
    blas_kernel: str
    simd: str
    cpu: str
    machine: str
    avx2_fma: bool
    avx512: bool
    pinned: bool

    def fingerprint(self) -> tuple[str, str, str, str]:
        """What must match for two processes to compute the same bits."""
        return (self.numpy, self.blas, self.blas_kernel, self.simd)

    def describe(self) -> str:
        """One line, e.g. "NumPy 2.4.6, openblas 0.3.31 SkylakeX kernels, SIMD X86_V2 +X86_V3
        +X86_V4 (native)"."""
        kernel = f" {self.blas_kernel} kernels" if self.blas_kernel else ""
        mode = "portable" if self.pinned else "native"
        return f"NumPy {self.numpy}, {self.blas}{kernel}, SIMD {self.simd} ({mode})"

    def record(self) -> dict[str, object]:
        """A plain dict for the checkpoint header and the trials' outcomes: the fields, the
        fingerprint (as a list) and the description."""
        return {**asdict(self), "fingerprint": list(self.fingerprint()), "description": self.describe()}

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> NumericEnvironment:
        return cls(**{name: record[name] for name in cls.__dataclass_fields__})  # type: ignore[arg-type]


@functools.cache
def current() -> NumericEnvironment:
    """This process's numeric environment (fixed once NumPy has loaded, so read once)."""
    import scipy.linalg  # noqa: F401  netcore's fused SGD calls SciPy's own OpenBLAS copy
    from threadpoolctl import threadpool_info

    features, baseline, dispatch = _numpy_simd()
    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    # NumPy's BLAS first, then SciPy's: netcore computes with both, so both decide the bits.
    blas.sort(key=lambda info: "numpy" not in str(info.get("filepath", "")))
    library = " + ".join(f"{info.get('internal_api', '?')} {info.get('version') or ''}".strip()
                         for info in blas) or "none"
    kernel = "/".join(dict.fromkeys(str(info.get("architecture") or "") for info in blas)) if blas else ""
    simd = " ".join([*baseline, *(f"+{name}" for name in dispatch if features.get(name))])
    pinned = all(os.environ.get(name) == value for name, value in portable_env().items()) \
        if portable_unavailable() is None else False
    return NumericEnvironment(numpy=np.__version__, blas=library, blas_kernel=kernel, simd=simd,
                              cpu=_cpu_model(), machine=platform.machine(),
                              avx2_fma=bool(features.get("AVX2") and features.get("FMA3")),
                              avx512=bool(features.get("AVX512F")), pinned=pinned)


def portable_unavailable() -> str | None:
    """Why this machine cannot compute with the portable kernels, or None if it can."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return f"numerics 'portable' pins x86-64 kernels; this machine is {platform.machine()}"
    features, _, _ = _numpy_simd()
    if not (features.get("AVX2") and features.get("FMA3")):
        return "numerics 'portable' needs a CPU with AVX2 and FMA (x86-64-v3); this one has not"
    return None


@functools.cache
def portable_env() -> dict[str, str]:
    """The kernel variables of the portable mode, for this NumPy (its dispatch targets beyond
    x86-64-v3 are disabled; the same list on every machine with the same NumPy)."""
    _, _, dispatch = _numpy_simd()
    disabled = [name for name in dispatch if name not in X86_64_V3]
    env = {"OPENBLAS_CORETYPE": PORTABLE_OPENBLAS_CORE, "MKL_CBWR": "AVX2"}
    if disabled:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disabled)
    return env


def check_mode(mode: str) -> dict[str, str]:
    """The variables worker processes need for `mode` ({} for native); a UserError naming
    the problem where the portable mode cannot run here."""
    if mode == "native":
        return {}
    if mode != "portable":
        raise UserError(f"numerics: expected one of {', '.join(map(repr, MODES))}, got {mode!r}")
    reason = portable_unavailable()
    if reason:
        raise UserError(reason)
    return portable_env()


def runs_portable_kernels(environment: NumericEnvironment) -> bool:
    """Pinned, and OpenBLAS honoured the core type (one built without DYNAMIC_ARCH ignores it)."""
    return environment.pinned and (not environment.blas.startswith("openblas")
                                   or environment.blas_kernel == PORTABLE_OPENBLAS_CORE)


# Set in the environment of a command restarted with the portable variables (no second restart).
RESTARTED = "HPSEARCH_NUMERICS_RESTARTED"


def restart_pinned(argv: list[str]) -> None:
    """Replace this process by `python -m hpsearch *argv` with the portable variables set,
    unless it runs the portable kernels already (then return). Called by `hpsearch run` and
    `resume` before anything is written, so the search's own arithmetic is pinned too."""
    import sys

    env = check_mode("portable")
    if runs_portable_kernels(current()):
        return
    if os.environ.get(RESTARTED):
        raise UserError(f"numerics 'portable': restarted with {', '.join(env)} set, this process still "
                         f"computes with {current().describe()} (an OpenBLAS built without DYNAMIC_ARCH?)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "hpsearch", *argv], {**os.environ, **env, RESTARTED: "1"})


def export_lines(env: Mapping[str, str]) -> str:
    """Shell lines that set `env` (for `eval "$(hpsearch numerics --export)"`)."""
    import shlex

    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in env.items())


def describe_all(records: Iterable[Mapping[str, object]]) -> list[str]:
    """The distinct environments among `records`, one line each, in first-seen order."""
    lines: list[str] = []
    for record in records:
        line = NumericEnvironment.from_record(record).describe()
        if line not in lines:
            lines.append(line)
    return lines

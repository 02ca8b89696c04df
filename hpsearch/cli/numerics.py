"""hpsearch numerics: the numeric environment, and the portable kernels' variables."""

from __future__ import annotations

import argparse

HELP = "print the numeric environment: NumPy, BLAS and their kernels"
DESCRIPTION = ("Print this machine's numeric environment (what decides a training's last bits) and whether the "
               "portable kernels ([parallel] numerics = 'portable') can run here.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export", action="store_true",
                        help="print shell lines that set the portable kernels' variables, for the workers of a "
                             "Dask cluster and for Python sessions: eval \"$(hpsearch numerics --export)\"")


def run(args: argparse.Namespace) -> None:
    from .. import numerics

    if args.export:
        print(numerics.export_lines(numerics.check_mode("portable")))
        return
    environment = numerics.current()
    print(f"this process: {environment.describe()}")
    print(f"cpu: {environment.cpu} ({environment.machine}; AVX2+FMA {'yes' if environment.avx2_fma else 'no'}, "
          f"AVX-512 {'yes' if environment.avx512 else 'no'})")
    reason = numerics.portable_unavailable()
    available = ", ".join(f"{name}={value}" for name, value in numerics.portable_env().items())
    print(f"portable kernels: {reason}" if reason else f"portable kernels: available ({available})")

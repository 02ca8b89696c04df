"""The numeric environment: recorded, pinned in workers (numerics = "portable"), and named
wherever it could change results: a mixed set of workers, a resume on another machine."""

import json
import logging
import os
import subprocess
import sys

import pytest

from hpsearch import GeneticSearch, numerics
from hpsearch.checkpoint import Journal, dumps
from hpsearch.evaluate import Evaluator
from hpsearch.space import FloatGene, Space

PORTABLE = numerics.portable_unavailable()
needs_portable = pytest.mark.skipif(PORTABLE is not None, reason=str(PORTABLE))


def report_environment(params, seed):
    """A trial that reports the numeric environment of the process it ran in."""
    environment = numerics.current()
    return {"fitness": params["x"], "kernel": environment.blas_kernel, "simd": environment.simd,
            "pinned": environment.pinned}


def plain(params, seed):
    return {"fitness": -(params["x"] - 0.3) * (params["x"] - 0.3)}


def space():
    return Space([FloatGene("x", 0.0, 1.0)])


def test_the_environment_is_described_and_round_trips_as_a_record():
    environment = numerics.current()
    assert environment.numpy and environment.blas and environment.simd
    record = environment.record()
    assert json.loads(json.dumps(record)) == record
    assert numerics.NumericEnvironment.from_record(record) == environment
    assert record["fingerprint"] == list(environment.fingerprint())
    assert environment.describe().startswith(f"NumPy {environment.numpy}, ")


@needs_portable
def test_portable_variables_pin_openblas_and_numpy_to_x86_64_v3():
    env = numerics.portable_env()
    assert env["OPENBLAS_CORETYPE"] == "Haswell"
    disabled = set(env.get("NPY_DISABLE_CPU_FEATURES", "").split())
    assert not disabled & numerics.X86_64_V3
    code = ("from hpsearch import numerics; import json; e = numerics.current(); "
            "print(json.dumps([e.pinned, e.blas_kernel, e.simd, numerics.runs_portable_kernels(e)]))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True,
                          text=True, check=True)
    pinned, kernel, simd, portable = json.loads(done.stdout)
    assert pinned and portable
    assert kernel in ("Haswell", "")  # "" where the BLAS reports no kernel (not OpenBLAS)
    assert not any(f"+{name}" in simd.split() for name in disabled)


def test_an_unknown_mode_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"^numerics: expected one of 'native', 'portable', got 'fast'$"):
        numerics.check_mode("fast")
    with pytest.raises(ValueError, match="numerics: unknown value 'fast'"):
        GeneticSearch(space(), plain, numerics="fast")


@needs_portable
def test_portable_workers_compute_with_the_portable_kernels_native_ones_with_this_process():
    tasks = [({"x": 0.5}, 1), ({"x": 0.25}, 2)]
    with Evaluator(report_environment, n_jobs=2, numerics="portable") as evaluator:
        outcomes = evaluator.evaluate(tasks)
    assert all(o["pinned"] for o in outcomes)
    assert {o["kernel"] for o in outcomes} <= {"Haswell", ""}
    assert all("numerics" not in o for o in outcomes)  # taken off, kept by the evaluator
    assert [numerics.NumericEnvironment.from_record(r).pinned for r in evaluator.environments] == [True]
    with Evaluator(report_environment, n_jobs=2, numerics="native") as evaluator:
        outcomes = evaluator.evaluate(tasks)
    here = numerics.current()
    assert {(o["kernel"], o["simd"], o["pinned"]) for o in outcomes} == {(here.blas_kernel, here.simd, here.pinned)}


@needs_portable
def test_portable_trials_in_an_unpinned_process_are_refused():
    if numerics.current().pinned:
        pytest.skip("this process was started with the portable variables")
    for options in ({"backend": "threading", "n_jobs": 2}, {"in_process": True, "n_jobs": 1}):
        with pytest.raises(ValueError, match=r"numerics: 'portable' with trials in this process"):
            Evaluator(plain, numerics="portable", **options)


def _record(**changes):
    fields = {**numerics.current().record(), **changes}
    environment = numerics.NumericEnvironment.from_record(fields)
    return environment.record()


@needs_portable
def test_a_training_with_other_kernels_stops_a_portable_search():
    evaluator = Evaluator(plain, n_jobs=1, numerics="portable")
    outcome = {"status": "ok", "fitness": 1.0, "worker": "tcp://10.0.0.7:4000",
               "numerics": _record(pinned=False, blas_kernel="SkylakeX")}
    with pytest.raises(numerics.EnvironmentMismatch,
                       match=r"a training on tcp://10\.0\.0\.7:4000 ran with .*SkylakeX kernels"):
        evaluator._check_environment(outcome)


def test_trainings_in_two_environments_warn_once(caplog):
    evaluator = Evaluator(plain, n_jobs=1)
    with caplog.at_level(logging.WARNING, logger="hpsearch"):
        for kernel in ("Haswell", "SkylakeX", "SkylakeX", "Zen"):
            evaluator._check_environment({"status": "ok", "numerics": _record(blas_kernel=kernel)})
    warnings = [r.getMessage() for r in caplog.records if "numeric environments" in r.getMessage()]
    assert len(warnings) == 1 and "Haswell kernels" in warnings[0] and "SkylakeX kernels" in warnings[0]
    assert len(evaluator.environments) == 3


def test_best_json_and_the_checkpoint_header_record_the_environment(tmp_path):
    GeneticSearch(space(), plain, seed=0, population=4, generations=1, n_jobs=1, out_dir=tmp_path,
                  quiet=True).run()
    best = json.loads((tmp_path / "best.json").read_text())
    here = numerics.current().describe()
    assert best["numerics"] == {"search": here, "trainings": [here]}
    header = Journal(tmp_path).header()
    assert header["numerics"]["fingerprint"] == list(numerics.current().fingerprint())


def _edit_header(out_dir, edit):
    path = out_dir / "checkpoint.jsonl"
    first, rest = path.read_bytes().split(b"\n", 1)
    header = Journal(out_dir).header()
    edit(header)
    path.write_bytes(dumps(header) + rest)


def test_a_resume_in_another_numeric_environment_warns_in_one_line(tmp_path, caplog):
    def search(**options):
        return GeneticSearch(space(), plain, seed=0, population=4, n_jobs=1, out_dir=tmp_path, quiet=True,
                             **options)

    search(generations=1).run()
    _edit_header(tmp_path, lambda h: h["numerics"].update(fingerprint=["1.0", "openblas 0.1", "Atom", "X86_V2"],
                                                          description="NumPy 1.0, openblas 0.1 Atom kernels"))
    with caplog.at_level(logging.WARNING, logger="hpsearch"):
        search(generations=2).run()
    lines = [r.getMessage() for r in caplog.records
             if r.levelno >= logging.WARNING and r.getMessage().startswith("numerics:")]
    assert lines == [f"numerics: this run started with NumPy 1.0, openblas 0.1 Atom kernels and resumes with "
                     f"{numerics.current().describe()}: the trainings from now on may differ in the last bits "
                     f"from an uninterrupted run (numerics = 'portable' avoids that)"]
    caplog.clear()
    _edit_header(tmp_path, lambda h: h["numerics"].update(fingerprint=list(numerics.current().fingerprint())))
    with caplog.at_level(logging.WARNING, logger="hpsearch"):
        search(generations=3).run()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.getMessage().startswith("numerics:")]


def test_numerics_command_prints_the_environment_and_the_variables():
    done = subprocess.run([sys.executable, "-m", "hpsearch", "numerics"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith(f"this process: {numerics.current().describe()}\n")
    assert "portable kernels: " in done.stdout
    if PORTABLE is None:
        done = subprocess.run([sys.executable, "-m", "hpsearch", "numerics", "--export"], capture_output=True,
                              text=True, check=True)
        assert "export OPENBLAS_CORETYPE=Haswell" in done.stdout.splitlines()


@needs_portable
def test_hpsearch_run_restarts_itself_with_the_portable_kernels(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text('seed = 0\n[dataset]\nname = "digits"\n[search]\npopulation = 4\ngenerations = 0\n'
                      '[parallel]\nn_jobs = 1\nnumerics = "portable"\n'
                      '[space]\nhidden_sizes = [16]\nepochs = 2\nbatch_size = 64\n')
    env = {name: value for name, value in os.environ.items() if name not in numerics.KERNEL_VARIABLES}
    done = subprocess.run([sys.executable, "-m", "hpsearch", "run", str(config), "--out", str(tmp_path / "out"),
                           "--quiet", "--no-plots"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    assert best["numerics"]["search"].endswith("(portable)")
    assert best["numerics"]["trainings"] == [best["numerics"]["search"]]


@needs_portable
def test_a_local_dask_cluster_starts_its_workers_with_the_portable_kernels(loopback):
    pytest.importorskip("distributed")
    with Evaluator(report_environment, n_jobs=2, backend="dask", numerics="portable") as evaluator:
        outcomes = evaluator.evaluate([({"x": 0.5}, 1), ({"x": 0.25}, 2), ({"x": 0.75}, 3)])
    assert all(o["pinned"] for o in outcomes)
    assert {o["kernel"] for o in outcomes} <= {"Haswell", ""}

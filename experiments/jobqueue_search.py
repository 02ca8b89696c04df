"""Run a search on SLURM or PBS nodes: dask-jobqueue submits the Dask workers as batch jobs.

    pip install -e '.[dask]' dask-jobqueue
    python experiments/jobqueue_search.py experiments/fashion_mnist.toml --system slurm \
        --jobs 4 --cores 32 --memory 64GB --walltime 04:00:00 --queue compute

Each job is one node running one single-threaded worker process per core (--cores); the
scheduler and the search run in this process (a login node, or a small job of its own), so
the nodes need the same Python environment at the same path (a shared file system). The
search starts as soon as the first worker connects, uses more as they join, and the jobs are
cancelled when it ends. Resume with the same command, or with
`hpsearch resume DIR --scheduler tcp://...` against any other cluster.
"""

import argparse

from dask_jobqueue import PBSCluster, SLURMCluster

from hpsearch.cli import print_summary
from hpsearch.config import ConfigError, build_search, load_config


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", metavar="CONFIG.toml")
    parser.add_argument("--system", choices=("slurm", "pbs"), default="slurm")
    parser.add_argument("--jobs", type=int, default=2, help="batch jobs (nodes) to submit")
    parser.add_argument("--cores", type=int, default=16, help="cores per node: one worker each")
    parser.add_argument("--memory", default="32GB", help="memory per node")
    parser.add_argument("--walltime", default="02:00:00")
    parser.add_argument("--queue", default=None, help="partition (SLURM) or queue (PBS)")
    parser.add_argument("--account", default=None)
    parser.add_argument("--dry-run", action="store_true",
                        help="print the batch job script that would be submitted, submit nothing")
    args = parser.parse_args()
    try:  # a bad config fails here, before any job is submitted
        config = load_config(args.config)
    except ConfigError as error:
        parser.error(str(error))

    cluster_class = {"slurm": SLURMCluster, "pbs": PBSCluster}[args.system]
    # processes == cores: single-threaded workers, and hpsearch caps BLAS at 1 thread each.
    with cluster_class(cores=args.cores, processes=args.cores, memory=args.memory,
                       walltime=args.walltime, queue=args.queue, account=args.account) as cluster:
        print(f"scheduler {cluster.scheduler_address}; job script:\n{cluster.job_script()}")
        if args.dry_run:
            return
        cluster.scale(jobs=args.jobs)
        search = build_search(config, backend="dask", scheduler=cluster.scheduler_address)
        print_summary(search.run())


if __name__ == "__main__":
    main()

"""Featurize batches on Dask distributed: a local cluster of processes, or an existing one.

The client ships work descriptions (the imagery's paths and metadata, the method, a batch's
tile ids), never pixels: each worker opens the files itself (so paths must be readable from
every worker: a shared file system or URLs). The filter bank is scattered once to every worker.
At most two batches per worker thread are in flight; results are consumed with `as_completed`
as they finish, so the client holds a bounded number of batches of vectors whatever the number
of tiles, and writes each one to the database itself: the database sees one writer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from itertools import islice

from asm_db.errors import AsmdbError

IN_FLIGHT_PER_THREAD = 2


def _client(workers: int | None, scheduler: str | None):
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise AsmdbError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
        silence_logs=logging.ERROR,  # the user sees the progress bar, not the cluster's log
    )
    return Client(cluster), cluster


def dask_batches(
    works: Iterable, bank, *, workers: int | None = None, scheduler: str | None = None
) -> Iterator:
    """Results of `compute_batch` for each work, in the order they finish."""
    from dask.distributed import as_completed

    from asm_db.imagery.featurize import compute_batch

    client, cluster = _client(workers, scheduler)
    try:
        threads = max(sum(client.nthreads().values()), 1)
        bank_future = client.scatter(bank, broadcast=True) if bank is not None else None
        works = iter(works)
        pending = as_completed(
            client.submit(compute_batch, work, bank_future, pure=False)
            for work in islice(works, IN_FLIGHT_PER_THREAD * threads)
        )
        for future in pending:
            result = future.result()
            future.release()
            for work in islice(works, 1):
                pending.add(client.submit(compute_batch, work, bank_future, pure=False))
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dask_map(
    function, works: Iterable, *, workers: int | None = None, scheduler: str | None = None
) -> Iterator:
    """`function(work)` for each work on Dask, in the order they finish, at most two per worker
    thread in flight (so the works, like the results, are held a few at a time)."""
    from dask.distributed import as_completed

    client, cluster = _client(workers, scheduler)
    try:
        threads = max(sum(client.nthreads().values()), 1)
        works = iter(works)
        pending = as_completed(
            client.submit(function, work, pure=False)
            for work in islice(works, IN_FLIGHT_PER_THREAD * threads)
        )
        for future in pending:
            result = future.result()
            future.release()
            for work in islice(works, 1):
                pending.add(client.submit(function, work, pure=False))
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

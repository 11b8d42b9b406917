"""Fast bulk loading for the demo seed and the benchmark: batch writes from a few threads.

DynamoDB Local takes a few hundred items a second per connection, so writers run in parallel.
Only for loading data that was computed in memory (rollups included); requests use ingestion.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable

from pynamodb.models import Model

BATCH_SIZE = 25  # DynamoDB's BatchWriteItem limit


def _chunks(items: Iterable[Model], size: int) -> Iterable[list[Model]]:
    chunk: list[Model] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_chunk(client, table_name: str, chunk: list[Model]) -> None:
    requests = {table_name: [{"PutRequest": {"Item": item.serialize()}} for item in chunk]}
    delay = 0.05
    while requests:
        answer = client.batch_write_item(RequestItems=requests)
        requests = answer.get("UnprocessedItems") or {}
        if requests:
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def write_parallel(
    model_cls: type[Model],
    items: Iterable[Model],
    threads: int = 4,
    on_written: Callable[[int], None] | None = None,
) -> int:
    """Batch-write `items` with `threads` writers; `on_written(n)` reports progress. Returns the count."""
    client = model_cls._get_connection().connection.client
    table_name = model_cls.Meta.table_name
    work: queue.Queue = queue.Queue(maxsize=threads * 8)
    errors: list[BaseException] = []
    written = [0]
    lock = threading.Lock()

    def writer() -> None:
        while True:
            chunk = work.get()
            if chunk is None:
                return
            if errors:
                continue
            try:
                _write_chunk(client, table_name, chunk)
            except BaseException as exc:  # surfaced in the calling thread below
                errors.append(exc)
                continue
            with lock:
                written[0] += len(chunk)
            if on_written:
                on_written(len(chunk))

    workers = [threading.Thread(target=writer, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        for chunk in _chunks(items, BATCH_SIZE):
            if errors:
                break
            work.put(chunk)
    finally:
        for _ in workers:
            work.put(None)
        for worker in workers:
            worker.join()
    if errors:
        raise errors[0]
    return written[0]

"""The seed's progress: every bar counts what has been written, not what has been queued."""

import random
import threading

from dashboard.core import clock, seeding
from dashboard.dynamo import transactions


class _Bar:
    def __init__(self, total):
        self.total, self.n = total, 0

    def update(self, n=1):
        self.n += n

    def close(self):
        pass


def test_a_tables_bar_advances_only_as_its_items_land(monkeypatch):
    bars, landed, ahead = [], [0], []
    lock = threading.Lock()

    class Recording(seeding.SeedContext):
        def progress(self, iterable, description, total=None, unit="item"):
            bars.append(_Bar(total))
            return bars[-1]

    def put(model_cls, chunk):
        with lock:
            ahead.append(bars[-1].n - landed[0])
            landed[0] += len(chunk)

    monkeypatch.setattr(transactions, "batch_put", put)
    ctx = Recording(rng=random.Random(1), now=clock.now(), options={}, quiet=True)
    model = type("Model", (), {"Meta": type("Meta", (), {"table_suffix": "things"})})
    assert ctx.write_all(model, list(range(1_050))) == 1_050
    assert max(ahead) <= 0 and bars[0].n == bars[0].total == 1_050


def test_a_phase_without_a_count_says_when_it_starts_and_ends(capsys):
    ctx = seeding.SeedContext(rng=random.Random(1), now=clock.now(), options={})
    with ctx.step("monthly budgets"):
        pass
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "monthly budgets …" and lines[1].startswith("monthly budgets: done in ")

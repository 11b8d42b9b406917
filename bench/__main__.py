"""`make bench` / `python -m bench [area ...]`: run the benchmarks under bench/ and print their figures."""

import importlib
import os
import pkgutil
import sys
import time

import django


def main(selected: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    django.setup()
    from bench.harness import Bench

    names = sorted(
        m.name for m in pkgutil.iter_modules([os.path.dirname(__file__)]) if m.name.startswith("bench_")
    )
    if selected:
        names = [name for name in names if name.removeprefix("bench_") in selected]
    bench = Bench()
    try:
        for name in names:
            print(f"\n== {name.removeprefix('bench_')} ==", flush=True)
            started = time.monotonic()
            importlib.import_module(f"bench.{name}").run(bench)
            print(f"({time.monotonic() - started:.0f} s including seeding)", flush=True)
    finally:
        bench.close()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Benchmarks (``make bench``): each ``bench/bench_<name>.py`` has ``run(work_dir: Path) -> dict``."""

"""Speed and accuracy benchmarks, each a module run from the repository root: `python -m bench.speed`."""

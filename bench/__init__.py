"""Softmax Lab's benchmarks (issue #5): ``python bench/run.py [--quick] [--json] [--only NAME]``."""

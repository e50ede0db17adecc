"""Benchmarks run by ``scripts/bench``; the crash soak is also run by the tests."""

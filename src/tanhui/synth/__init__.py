"""Deterministic synthetic city (demo, tests, benchmarks): see city.py, records.py and docs/synth.md."""

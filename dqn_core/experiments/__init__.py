"""Experiments: run folders, comparing runs, sweeps (Ray Tune)."""

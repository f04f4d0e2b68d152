"""Environments: the observed env every family is played through, and observation pipelines."""

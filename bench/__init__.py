"""Benchmarks with their recorded results (see README.md); not tests."""

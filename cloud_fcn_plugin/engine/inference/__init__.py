"""Tiles, batched prediction, memory fitting, threads and the per-pixel decision."""

"""Many scenes: inputs, one scene's job, the report, Dask clusters."""

"""Many scenes: inputs, one scene's job, the report, Dask clusters.

Also what a detection command needs besides the pipeline: ``plan`` (every output
checked before any work) and ``exit_status`` (how a failure ends: one line, one code).
"""

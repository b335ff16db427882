"""Public cloud models scored on our grouped cross-validation (``scripts/compare_peers.py``).

The peer is ukis-csmask (DLR, Apache-2.0; Wieland et al. 2019, 2022), run in its own
virtual environment. Modules: ``peer`` (what the peer takes and answers), ``inputs``
(the patches read by the engine and arranged for the peer, the folds), ``worker`` (the
peer's side: numpy, onnxruntime and ukis-csmask only), ``scoring`` (its answers scored
with the cross-validation's report), ``report`` (peers.json, peers.md and the summary
lines) and ``compare`` (one comparison from the patches to the report).

Every module the script imports at its top needs numpy alone: the peer's environment
imports the script to run :func:`.worker.run_peer`, and it has neither torch nor GDAL.
"""

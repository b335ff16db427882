#!/usr/bin/env python3
"""Copy a trained checkpoint into resources/weights under a bundled model's name.

Example (after ``scripts/train.py --folds 4 ... --out runs/fullband``):
    python scripts/bundle_weights.py runs/fullband/last.safetensors fullband

The checkpoint is loaded (checksums verified) and saved again with its JSON
sidecar, so the sidecar names the new file; weights and metadata are unchanged.
Its ONNX twin (``cloudfcn_<name>.onnx``, what ONNX Runtime runs on the CPU, see
``engine/models/onnx_backend.py``) is exported beside it; that needs the ``onnx``
package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloud_fcn_plugin.engine.errors import CloudFcnError
from cloud_fcn_plugin.engine.models.checkpoints import load_checkpoint, save_checkpoint
from cloud_fcn_plugin.engine.models.choice import BUNDLED, bundled_model_path
from cloud_fcn_plugin.engine.models.onnx_backend import write_twin


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a train.py checkpoint (.safetensors)")
    parser.add_argument("name", choices=tuple(BUNDLED), help="the bundled model it becomes")
    args = parser.parse_args(argv)
    try:
        model, metadata = load_checkpoint(args.checkpoint, device="cpu")
        target = bundled_model_path(args.name)
        save_checkpoint(target, model, metadata)
        twin = write_twin(target)
    except CloudFcnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.checkpoint} -> {target} and {twin.name} (threshold {metadata.threshold:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

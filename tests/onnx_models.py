"""ONNX models for the tests: the bundled U-Net exported, and small hand-built graphs.

The ``onnx`` package writes them (metadata included), independently of the engine
code that reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"
RGBN_WEIGHTS = REPO_ROOT / "resources" / "weights" / "cloudfcn_rgbn.safetensors"


def export_bundled(folder: Path) -> Path:
    """Export the bundled 4-band U-Net with torch.onnx.export into ``folder``."""
    from cloud_fcn_plugin.engine.models.onnx_export import export_onnx

    return export_onnx(RGBN_WEIGHTS, folder / "rgbn.onnx")


def with_metadata(
    source: Path, target: Path, changes: Mapping[str, str | None]
) -> Path:
    """Copy an ONNX model with some ``cloud_fcn.*`` metadata changed (``None`` removes)."""
    import onnx

    model = onnx.load(str(source))
    props = {entry.key: entry.value for entry in model.metadata_props}
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(target))
    return target


def contract(**values: object) -> dict[str, str]:
    """A complete 4-band contract (identity normalisation), with ``values`` replaced."""
    props: dict[str, object] = {
        "bands": ["B4", "B3", "B2", "B5"],
        "mean": [0.0, 0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0, 1.0],
        "classes": ["cloud"],
        "output": "logits",
        "threshold": 0.5,
        "tile_size": 64,
        "overlap": 8,
    }
    props.update(values)
    return {
        f"cloud_fcn.{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in props.items()
    }


def pointwise_model(
    path: Path,
    weights: np.ndarray,
    props: Mapping[str, str],
    *,
    bias: np.ndarray | None = None,
    shape: tuple = ("N", 4, "H", "W"),
    out_shape: tuple | None = None,
    sigmoid: bool = False,
    stride: int = 1,
) -> Path:
    """Write a 1x1 convolution (K output channels from C bands) as an ONNX model.

    Its output is known by arithmetic: ``weights @ pixel + bias`` per pixel (then a
    sigmoid when ``sigmoid``); ``stride`` 2 halves the output's size.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    classes, channels = weights.shape
    bias = np.zeros(classes, np.float32) if bias is None else bias
    out_shape = out_shape or (shape[0], classes, shape[2], shape[3])
    nodes = [
        helper.make_node(
            "Conv", ["input", "w", "b"], ["conv" if sigmoid else "output"], strides=[stride] * 2
        )
    ]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["conv"], ["output"]))
    graph = helper.make_graph(
        nodes,
        "pointwise",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(out_shape))],
        initializer=[
            numpy_helper.from_array(weights.reshape(classes, channels, 1, 1).astype(np.float32),
                                    "w"),
            numpy_helper.from_array(bias.astype(np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def nan_on_data_model(path: Path, props: Mapping[str, str]) -> Path:
    """A 1x1 convolution then ``sqrt(-(conv^2))``: 0 on a blank tile, NaN on real pixels."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    classes = len(json.loads(props["cloud_fcn.classes"]))
    weights = np.ones((classes, 4, 1, 1), np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["conv"]),
        helper.make_node("Mul", ["conv", "conv"], ["square"]),
        helper.make_node("Neg", ["square"], ["negative"]),
        helper.make_node("Sqrt", ["negative"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "nan_on_data",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", classes, "H", "W"])],
        initializer=[numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def graph_model(path: Path, nodes: list, initializers: list, props: Mapping[str, str]) -> Path:
    """Write a graph from ``input`` (N, 4, H, W) to ``output`` (N, 1, H, W) with a contract."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes,
        "graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def _one_channel() -> tuple[list, list]:
    from onnx import helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((1, 4, 1, 1), np.float32), "w")
    return [helper.make_node("Conv", ["input", "w"], ["conv"])], [weights]


def endless_loop_model(path: Path, props: Mapping[str, str]) -> Path:
    """A ``Loop`` of 2^62 trips whose condition stays true: it never ends by itself."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = _one_channel()
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Identity", ["v_in"], ["v_out"])], "body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)],
    )  # fmt: skip
    nodes.append(helper.make_node("Loop", ["trip", "cond", "conv"], ["output"], body=body))
    inits += [numpy_helper.from_array(np.array(2**62, np.int64), "trip"),
              numpy_helper.from_array(np.array(True), "cond")]  # fmt: skip
    return graph_model(path, nodes, inits, props)


def quadratic_model(path: Path, props: Mapping[str, str]) -> Path:
    """Memory that grows with the tile area squared: (HW x 1) @ (1 x HW), reduced back."""
    from onnx import helper, numpy_helper

    nodes, inits = _one_channel()
    nodes += [
        helper.make_node("Shape", ["conv"], ["s"]),
        helper.make_node("Reshape", ["conv", "col"], ["a"]),
        helper.make_node("Reshape", ["conv", "row"], ["b"]),
        helper.make_node("MatMul", ["a", "b"], ["outer"]),
        helper.make_node("ReduceMean", ["outer"], ["red"], axes=[1], keepdims=1),
        helper.make_node("Reshape", ["red", "s"], ["output"]),
    ]
    inits += [numpy_helper.from_array(np.array([-1, 1], np.int64), "col"),
              numpy_helper.from_array(np.array([1, -1], np.int64), "row")]  # fmt: skip
    return graph_model(path, nodes, inits, props)

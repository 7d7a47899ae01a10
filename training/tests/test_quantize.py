"""training/quantize.py helpers that need neither onnxruntime nor the data."""
import onnx
from onnx import numpy_helper
from onnx import TensorProto, helper

from training import quantize as Q


def test_view_size_matches_the_runtime_rule():
    # src/analysis/machine-view.ts viewSizeFor: short side ~128, multiples of 8, >= 32.
    assert Q.view_size(1280, 720, 128) == (224, 128)
    assert Q.view_size(768, 512, 128) == (192, 128)
    assert Q.view_size(640, 480, 128) == (168, 128)
    assert Q.view_size(100, 40, 128) == (320, 128)
    assert Q.view_size(33, 33, 32) == (32, 32)


def test_untie_gather_weights_gives_the_cam_gather_its_own_copy(tmp_path):
    w = helper.make_tensor("fc.weight", TensorProto.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6])
    gemm = helper.make_node("Gemm", ["x", "fc.weight"], ["logits"], transB=1)
    gather = helper.make_node("Gather", ["fc.weight", "idx"], ["row"])
    g = helper.make_graph(
        [gemm, gather], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3]), helper.make_tensor_value_info("idx", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2]), helper.make_tensor_value_info("row", TensorProto.FLOAT, [1, 3])],
        [w],
    )
    src, dst = tmp_path / "a.onnx", tmp_path / "b.onnx"
    onnx.save(helper.make_model(g), str(src))
    Q.untie_gather_weights(src, dst)
    m = onnx.load(str(dst))
    nodes = {n.op_type: n for n in m.graph.node}
    assert nodes["Gemm"].input[1] == "fc.weight"
    assert nodes["Gather"].input[0] == "fc.weight_cam"
    inits = {i.name: numpy_helper.to_array(i).tolist() for i in m.graph.initializer}
    assert inits["fc.weight_cam"] == inits["fc.weight"]

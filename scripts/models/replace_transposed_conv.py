"""Rewrites MediaPipe's custom transposed convolution as standard ONNX operators.

The selfie segmenter upsamples with the custom TFLite operator
Convolution2DTransposeBias (NHWC, weights laid out O×kH×kW×I, stride 2),
which tf2onnx leaves as an unknown node. It is the same computation as ONNX
ConvTranspose in NCHW with weights I×O×kH×kW, so the node becomes
Transpose → ConvTranspose → Transpose. Models without it are saved unchanged.

usage: replace_transposed_conv.py IN.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

src, dst = sys.argv[1], sys.argv[2]
model = onnx.load(src)
graph = model.graph
initialisers = {t.name: t for t in graph.initializer}

positions = [i for i, n in enumerate(graph.node) if n.op_type.endswith("Convolution2DTransposeBias")]
for count, at in enumerate(reversed(positions)):
    node = graph.node[at]
    x, w, b = node.input
    y = node.output[0]
    weights = numpy_helper.to_array(initialisers[w])  # O, kH, kW, I
    kernel = np.ascontiguousarray(weights.transpose(3, 0, 1, 2)).astype(np.float32)  # I, O, kH, kW
    name = f"upsample{count}"
    graph.initializer.append(numpy_helper.from_array(kernel, f"{name}_w"))
    replacement = [
        helper.make_node("Transpose", [x], [f"{name}_in"], perm=[0, 3, 1, 2], name=f"{name}_to_nchw"),
        helper.make_node("ConvTranspose", [f"{name}_in", f"{name}_w", b], [f"{name}_out"],
                         strides=[2, 2], kernel_shape=list(weights.shape[1:3]), name=name),
        helper.make_node("Transpose", [f"{name}_out"], [y], perm=[0, 2, 3, 1], name=f"{name}_to_nhwc"),
    ]
    del graph.node[at]
    for k, n in enumerate(replacement):
        graph.node.insert(at + k, n)

# tf2onnx may declare custom domains for the unknown node: keep only those still used.
used = {n.domain for n in graph.node}
kept = [o for o in model.opset_import if o.domain in used or o.domain in ("", "ai.onnx")]
del model.opset_import[:]
model.opset_import.extend(kept)
onnx.checker.check_model(model)
onnx.save(model, dst)
print(f"replace_transposed_conv: {len(positions)} node(s) rewritten -> {dst}")

"""Replaces the DENSIFY operators of a TFLite model by the dense weights they compute.

Some MediaPipe models store weights sparse and expand them at load time with
DENSIFY, which tf2onnx cannot convert. The interpreter computes every dense
tensor once; we write those tensors into the model as constant buffers and
drop the DENSIFY operators. Models without DENSIFY are copied unchanged.

usage: materialise_sparse.py IN.tflite OUT.tflite
"""
import shutil
import sys

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

src, dst = sys.argv[1], sys.argv[2]
model = flatbuffer_utils.read_model(src)
graph = model.subgraphs[0]


def op_kind(code):
    return max(code.builtinCode, code.deprecatedBuiltinCode)


densify_codes = {i for i, c in enumerate(model.operatorCodes) if op_kind(c) == schema.BuiltinOperator.DENSIFY}
if not densify_codes:
    shutil.copyfile(src, dst)
    sys.exit(0)

# Run once on zeros with every tensor kept, so the densified weights can be read.
interpreter = tf.lite.Interpreter(
    model_path=src,
    experimental_preserve_all_tensors=True,
    experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
)
interpreter.allocate_tensors()
for detail in interpreter.get_input_details():
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
interpreter.invoke()

kept = []
removed = 0
for op in graph.operators:
    if op.opcodeIndex not in densify_codes:
        kept.append(op)
        continue
    sparse_in, dense_out = op.inputs[0], op.outputs[0]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(interpreter.get_tensor(dense_out).tobytes(), np.uint8)
    model.buffers.append(buffer)
    graph.tensors[dense_out].buffer = len(model.buffers) - 1
    # The sparse source is no longer read: point it at the empty buffer.
    graph.tensors[sparse_in].buffer = 0
    graph.tensors[sparse_in].sparsity = None
    removed += 1
graph.operators = kept
flatbuffer_utils.write_model(model, dst)
print(f"materialise_sparse: {removed} DENSIFY operator(s) replaced by their weights -> {dst}")

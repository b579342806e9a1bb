/* frontend.h: importing models from other formats into an IRModule.
 *
 * ONNX: the model's graph becomes one graph function `main` whose parameters
 * are the graph inputs that are not initializers (named as in the model,
 * sanitized to identifiers: characters other than [A-Za-z0-9_] become '_',
 * a leading digit or a Python keyword gets a prefix), whose constants are the
 * initializers, and whose result is the single graph output or a tuple of
 * them in order.  `dim_param` dimensions become symbolic int64 variables
 * (the same name gives the same variable).  Each ONNX node maps to R.* ops
 * looked up by name in the op registry; values that are known at import
 * time (shape arithmetic: Shape, Gather, Concat, Cast, ... on static shapes)
 * are folded into constants.
 *
 * Errors are statuses whose message starts with the model's path and names
 * the node, its op type and opset: "m.onnx: node 'Conv_3' (Conv, opset 13):
 * ...", "m.onnx: unsupported operator 'NonMaxSuppression' (node 'nms_1',
 * opset 13)", "m.onnx: truncated or corrupt protobuf".  On error *out is
 * NULL and nothing leaks. */
#ifndef TESSERA_FRONTEND_H
#define TESSERA_FRONTEND_H

#include "tessera/ir.h"

/* Imports the ONNX model at `path`.  On success *out is a new module (the
 * caller destroys it). */
ts_status *ts_onnx_import(const char *path, ts_module **out);

/* Imports a serialized ModelProto held in memory; `name` is used in messages
 * in place of a path. */
ts_status *ts_onnx_import_buffer(const void *data, size_t len,
                                 const char *name, ts_module **out);

#endif

/* bytecode.h: the VM's program (bytecode, function/kernel/constant tables)
 * and its serialized form, the artifact blob.  Shared by the VM compiler
 * (src/vm/, which builds a ts_bc_program and serializes it) and the runtime
 * (src/runtime/, which parses, verifies, disassembles and runs it).  This
 * header belongs to the runtime: it includes nothing of the compiler.
 *
 * ---- the machine ---------------------------------------------------------
 * A register VM.  Each function has `n_regs` registers holding values
 * (tensor: refcounted ts_ndarray; tuple: refcounted array of values; int64)
 * and `n_slots` int64 "shape slots" holding symbolic dimension values (the
 * `n` of R.Tensor((n, 4))).  Code is straight-line (no jumps): it runs from
 * the first instruction to a RET.  Parameters arrive in registers 0..n-1.
 *
 * ---- instruction layout (little-endian u32 words) --------------------------
 *
 *   word 0:   31 ............... 8 7 ...... 0
 *            | length in words    | opcode   |     length includes word 0
 *   word 1.. operands, per opcode below
 *
 * Operand notation:  R register, S slot, K constant, F kernel, G function,
 * T string (index into the string table), N count, I immediate u32,
 * DT dtype word (code | bits << 8 | lanes << 16),
 * D dim operand = 3 words (kind, lo, hi) with value = lo | hi << 32:
 *     kind IMM: the int64 value; SLOT: slot[value] (value < n_slots);
 *     BIND: (MATCH_TENSOR only) store the dimension into slot[value];
 *     ANY: (MATCH_TENSOR only) no check.
 *
 *   op            operands                             meaning
 *   MATCH_TENSOR  R T(what) DT I(ndim|ANY_RANK) D*ndim check R is a tensor of
 *                                                      that dtype (code VOID:
 *                                                      any) / rank / dims
 *   SHAPE_ARITH   S(dst) I(op) D(a) D(b)               slot = a op b (ts_bc_arith)
 *   ALLOC         R(dst) DT N(ndim) D*ndim             R = new zeroed tensor
 *   ALLOC_STORAGE R(dst) D(nbytes)                     R = storage of nbytes,
 *                                                      not initialized (a planned
 *                                                      token, kept to the
 *                                                      function's end: never
 *                                                      KILLed; taken from the
 *                                                      artifact's pool)
 *   ALLOC_TENSOR  R(dst) R(storage) DT N(ndim) D*ndim  R = tensor viewing the
 *                                                      start of storage, not
 *                                                      initialized: its producer
 *                                                      writes every element
 *                                                      (error if it does not fit)
 *   CONST         R(dst) K                             R = constant K
 *   CALL_KERNEL   F T(binding) N(in) N(out) N(scal)    kernel F(in regs, out
 *                 R*(in+out) D*scal                    regs, scalar dims)
 *   CALL_PACKED   T(fn) T(binding) N(in) N(out)        registry function
 *                 R*(in+out)                           T(in regs, out regs)
 *   CALL_FUNC     R(dst) G N(args) R*args              R = function G(args)
 *   TUPLE         R(dst) N R*n                         R = (R0, R1, ...)
 *   TUPLE_GET     R(dst) R(src) I(index)               R = src[index]
 *   MOVE          R(dst) R(src)                        R = src (shares value)
 *   KILL          R                                    release R (last use)
 *   RET           R                                    return R
 *
 * The verifier (ts_artifact_parse_blob) checks, once at load, every index
 * (register, slot, constant, kernel, function, string), every length and
 * operand count, every dim kind, and that each function's code ends with a
 * RET exactly at its end; dispatch then needs no bounds checks.  Value kinds
 * (is this register a tensor?) are dynamic, because a CALL_FUNC result's kind
 * is; dispatch checks them with one comparison.
 *
 * Memory planning (the plan-memory pass): a planned tensor is an
 * ALLOC_TENSOR view into its token's storage, which ALLOC_STORAGE makes
 * before the token's first tensor.  The compiler only plans tensors that
 * never leave the function, so views never outlive their storage.
 *
 * ---- blob layout (format version 2; 1 had no ALLOC_STORAGE/ALLOC_TENSOR) --
 *   offset 0  "TSRA"   u32 version   u64 total size   u32 n_sections(=4)
 *             u32 0    then n_sections x {u32 id, u32 0, u64 offset, u64 size}
 *   section STRINGS:   u32 n, n x {u32 len, bytes, NUL, pad to 4}
 *   section FUNCTIONS: u32 n, n x {T name, N params, params x {T name,
 *                      DT, I ndim (ANY_RANK: unknown), ndim x i64 dim (-1:
 *                      symbolic)}, N regs, N slots, slots x T name,
 *                      N code words, code}
 *   section KERNELS:   u32 n, n x {T name, N vars, N params, params x {T name,
 *                      I flags (1 buffer, 2 written), DT, I ndim,
 *                      ndim x D (IMM, SLOT = symbolic var index, ANY),
 *                      I var index of a scalar param (NO_VAR: none)}}
 *   section CONSTANTS: u32 n, n x {DT, I ndim, ndim x i64, u64 data offset
 *                      (from blob start, 64-byte aligned), u64 nbytes}
 *   constant data follows, each 64-byte aligned.
 * Everything is bounds checked; an i64 is two words, low first. */
#ifndef TESSERA_RUNTIME_BYTECODE_H
#define TESSERA_RUNTIME_BYTECODE_H

#include "tessera/runtime.h"

#define TS_BC_MAGIC "TSRA"
#define TS_BC_VERSION 2u

#define TS_BC_OPCODES(X)                                                       \
  X(MATCH_TENSOR, "match_tensor")                                              \
  X(SHAPE_ARITH, "shape_arith")                                                \
  X(ALLOC, "alloc")                                                            \
  X(ALLOC_STORAGE, "alloc_storage")                                            \
  X(ALLOC_TENSOR, "alloc_tensor")                                              \
  X(CONST, "const")                                                            \
  X(CALL_KERNEL, "call_kernel")                                                \
  X(CALL_PACKED, "call_packed")                                                \
  X(CALL_FUNC, "call_func")                                                    \
  X(TUPLE, "tuple")                                                            \
  X(TUPLE_GET, "tuple_get")                                                    \
  X(MOVE, "move")                                                              \
  X(KILL, "kill")                                                              \
  X(RET, "ret")

typedef enum ts_bc_op {
#define X(e, n) TS_BC_##e,
  TS_BC_OPCODES(X)
#undef X
      TS_BC_OP_COUNT
} ts_bc_op;

/* Dim operand kinds. */
enum { TS_BC_DIM_IMM = 0, TS_BC_DIM_SLOT = 1, TS_BC_DIM_BIND = 2,
       TS_BC_DIM_ANY = 3 };
/* SHAPE_ARITH operators. */
typedef enum ts_bc_arith {
  TS_BC_ADD, TS_BC_SUB, TS_BC_MUL, TS_BC_FLOORDIV, TS_BC_FLOORMOD,
  TS_BC_MIN, TS_BC_MAX, TS_BC_ARITH_COUNT
} ts_bc_arith;

#define TS_BC_ANY_RANK 0xFFFFFFFFu
#define TS_BC_NO_VAR 0xFFFFFFFFu
#define TS_BC_KPARAM_BUFFER 1u
#define TS_BC_KPARAM_WRITTEN 2u
#define TS_BC_MAX_CALL_DEPTH 200

static inline uint32_t ts_bc_dtype_word(ts_dtype t) {
  return (uint32_t)t.code | (uint32_t)t.bits << 8 | (uint32_t)t.lanes << 16;
}
static inline ts_dtype ts_bc_word_dtype(uint32_t w) {
  ts_dtype t = {(uint8_t)(w & 0xff), (uint8_t)(w >> 8 & 0xff),
                (uint16_t)(w >> 16)};
  return t;
}
static inline int64_t ts_bc_dim_value(const uint32_t *d) {
  return (int64_t)((uint64_t)d[1] | (uint64_t)d[2] << 32);
}

/* ---- the program in memory -------------------------------------------------
 * Built by the compiler or by the parser.  Strings and arrays are owned heap
 * copies (ts_bc_program_free frees them); constant data is borrowed: from the
 * module (compiler) or from the blob (parser), which must outlive the
 * program. */

typedef struct ts_bc_param {
  uint32_t name; /* T */
  ts_dtype dtype;
  int32_t ndim;  /* -1: unknown rank */
  int64_t *dims; /* ndim entries, -1 symbolic */
} ts_bc_param;

typedef struct ts_bc_func {
  uint32_t name;
  uint32_t n_params;
  ts_bc_param *params;
  uint32_t n_regs, n_slots;
  uint32_t *slot_names; /* T per slot ("" for temporaries) */
  uint32_t n_code;
  uint32_t *code;
} ts_bc_func;

typedef struct ts_bc_kparam {
  uint32_t name;
  uint32_t flags; /* TS_BC_KPARAM_* */
  ts_dtype dtype;
  uint32_t ndim;
  uint32_t *dims; /* ndim x 3 words (D operands: IMM, SLOT = var, ANY) */
  uint32_t var;   /* scalar param: its var index or TS_BC_NO_VAR */
} ts_bc_kparam;

typedef struct ts_bc_kernel {
  uint32_t name;
  uint32_t n_vars;
  uint32_t n_params;
  ts_bc_kparam *params;
} ts_bc_kernel;

typedef struct ts_bc_const {
  ts_dtype dtype;
  uint32_t ndim;
  int64_t shape[TS_MAX_NDIM];
  const void *data;
  uint64_t nbytes;
} ts_bc_const;

typedef struct ts_bc_program {
  uint32_t n_strings;
  char **strings;
  uint32_t n_funcs;
  ts_bc_func *funcs;
  uint32_t n_kernels;
  ts_bc_kernel *kernels;
  uint32_t n_consts;
  ts_bc_const *consts;
} ts_bc_program;

void ts_bc_program_free(ts_bc_program *p);

/* Serializes into a heap buffer (caller frees). */
ts_status *ts_bc_serialize(const ts_bc_program *p, void **out_buf,
                           size_t *out_len);

/* Parses and verifies a blob; `name` (the artifact path) prefixes every
 * message: "x.so: corrupt artifact: <what>", "x.so: artifact format version
 * 7 is not supported (expected 1)".  The result owns all its memory. */
ts_status *ts_artifact_parse_blob(const void *data, size_t len,
                                  const char *name, ts_bc_program **out);

/* Verifies the code and tables of an in-memory program (run by the parser;
 * the compiler runs it too as a self-check).  Messages say what is wrong. */
ts_status *ts_bc_verify(const ts_bc_program *p);

/* Human-readable listing of the whole program (heap string). */
char *ts_bc_disassemble(const ts_bc_program *p);

/* Calls fn(reg, is_def, ctx) for each register operand of the instruction
 * at code[0] (already verified).  Used for liveness and by the disassembler. */
void ts_bc_for_each_reg(const uint32_t *insn,
                        void (*fn)(uint32_t reg, bool is_def, void *ctx),
                        void *ctx);

const char *ts_bc_op_name(uint32_t op);

#endif

/* script.h: TVMScript text <-> IRModule.
 *
 * The reader accepts TVM's syntax of every era: the MLC course's 2022 syntax
 * (`@tvm.script.ir_module`, `T.Buffer[(128, 128), "float32"]`,
 * `R.call_tir(f, (x, w), (1, 128), dtype="float32")`), the classic syntax of
 * v0.13-v0.23 (`T.block`, `out_sinfo=`) and v0.24+ (`T.sblock`, `out_ty=`).
 * A file may hold a module class or one bare @T.prim_func / @R.function.
 * The printer writes the classic syntax; printed text parses back to a
 * structurally equal module, and print(parse(print(m))) == print(m). */
#ifndef TESSERA_SCRIPT_H
#define TESSERA_SCRIPT_H

#include "tessera/ir.h"

/* Parses TVMScript text.  `filename` appears in messages as
 * "filename:line:col: message" followed by the source line and a caret.  On
 * success *out is a verified module owned by the caller. */
ts_status *ts_script_parse(const char *text, size_t len, const char *filename,
                           ts_module **out);
/* Reads and parses a file. */
ts_status *ts_script_parse_file(const char *path, ts_module **out);

typedef enum ts_syntax {
  TS_SYNTAX_CLASSIC, /* T.block, out_sinfo= (default) */
  TS_SYNTAX_CURRENT, /* T.sblock, T.sblock_attr, out_ty= (v0.24+) */
} ts_syntax;

typedef struct ts_print_options {
  ts_syntax syntax;
} ts_print_options;

/* Prints a module as TVMScript; heap string, caller frees.  opts may be
 * NULL (classic syntax). */
char *ts_script_print(const ts_module *m, const ts_print_options *opts);
/* Prints one PrimFunc as a bare @T.prim_func (as TVM prints a function). */
char *ts_script_print_primfunc(const ts_primfunc *f,
                               const ts_print_options *opts);
/* Prints one TIR expression (for messages). Heap string. */
char *ts_script_print_expr(const ts_expr *e);
/* Prints a struct info as R.Tensor((n, 4), "float32"). Heap string. */
char *ts_script_print_sinfo(const ts_sinfo *s);

#endif

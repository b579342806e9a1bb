/* test_pyast.c: the Python-subset lexer and parser (src/script/pyast.c):
 * structure and locations of parsed TVMScript and schedule scripts,
 * expression round trips through py_expr_to_string, and exact syntax error
 * messages. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "script/pyast.h"

static ts_status *parse_str(ts_arena *a, const char *src, py_body *out) {
  return py_parse(a, src, strlen(src), "t.py", out);
}

/* Parses `src` (one expression statement) and returns its rendering. */
static char *render_expr(const char *src) {
  ts_arena *a = ts_arena_create();
  py_body body;
  ts_status *st = parse_str(a, src, &body);
  char *out = NULL;
  if (st) {
    out = ts_strdup_printf("ERROR %s", ts_status_message(st));
    ts_status_free(st);
  } else if (body.n != 1 || body.stmts[0]->kind != PY_S_EXPR) {
    out = ts_xstrdup("NOT ONE EXPRESSION");
  } else {
    out = py_expr_to_string(body.stmts[0]->u.expr.value);
  }
  ts_arena_destroy(a);
  return out;
}

/* Renders `src`, compares with `want`, and checks that the rendering parses
 * back to the same rendering. */
#define CHECK_ROUND(src, want)                                                 \
  do {                                                                         \
    char *r1 = render_expr(src);                                               \
    CHECK_EQ_STR(r1, want);                                                    \
    char *r2 = render_expr(r1);                                                \
    CHECK_EQ_STR(r2, r1);                                                      \
    free(r1);                                                                  \
    free(r2);                                                                  \
  } while (0)

/* Parses `src` and expects exactly the syntax error message `want`. */
#define CHECK_SYNTAX_ERR(src, want)                                            \
  do {                                                                         \
    ts_arena *a_ = ts_arena_create();                                          \
    py_body b_;                                                                \
    ts_status *st_ = parse_str(a_, src, &b_);                                  \
    if (!st_) {                                                                \
      CHECK_FAIL_("parse of %s succeeded, expected \"%s\"", #src, want);       \
    } else {                                                                   \
      CHECK_EQ_INT(ts_status_code_of(st_), TS_ERR_SYNTAX);                     \
      CHECK_EQ_STR(ts_status_message(st_), want);                              \
      CHECK_EQ_INT(b_.n, 0);                                                   \
      ts_status_free(st_);                                                     \
    }                                                                          \
    ts_arena_destroy(a_);                                                      \
  } while (0)

#define CHECK_LOC(loc, l, c)                                                   \
  do {                                                                         \
    CHECK_EQ_INT((loc).line, l);                                               \
    CHECK_EQ_INT((loc).col, c);                                                \
  } while (0)

static const char module_src[] =
    "# from tvm.script import ir as I\n"
    "from tvm.script import tir as T\n"
    "import numpy as np\n"
    "\n"
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def mm_relu(A: T.Buffer((128, 128), \"float32\"), B: "
    "T.Buffer((128, 128), \"float32\"),\n"
    "                C: T.Buffer((128, 128), \"float32\")):\n"
    "        T.func_attr({\"global_symbol\": \"mm_relu\", \"tir.noalias\": "
    "True})\n"
    "        Y = T.alloc_buffer((128, 128))\n"
    "        for i, j, k in T.grid(128, 128, 128):\n"
    "            with T.block(\"Y\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                T.reads(A[vi, vk], B[vk, vj])\n"
    "                T.writes(Y[vi, vj])\n"
    "                with T.init():\n"
    "                    Y[vi, vj] = T.float32(0.0)\n"
    "                Y[vi, vj] = Y[vi, vj] + A[vi, vk] * B[vk, vj]\n"
    "        for i, j in T.grid(128, 128):\n"
    "            with T.block(\"C\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                C[vi, vj] = T.max(Y[vi, vj], T.float32(0.0))\n"
    "\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((\"n\", 784), dtype=\"float32\")) -> "
    "R.Tensor((\"n\", 128), dtype=\"float32\"):\n"
    "        n = T.int64()\n"
    "        cls = Module\n"
    "        with R.dataflow():\n"
    "            lv0 = R.call_tir(cls.linear0, (x, w0), "
    "out_sinfo=R.Tensor((n, 128), dtype=\"float32\"))\n"
    "            lv1: R.Tensor((n, 128), dtype=\"float32\") = R.nn.relu(lv0)\n"
    "            R.output(lv1)\n"
    "        return lv1\n";

TEST(parses_an_ir_module) {
  ts_arena *a = ts_arena_create();
  py_body body;
  CHECK_OK(parse_str(a, module_src, &body));
  REQUIRE(body.n == 3);
  CHECK_EQ_INT(body.stmts[0]->kind, PY_S_IMPORT);
  CHECK_EQ_STR(body.stmts[0]->u.import_.module, "tvm.script");
  CHECK_LOC(body.stmts[0]->loc, 2, 1);
  CHECK_EQ_STR(body.stmts[1]->u.import_.module, "numpy");

  py_stmt *cls = body.stmts[2];
  REQUIRE(cls->kind == PY_S_CLASS);
  CHECK_EQ_STR(cls->u.class_.name, "Module");
  CHECK_LOC(cls->loc, 6, 1);
  CHECK_EQ_STR(cls->loc.file, "t.py");
  REQUIRE(cls->u.class_.n_decorators == 1);
  char *d = py_expr_to_string(cls->u.class_.decorators[0]);
  CHECK_EQ_STR(d, "I.ir_module");
  free(d);
  CHECK_LOC(cls->u.class_.decorators[0]->loc, 5, 2);
  REQUIRE(cls->u.class_.body.n == 2);

  py_stmt *f = cls->u.class_.body.stmts[0];
  REQUIRE(f->kind == PY_S_DEF);
  CHECK_EQ_STR(f->u.def.name, "mm_relu");
  CHECK_LOC(f->loc, 8, 5);
  REQUIRE(f->u.def.n_params == 3);
  CHECK_EQ_STR(f->u.def.params[2].name, "C");
  CHECK_LOC(f->u.def.params[2].loc, 9, 17);
  char *ann = py_expr_to_string(f->u.def.params[0].annotation);
  CHECK_EQ_STR(ann, "T.Buffer((128, 128), \"float32\")");
  free(ann);
  CHECK(f->u.def.returns == NULL);
  REQUIRE(f->u.def.body.n == 4);
  CHECK_EQ_INT(f->u.def.body.stmts[0]->kind, PY_S_EXPR);
  CHECK_EQ_INT(f->u.def.body.stmts[1]->kind, PY_S_ASSIGN);

  py_stmt *loop = f->u.def.body.stmts[2];
  REQUIRE(loop->kind == PY_S_FOR);
  CHECK_EQ_INT(loop->u.for_.target->kind, PY_TUPLE);
  CHECK_EQ_INT(loop->u.for_.target->u.seq.n, 3);
  CHECK_LOC(loop->u.for_.target->loc, 12, 13);
  REQUIRE(loop->u.for_.body.n == 1);
  py_stmt *blk = loop->u.for_.body.stmts[0];
  REQUIRE(blk->kind == PY_S_WITH);
  CHECK_EQ_INT(blk->u.with.n_items, 1);
  CHECK(blk->u.with.items[0].target == NULL);
  REQUIRE(blk->u.with.body.n == 5);
  py_stmt *remap = blk->u.with.body.stmts[0];
  REQUIRE(remap->kind == PY_S_ASSIGN);
  CHECK_EQ_INT(remap->u.assign.n_targets, 1);
  CHECK_EQ_INT(remap->u.assign.targets[0]->kind, PY_TUPLE);
  CHECK_LOC(remap->loc, 14, 17);
  py_stmt *upd = blk->u.with.body.stmts[4];
  REQUIRE(upd->kind == PY_S_ASSIGN);
  char *u = py_expr_to_string(upd->u.assign.value);
  CHECK_EQ_STR(u, "Y[vi, vj] + A[vi, vk] * B[vk, vj]");
  free(u);
  CHECK_EQ_INT(upd->u.assign.targets[0]->kind, PY_SUBSCRIPT);
  CHECK_EQ_INT(upd->u.assign.targets[0]->u.subscript.index->kind, PY_TUPLE);
  CHECK_LOC(upd->u.assign.value->loc, 19, 29);
  CHECK_LOC(upd->u.assign.value->u.binop.right->loc, 19, 41);

  py_stmt *g = cls->u.class_.body.stmts[1];
  REQUIRE(g->kind == PY_S_DEF);
  CHECK_EQ_STR(g->u.def.name, "main");
  REQUIRE(g->u.def.returns != NULL);
  char *r = py_expr_to_string(g->u.def.returns);
  CHECK_EQ_STR(r, "R.Tensor((\"n\", 128), dtype=\"float32\")");
  free(r);
  REQUIRE(g->u.def.body.n == 4);
  py_stmt *df = g->u.def.body.stmts[2];
  REQUIRE(df->kind == PY_S_WITH);
  REQUIRE(df->u.with.body.n == 3);
  py_stmt *call = df->u.with.body.stmts[0];
  REQUIRE(call->kind == PY_S_ASSIGN);
  py_expr *c = call->u.assign.value;
  REQUIRE(c->kind == PY_CALL);
  CHECK_EQ_INT(c->u.call.n_args, 2);
  CHECK_EQ_INT(c->u.call.n_kwargs, 1);
  CHECK_EQ_STR(c->u.call.kwargs[0].name, "out_sinfo");
  CHECK_LOC(c->u.call.kwargs[0].loc, 30, 52);
  py_stmt *an = df->u.with.body.stmts[1];
  REQUIRE(an->kind == PY_S_ANNASSIGN);
  CHECK_EQ_STR(an->u.annassign.target->u.name, "lv1");
  REQUIRE(an->u.annassign.value != NULL);
  char *v = py_expr_to_string(an->u.annassign.value);
  CHECK_EQ_STR(v, "R.nn.relu(lv0)");
  free(v);
  py_stmt *ret = g->u.def.body.stmts[3];
  CHECK_EQ_INT(ret->kind, PY_S_RETURN);
  CHECK_EQ_STR(ret->u.expr.value->u.name, "lv1");
  CHECK_LOC(ret->loc, 33, 9);
  ts_arena_destroy(a);
}

TEST(parses_schedule_scripts) {
  ts_arena *a = ts_arena_create();
  py_body body;
  const char *src =
      "b0 = sch.get_block(name=\"C\", func_name=\"main\")\n"
      "l1, l2, l3 = sch.get_loops(block=b0)\n"
      "l4, l5 = sch.split(loop=l1, factors=[None, 32], "
      "preserve_unit_iters=True)\n"
      "sch.transform_layout(b, (\"write\", 0), lambda i, j: (j // 4, i, j % "
      "4))\n"
      "sch.annotate(block_or_loop=b0, ann_key=\"meta_schedule.x\", "
      "ann_val=-1); sch.reorder(l4, l2)\n";
  CHECK_OK(parse_str(a, src, &body));
  REQUIRE(body.n == 6);
  py_stmt *s = body.stmts[2];
  REQUIRE(s->kind == PY_S_ASSIGN);
  py_expr *t = s->u.assign.targets[0];
  REQUIRE(t->kind == PY_TUPLE);
  CHECK_EQ_INT(t->u.seq.n, 2);
  CHECK_EQ_STR(t->u.seq.items[1]->u.name, "l5");
  CHECK_LOC(t->u.seq.items[1]->loc, 3, 5);
  py_expr *c = s->u.assign.value;
  REQUIRE(c->kind == PY_CALL);
  CHECK_EQ_INT(c->u.call.n_args, 0);
  REQUIRE(c->u.call.n_kwargs == 3);
  CHECK_EQ_STR(c->u.call.kwargs[1].name, "factors");
  py_expr *f = c->u.call.kwargs[1].value;
  REQUIRE(f->kind == PY_LIST && f->u.seq.n == 2);
  CHECK_EQ_INT(f->u.seq.items[0]->kind, PY_NONE);
  CHECK_EQ_INT(f->u.seq.items[1]->u.int_value, 32);
  CHECK_EQ_INT(c->u.call.kwargs[2].value->kind, PY_TRUE);

  py_expr *tl = body.stmts[3]->u.expr.value;
  REQUIRE(tl->kind == PY_CALL && tl->u.call.n_args == 3);
  py_expr *lam = tl->u.call.args[2];
  REQUIRE(lam->kind == PY_LAMBDA);
  CHECK_EQ_INT(lam->u.lambda_.n_params, 2);
  CHECK_EQ_STR(lam->u.lambda_.params[1], "j");
  CHECK_EQ_INT(lam->u.lambda_.body->kind, PY_TUPLE);
  CHECK_LOC(lam->loc, 4, 39);
  char *r = py_expr_to_string(tl);
  CHECK_EQ_STR(r, "sch.transform_layout(b, (\"write\", 0), lambda i, j: (j // "
                  "4, i, j % 4))");
  free(r);
  CHECK_EQ_INT(body.stmts[4]->u.expr.value->u.call.kwargs[2].value->kind,
               PY_UNARYOP);
  CHECK_LOC(body.stmts[5]->loc, 5, 72);
  ts_arena_destroy(a);
}

TEST(parses_statements) {
  ts_arena *a = ts_arena_create();
  py_body body;
  const char *src = "if x: pass\n"
                    "elif y:\n"
                    "    a = b = 1\n"
                    "else:\n"
                    "    x += 2; y **= 3\n"
                    "while n > 0:\n"
                    "\tn -= 1\n"
                    "\tif n == 3: break\n"
                    "\tcontinue\n"
                    "assert a, \"msg\"\n"
                    "with A() as a, B():\n"
                    "    x = f(*args, **kw)\n"
                    "def f(a, b: int = 2) -> None:\n"
                    "    return a, b\n"
                    "x = (1 +\n"
                    "     2)  # comment\n"
                    "y = 1 + \\\n"
                    "    2\n"
                    "from . import x\n"
                    "from ..a.b import (c as d, e,)\n"
                    "class A(B, C): pass\n"
                    "  \n"
                    "return\n";
  CHECK_OK(parse_str(a, src, &body));
  REQUIRE(body.n == 11);
  py_stmt *i = body.stmts[0];
  REQUIRE(i->kind == PY_S_IF);
  CHECK_EQ_INT(i->u.if_.body.n, 1);
  REQUIRE(i->u.if_.orelse.n == 1);
  py_stmt *elif = i->u.if_.orelse.stmts[0];
  REQUIRE(elif->kind == PY_S_IF);
  CHECK_LOC(elif->loc, 2, 1);
  REQUIRE(elif->u.if_.body.n == 1);
  CHECK_EQ_INT(elif->u.if_.body.stmts[0]->u.assign.n_targets, 2);
  REQUIRE(elif->u.if_.orelse.n == 2);
  CHECK_EQ_INT(elif->u.if_.orelse.stmts[1]->kind, PY_S_AUGASSIGN);
  CHECK_EQ_INT(elif->u.if_.orelse.stmts[1]->u.augassign.op, PY_OP_POW);
  CHECK_LOC(elif->u.if_.orelse.stmts[1]->loc, 5, 13);
  py_stmt *w = body.stmts[1];
  REQUIRE(w->kind == PY_S_WHILE);
  REQUIRE(w->u.while_.body.n == 3);
  CHECK_EQ_INT(w->u.while_.body.stmts[1]->u.if_.body.stmts[0]->kind,
               PY_S_BREAK);
  CHECK_EQ_INT(w->u.while_.body.stmts[2]->kind, PY_S_CONTINUE);
  CHECK_EQ_INT(body.stmts[2]->kind, PY_S_ASSERT);
  CHECK_EQ_STR(body.stmts[2]->u.assert_.msg->u.str, "msg");
  py_stmt *with = body.stmts[3];
  REQUIRE(with->kind == PY_S_WITH && with->u.with.n_items == 2);
  CHECK_EQ_STR(with->u.with.items[0].target->u.name, "a");
  py_expr *call = with->u.with.body.stmts[0]->u.assign.value;
  REQUIRE(call->u.call.n_args == 1 && call->u.call.n_kwargs == 1);
  CHECK_EQ_INT(call->u.call.args[0]->kind, PY_STARRED);
  CHECK(call->u.call.kwargs[0].name == NULL);
  py_stmt *def = body.stmts[4];
  REQUIRE(def->kind == PY_S_DEF && def->u.def.n_params == 2);
  CHECK(def->u.def.params[0].annotation == NULL);
  CHECK_EQ_INT(def->u.def.params[1].default_value->u.int_value, 2);
  CHECK_EQ_INT(def->u.def.returns->kind, PY_NONE);
  CHECK_EQ_INT(def->u.def.body.stmts[0]->u.expr.value->kind, PY_TUPLE);
  CHECK_EQ_INT(body.stmts[5]->u.assign.value->kind, PY_BINOP);
  /* Parentheses are not part of the node, as in Python's ast. */
  CHECK_LOC(body.stmts[5]->u.assign.value->loc, 15, 6);
  CHECK_LOC(body.stmts[6]->loc, 17, 1);
  CHECK_EQ_STR(body.stmts[7]->u.import_.module, ".");
  CHECK_EQ_STR(body.stmts[8]->u.import_.module, "..a.b");
  CHECK_EQ_INT(body.stmts[9]->u.class_.n_bases, 2);
  CHECK_EQ_INT(body.stmts[10]->kind, PY_S_RETURN);
  CHECK(body.stmts[10]->u.expr.value == NULL);
  CHECK_LOC(body.stmts[10]->loc, 23, 1);
  ts_arena_destroy(a);
}

TEST(parses_literals) {
  ts_arena *a = ts_arena_create();
  py_body body;
  const char *src = "s = 'a\\n\\t\\\\\\'\\\"\\x41' \"b\" r'\\n' '''x\ny'''\n"
                    "n = 0x_FF + 1_000 + 0o17 + 0b101 + 0 + 00\n"
                    "f = 1.5 + 1e-5 + .5 + 1. + 1_0.2_5e1_0\n"
                    "m = -9223372036854775808\n"
                    "M = 9223372036854775807\n"
                    "u = '\\u00e9'\n";
  CHECK_OK(parse_str(a, src, &body));
  REQUIRE(body.n == 6);
  CHECK_EQ_STR(body.stmts[0]->u.assign.value->u.str, "a\n\t\\'\"Ab\\nx\ny");
  py_expr *n = body.stmts[1]->u.assign.value;
  int64_t vals[6];
  for (int i = 5; i >= 0; i--) {
    py_expr *x = n->kind == PY_BINOP ? n->u.binop.right : n;
    vals[i] = x->u.int_value;
    if (n->kind == PY_BINOP)
      n = n->u.binop.left;
  }
  CHECK_EQ_INT(vals[0], 255);
  CHECK_EQ_INT(vals[1], 1000);
  CHECK_EQ_INT(vals[2], 15);
  CHECK_EQ_INT(vals[3], 5);
  CHECK_EQ_INT(vals[4], 0);
  py_expr *f = body.stmts[2]->u.assign.value;
  CHECK_NEAR(f->u.binop.right->u.float_value, 10.25e10, 0);
  CHECK_NEAR(f->u.binop.left->u.binop.right->u.float_value, 1.0, 0);
  py_expr *m = body.stmts[3]->u.assign.value;
  REQUIRE(m->kind == PY_INT);
  CHECK(m->u.int_value == INT64_MIN);
  CHECK(body.stmts[4]->u.assign.value->u.int_value == INT64_MAX);
  CHECK_EQ_STR(body.stmts[5]->u.assign.value->u.str, "\xc3\xa9");
  ts_arena_destroy(a);
}

TEST(handles_unterminated_input) {
  /* Not NUL-terminated: the parser must stay within len. */
  const char text[] = {'x', ' ', '=', ' ', '1'};
  char *heap = malloc(sizeof text);
  memcpy(heap, text, sizeof text);
  ts_arena *a = ts_arena_create();
  py_body body;
  CHECK_OK(py_parse(a, heap, sizeof text, "t.py", &body));
  CHECK_EQ_INT(body.n, 1);
  CHECK_OK(py_parse(a, heap, 0, "t.py", &body));
  CHECK_EQ_INT(body.n, 0);
  CHECK_OK(py_parse(a, "\n\n# c\n   \n", 10, "t.py", &body));
  CHECK_EQ_INT(body.n, 0);
  CHECK_OK(py_parse(a, "x = 1\r\nif x:\r\n  y = 2\r\n", 23, "t.py", &body));
  CHECK_EQ_INT(body.n, 2);
  free(heap);
  ts_arena_destroy(a);
}

TEST(round_trips_expressions) {
  CHECK_ROUND("a + b * c", "a + b * c");
  CHECK_ROUND("(a + b) * c", "(a + b) * c");
  CHECK_ROUND("a - (b - c)", "a - (b - c)");
  CHECK_ROUND("(a - b) - c", "a - b - c");
  CHECK_ROUND("-2**2", "-2 ** 2");
  CHECK_ROUND("(-2)**2", "(-2) ** 2");
  CHECK_ROUND("2**3**2", "2 ** 3 ** 2");
  CHECK_ROUND("(2**3)**2", "(2 ** 3) ** 2");
  CHECK_ROUND("2**-1", "2 ** -1");
  CHECK_ROUND("not a == b", "not a == b");
  CHECK_ROUND("(not a) == b", "(not a) == b");
  CHECK_ROUND("a < b <= c != d", "a < b <= c != d");
  CHECK_ROUND("(a < b) < c", "(a < b) < c");
  CHECK_ROUND("x not in y and a is not None", "x not in y and a is not None");
  CHECK_ROUND("a or b and c", "a or b and c");
  CHECK_ROUND("(a or b) and c", "(a or b) and c");
  CHECK_ROUND("a if b else c if d else e", "a if b else c if d else e");
  CHECK_ROUND("(a if b else c) if d else e", "(a if b else c) if d else e");
  CHECK_ROUND("lambda i, j: (j // 4, i, j % 4)",
              "lambda i, j: (j // 4, i, j % 4)");
  CHECK_ROUND("lambda: 0", "lambda: 0");
  CHECK_ROUND("A[vi, 0:128]", "A[vi, 0:128]");
  CHECK_ROUND("A[:, 1:]", "A[:, 1:]");
  CHECK_ROUND("x[::2]", "x[::2]");
  CHECK_ROUND("x[a,]", "x[a,]");
  CHECK_ROUND("x[1:2:3, ::, :-1]", "x[1:2:3, :, :-1]");
  CHECK_ROUND("(1,)", "(1,)");
  CHECK_ROUND("()", "()");
  CHECK_ROUND("[1, [2, 3], {}]", "[1, [2, 3], {}]");
  CHECK_ROUND("{'a': 1, \"b\": (2, 3)}", "{\"a\": 1, \"b\": (2, 3)}");
  CHECK_ROUND("f(a, *b, k=1, **c)", "f(a, *b, k=1, **c)");
  CHECK_ROUND("(a + b).c(d)[e]", "(a + b).c(d)[e]");
  CHECK_ROUND("a | b ^ c & d << e", "a | b ^ c & d << e");
  CHECK_ROUND("(a | b) & c", "(a | b) & c");
  CHECK_ROUND("~-x", "~-x");
  CHECK_ROUND("a @ b // c % d / e", "a @ b // c % d / e");
  CHECK_ROUND("1.0 + 1e-05 + 0.5 + 1e+20 + 100.0 + 1e400",
              "1.0 + 1e-05 + 0.5 + 1e+20 + 100.0 + 1e309");
  CHECK_ROUND("'a' 'b' \"\\n\\\\\"", "\"ab\\n\\\\\"");
  char *e = render_expr("-9223372036854775808 ** 1");
  CHECK_EQ_STR(e, "ERROR t.py:1:2: integer literal too large");
  free(e);
  CHECK_ROUND("0 if 0 else -9223372036854775808",
              "0 if 0 else -9223372036854775808");
  CHECK_ROUND("(-9223372036854775808) ** 2", "(-9223372036854775808) ** 2");
  CHECK_ROUND("(1).real", "(1).real");
  CHECK_ROUND("f(x)(y)[0][1:]", "f(x)(y)[0][1:]");
  CHECK_ROUND("T.Buffer((128,), \"float32\")", "T.Buffer((128,), \"float32\")");
  CHECK_ROUND("a, *b", "(a, *b)");
  CHECK_ROUND("[*a + b]", "[*a + b]");
  CHECK_ROUND("x[()]", "x[()]");
}

TEST(reports_syntax_errors) {
  CHECK_SYNTAX_ERR("f(a, b))\n", "t.py:1:8: unmatched ')'");
  CHECK_SYNTAX_ERR("x = (1,\n  2\n", "t.py:2:4: unclosed '(' opened at 1:5");
  CHECK_SYNTAX_ERR("def f(x)\n    pass\n",
                   "t.py:1:9: expected ':' after 'def' header");
  CHECK_SYNTAX_ERR("x = \"abc\ny = 1\n",
                   "t.py:1:5: unterminated string literal");
  CHECK_SYNTAX_ERR("x = '''abc\n\n", "t.py:1:5: unterminated triple-quoted "
                                     "string literal");
  CHECK_SYNTAX_ERR("x = a $ b\n", "t.py:1:7: invalid character '$'");
  CHECK_SYNTAX_ERR("if x:\n    a = 1\n  b = 2\n",
                   "t.py:3:3: unindent does not match any outer indentation "
                   "level");
  CHECK_SYNTAX_ERR("a = 1\n    b = 2\n", "t.py:2:5: unexpected indent");
  CHECK_SYNTAX_ERR("def f():\nreturn 1\n",
                   "t.py:2:1: expected an indented block");
  CHECK_SYNTAX_ERR("def f():\n", "t.py:1:9: expected an indented block");
  CHECK_SYNTAX_ERR("x = 99999999999999999999\n",
                   "t.py:1:5: integer literal too large");
  CHECK_SYNTAX_ERR("x = 9223372036854775808\n",
                   "t.py:1:5: integer literal too large");
  CHECK_SYNTAX_ERR("x = def\n", "t.py:1:5: expected expression, found 'def'");
  CHECK_SYNTAX_ERR("x = \n", "t.py:1:5: expected expression, found end of "
                             "line");
  CHECK_SYNTAX_ERR("T.Buffer((1,), dtype=\"a\", dtype=\"b\")\n",
                   "t.py:1:27: keyword argument repeated: 'dtype'");
  CHECK_SYNTAX_ERR("f(a=1, b)\n",
                   "t.py:1:8: positional argument follows keyword argument");
  CHECK_SYNTAX_ERR("f(a b)\n",
                   "t.py:1:5: expected ',' or ')' after argument, found 'b'");
  CHECK_SYNTAX_ERR("x = [1, 2)\n",
                   "t.py:1:10: closing ')' does not match opening '[' at 1:5");
  CHECK_SYNTAX_ERR("f(x) = 1\n", "t.py:1:1: cannot assign to function call");
  CHECK_SYNTAX_ERR("a, b += 1\n",
                   "t.py:1:1: illegal expression for augmented assignment");
  CHECK_SYNTAX_ERR("x = 1 2\n", "t.py:1:7: unexpected '2'");
  CHECK_SYNTAX_ERR("x = 0123\n", "t.py:1:5: leading zeros in decimal integer "
                                 "literals are not permitted");
  CHECK_SYNTAX_ERR("x = 1abc\n", "t.py:1:5: invalid decimal literal");
  CHECK_SYNTAX_ERR("x = a if b\n",
                   "t.py:1:11: expected 'else' in conditional expression");
  CHECK_SYNTAX_ERR("for i j in x:\n  pass\n",
                   "t.py:1:7: expected 'in' after 'for' target");
  CHECK_SYNTAX_ERR("x = 'a\\x4'\n",
                   "t.py:1:7: truncated \\x escape in string literal");
  CHECK_SYNTAX_ERR("x = 1 + \\ 2\n", "t.py:1:9: unexpected character after "
                                     "line continuation character");
  CHECK_SYNTAX_ERR("@T.prim_func\nx = 1\n",
                   "t.py:2:1: expected 'def' or 'class' after decorator, "
                   "found 'x'");
  CHECK_SYNTAX_ERR("def f(a=1, b):\n  pass\n",
                   "t.py:1:12: parameter without a default follows parameter "
                   "with a default");
  CHECK_SYNTAX_ERR("[x for x in y]\n",
                   "t.py:1:4: comprehensions are not supported");
  CHECK_SYNTAX_ERR("try:\n  pass\n", "t.py:1:1: 'try' statements are not "
                                     "supported");
  CHECK_SYNTAX_ERR("x = f'{a}'\n", "t.py:1:5: f-strings are not supported");
  CHECK_SYNTAX_ERR("x = \xc3\xa9\n", "t.py:1:5: invalid byte 0xc3");

  /* Deep nesting is refused with a message, not a crash. */
  size_t n = 100000;
  char *deep = malloc(n + 1);
  memset(deep, '-', n - 1);
  deep[n - 1] = 'x';
  deep[n] = 0;
  CHECK_SYNTAX_ERR(deep, "t.py:1:1000: expression nested too deeply");
  for (size_t i = 0; i < n; i++)
    deep[i] = i % 2 ? '+' : 'a';
  deep[n - 1] = 'a';
  CHECK_SYNTAX_ERR(deep, "t.py:1:2000: expression nested too deeply");
  memset(deep, '(', n);
  CHECK_SYNTAX_ERR(deep, "t.py:1:201: too many nested parentheses");
  free(deep);
}

TEST(attaches_the_source_line) {
  ts_arena *a = ts_arena_create();
  py_body body;
  ts_status *st = parse_str(a, "x = 1\ny = (2 +\n  )\n", &body);
  REQUIRE(st != NULL);
  CHECK_EQ_STR(ts_status_render(st),
               "t.py:3:3: expected expression, found ')'\n"
               "      )\n"
               "      ^");
  ts_status_free(st);
  ts_loc loc = {"m.py", 2, 3};
  st = py_error_at("a = 1\nbb = 2\n", loc, TS_ERR_NAME, "unknown name '%s'",
                   "bb");
  CHECK_EQ_INT(ts_status_code_of(st), TS_ERR_NAME);
  CHECK_EQ_STR(ts_status_render(st), "m.py:2:3: unknown name 'bb'\n"
                                     "    bb = 2\n"
                                     "      ^");
  ts_status_free(st);
  CHECK_EQ_STR(py_op_str(PY_OP_NOT_IN), "not in");
  CHECK_EQ_STR(py_op_str(PY_OP_FLOORDIV), "//");
  ts_arena_destroy(a);
}

int main(void) {
  RUN(parses_an_ir_module);
  RUN(parses_schedule_scripts);
  RUN(parses_statements);
  RUN(parses_literals);
  RUN(handles_unterminated_input);
  RUN(round_trips_expressions);
  RUN(reports_syntax_errors);
  RUN(attaches_the_source_line);
  return CHECK_DONE();
}

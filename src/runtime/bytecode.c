/* bytecode.c: the artifact blob: serialization, parsing with bounds checks,
 * the verifier and the disassembler.  The layout is drawn in bytecode.h.
 * The parser never trusts a count: every count is bounded by the bytes that
 * remain before anything is allocated, so a corrupt blob costs at most its
 * own size in memory. */
#include "runtime/bytecode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the artifact format is little-endian; port the reader first"
#endif

enum { SEC_STRINGS = 1, SEC_FUNCTIONS = 2, SEC_KERNELS = 3, SEC_CONSTANTS = 4,
       N_SECTIONS = 4 };
#define HEADER_BYTES 24u
#define SECTION_ENTRY_BYTES 24u

static const char *const op_names[] = {
#define X(e, n) n,
    TS_BC_OPCODES(X)
#undef X
};
_Static_assert(sizeof op_names / sizeof op_names[0] == TS_BC_OP_COUNT,
               "one name per opcode");

const char *ts_bc_op_name(uint32_t op) {
  return op < TS_BC_OP_COUNT ? op_names[op] : "?";
}

void ts_bc_program_free(ts_bc_program *p) {
  if (!p) return;
  for (uint32_t i = 0; i < p->n_strings; i++) free(p->strings[i]);
  free(p->strings);
  for (uint32_t i = 0; i < p->n_funcs; i++) {
    ts_bc_func *f = &p->funcs[i];
    for (uint32_t j = 0; j < f->n_params; j++) free(f->params[j].dims);
    free(f->params);
    free(f->slot_names);
    free(f->code);
  }
  free(p->funcs);
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    ts_bc_kernel *k = &p->kernels[i];
    for (uint32_t j = 0; j < k->n_params; j++) free(k->params[j].dims);
    free(k->params);
  }
  free(p->kernels);
  free(p->consts);
  free(p);
}

/* ---- serialization ---------------------------------------------------------- */

typedef struct wbuf {
  uint8_t *data;
  size_t len, cap;
} wbuf;

static void w_bytes(wbuf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    b->data = ts_xrealloc(b->data, cap);
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
}
static void w_u32(wbuf *b, uint32_t v) { w_bytes(b, &v, 4); }
static void w_u64(wbuf *b, uint64_t v) { w_bytes(b, &v, 8); }
static void w_pad(wbuf *b, size_t align) {
  static const uint8_t zeros[64];
  while (b->len % align) w_bytes(b, zeros, 1);
}

ts_status *ts_bc_serialize(const ts_bc_program *p, void **out_buf,
                           size_t *out_len) {
  wbuf sec[N_SECTIONS] = {{0}};
  wbuf *s = &sec[0];
  w_u32(s, p->n_strings);
  for (uint32_t i = 0; i < p->n_strings; i++) {
    size_t n = strlen(p->strings[i]);
    if (n > 0xFFFFFFF0u) {
      for (int k = 0; k < N_SECTIONS; k++) free(sec[k].data);
      return ts_error(TS_ERR_VALUE, "artifact string %u is too long", i);
    }
    w_u32(s, (uint32_t)n);
    w_bytes(s, p->strings[i], n + 1);
    w_pad(s, 4);
  }
  s = &sec[1];
  w_u32(s, p->n_funcs);
  for (uint32_t i = 0; i < p->n_funcs; i++) {
    const ts_bc_func *f = &p->funcs[i];
    w_u32(s, f->name);
    w_u32(s, f->n_params);
    for (uint32_t j = 0; j < f->n_params; j++) {
      const ts_bc_param *pa = &f->params[j];
      w_u32(s, pa->name);
      w_u32(s, ts_bc_dtype_word(pa->dtype));
      w_u32(s, pa->ndim < 0 ? TS_BC_ANY_RANK : (uint32_t)pa->ndim);
      for (int32_t d = 0; d < pa->ndim; d++) w_u64(s, (uint64_t)pa->dims[d]);
    }
    w_u32(s, f->n_regs);
    w_u32(s, f->n_slots);
    for (uint32_t j = 0; j < f->n_slots; j++) w_u32(s, f->slot_names[j]);
    w_u32(s, f->n_code);
    w_bytes(s, f->code, (size_t)f->n_code * 4);
  }
  s = &sec[2];
  w_u32(s, p->n_kernels);
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    const ts_bc_kernel *k = &p->kernels[i];
    w_u32(s, k->name);
    w_u32(s, k->n_vars);
    w_u32(s, k->n_params);
    for (uint32_t j = 0; j < k->n_params; j++) {
      const ts_bc_kparam *kp = &k->params[j];
      w_u32(s, kp->name);
      w_u32(s, kp->flags);
      w_u32(s, ts_bc_dtype_word(kp->dtype));
      w_u32(s, kp->ndim);
      w_bytes(s, kp->dims, (size_t)kp->ndim * 12);
      w_u32(s, kp->var);
    }
  }
  /* Constants: metadata first; data offsets depend on every section size. */
  size_t meta = 4;
  for (uint32_t i = 0; i < p->n_consts; i++)
    meta += 4 * (2 + 2 * (size_t)p->consts[i].ndim + 4);
  size_t off = HEADER_BYTES + N_SECTIONS * SECTION_ENTRY_BYTES;
  size_t sec_off[N_SECTIONS];
  for (int i = 0; i < 3; i++) {
    sec_off[i] = off;
    off += sec[i].len;
  }
  sec_off[3] = off;
  off += meta;
  s = &sec[3];
  w_u32(s, p->n_consts);
  size_t data_off = (off + 63) & ~(size_t)63;
  for (uint32_t i = 0; i < p->n_consts; i++) {
    const ts_bc_const *c = &p->consts[i];
    w_u32(s, ts_bc_dtype_word(c->dtype));
    w_u32(s, c->ndim);
    for (uint32_t d = 0; d < c->ndim; d++) w_u64(s, (uint64_t)c->shape[d]);
    w_u64(s, data_off);
    w_u64(s, c->nbytes);
    data_off = (data_off + c->nbytes + 63) & ~(size_t)63;
  }
  TS_ASSERT(s->len == meta);

  wbuf out = {0};
  w_bytes(&out, TS_BC_MAGIC, 4);
  w_u32(&out, TS_BC_VERSION);
  w_u64(&out, 0); /* total size, patched below */
  w_u32(&out, N_SECTIONS);
  w_u32(&out, 0);
  for (int i = 0; i < N_SECTIONS; i++) {
    w_u32(&out, (uint32_t)(i + 1));
    w_u32(&out, 0);
    w_u64(&out, sec_off[i]);
    w_u64(&out, sec[i].len);
  }
  for (int i = 0; i < N_SECTIONS; i++) {
    TS_ASSERT(out.len == sec_off[i]);
    w_bytes(&out, sec[i].data, sec[i].len);
    free(sec[i].data);
  }
  for (uint32_t i = 0; i < p->n_consts; i++) {
    w_pad(&out, 64);
    w_bytes(&out, p->consts[i].data, p->consts[i].nbytes);
  }
  w_pad(&out, 64);
  uint64_t total = out.len;
  memcpy(out.data + 8, &total, 8);
  *out_buf = out.data;
  *out_len = out.len;
  return NULL;
}

/* ---- parsing -------------------------------------------------------------------- */

typedef struct reader {
  const uint8_t *p;
  size_t pos, end; /* absolute positions in the blob */
} reader;

static bool r_u32(reader *r, uint32_t *v) {
  if (r->end - r->pos < 4) return false;
  memcpy(v, r->p + r->pos, 4);
  r->pos += 4;
  return true;
}
static bool r_u64(reader *r, uint64_t *v) {
  if (r->end - r->pos < 8) return false;
  memcpy(v, r->p + r->pos, 8);
  r->pos += 8;
  return true;
}
static size_t r_words_left(const reader *r) { return (r->end - r->pos) / 4; }

#define FAIL(...)                                                              \
  do {                                                                         \
    snprintf(why, sizeof why, __VA_ARGS__);                                    \
    goto fail;                                                                 \
  } while (0)
#define NEED(cond, what)                                                       \
  do {                                                                         \
    if (!(cond)) FAIL("%s", what);                                             \
  } while (0)

ts_status *ts_artifact_parse_blob(const void *data, size_t len,
                                  const char *name, ts_bc_program **out) {
  char why[160];
  *out = NULL;
  const uint8_t *b = data;
  ts_bc_program *p = ts_xcalloc(1, sizeof *p);
  if (len < HEADER_BYTES || memcmp(b, TS_BC_MAGIC, 4) != 0)
    FAIL("bad header (no \"" TS_BC_MAGIC "\" magic)");
  uint32_t version, n_sec;
  uint64_t total;
  memcpy(&version, b + 4, 4);
  memcpy(&total, b + 8, 8);
  memcpy(&n_sec, b + 16, 4);
  if (version != TS_BC_VERSION) {
    ts_bc_program_free(p);
    return ts_error(TS_ERR_FORMAT,
                    "%s: artifact format version %u is not supported "
                    "(expected %u)",
                    name, version, TS_BC_VERSION);
  }
  if (total > len)
    FAIL("blob size %llu exceeds the %zu bytes present",
         (unsigned long long)total, len);
  if (total < HEADER_BYTES) FAIL("blob size %llu too small", (unsigned long long)total);
  len = (size_t)total;
  if (n_sec > 64 || (uint64_t)n_sec * SECTION_ENTRY_BYTES > len - HEADER_BYTES)
    FAIL("bad section count %u", n_sec);
  size_t sec_off[N_SECTIONS + 1] = {0}, sec_len[N_SECTIONS + 1] = {0};
  bool have[N_SECTIONS + 1] = {0};
  for (uint32_t i = 0; i < n_sec; i++) {
    const uint8_t *e = b + HEADER_BYTES + i * SECTION_ENTRY_BYTES;
    uint32_t id;
    uint64_t off, sz;
    memcpy(&id, e, 4);
    memcpy(&off, e + 8, 8);
    memcpy(&sz, e + 16, 8);
    if (off > len || sz > len - off || off % 4)
      FAIL("section %u out of bounds", id);
    if (id >= 1 && id <= N_SECTIONS) {
      if (have[id]) FAIL("duplicate section %u", id);
      have[id] = true;
      sec_off[id] = (size_t)off;
      sec_len[id] = (size_t)sz;
    }
  }
  for (int id = 1; id <= N_SECTIONS; id++)
    if (!have[id]) FAIL("missing section %d", id);

  /* strings */
  reader r = {b, sec_off[SEC_STRINGS], sec_off[SEC_STRINGS] + sec_len[SEC_STRINGS]};
  uint32_t n;
  NEED(r_u32(&r, &n) && n <= r_words_left(&r), "bad string count");
  p->strings = ts_xcalloc(n ? n : 1, sizeof(char *));
  for (uint32_t i = 0; i < n; i++) {
    uint32_t sl;
    if (!r_u32(&r, &sl) || (size_t)sl + 1 > r.end - r.pos)
      FAIL("string %u out of bounds", i);
    const char *sp = (const char *)b + r.pos;
    if (sp[sl] != 0 || memchr(sp, 0, sl)) FAIL("string %u is not terminated", i);
    p->strings[i] = ts_xstrdup(sp);
    p->n_strings++;
    r.pos += ((size_t)sl + 1 + 3) & ~(size_t)3;
    if (r.pos > r.end) FAIL("string %u out of bounds", i);
  }

  /* functions */
  r = (reader){b, sec_off[SEC_FUNCTIONS], sec_off[SEC_FUNCTIONS] + sec_len[SEC_FUNCTIONS]};
  NEED(r_u32(&r, &n) && n <= r_words_left(&r), "bad function count");
  p->funcs = ts_xcalloc(n ? n : 1, sizeof(ts_bc_func));
  for (uint32_t i = 0; i < n; i++) {
    ts_bc_func *f = &p->funcs[i];
    p->n_funcs++;
    uint32_t np;
    if (!r_u32(&r, &f->name) || !r_u32(&r, &np) || np > r_words_left(&r) / 3)
      FAIL("function %u: truncated", i);
    f->params = ts_xcalloc(np ? np : 1, sizeof(ts_bc_param));
    for (uint32_t j = 0; j < np; j++) {
      ts_bc_param *pa = &f->params[j];
      f->n_params++;
      uint32_t dt, nd;
      if (!r_u32(&r, &pa->name) || !r_u32(&r, &dt) || !r_u32(&r, &nd))
        FAIL("function %u: truncated parameter %u", i, j);
      pa->dtype = ts_bc_word_dtype(dt);
      if (nd == TS_BC_ANY_RANK) {
        pa->ndim = -1;
        continue;
      }
      if (nd > TS_MAX_NDIM) FAIL("function %u: parameter %u: rank %u", i, j, nd);
      pa->ndim = (int32_t)nd;
      pa->dims = ts_xcalloc(nd ? nd : 1, sizeof(int64_t));
      for (uint32_t d = 0; d < nd; d++) {
        uint64_t v;
        if (!r_u64(&r, &v)) FAIL("function %u: truncated parameter %u", i, j);
        pa->dims[d] = (int64_t)v;
        if (pa->dims[d] < -1) FAIL("function %u: parameter %u: bad dimension", i, j);
      }
    }
    if (!r_u32(&r, &f->n_regs) || !r_u32(&r, &f->n_slots) ||
        f->n_slots > r_words_left(&r))
      FAIL("function %u: truncated", i);
    f->slot_names = ts_xcalloc(f->n_slots ? f->n_slots : 1, 4);
    for (uint32_t j = 0; j < f->n_slots; j++) r_u32(&r, &f->slot_names[j]);
    uint32_t nc;
    if (!r_u32(&r, &nc) || nc > r_words_left(&r)) FAIL("function %u: truncated code", i);
    f->code = ts_xcalloc(nc ? nc : 1, 4);
    memcpy(f->code, b + r.pos, (size_t)nc * 4);
    f->n_code = nc;
    r.pos += (size_t)nc * 4;
  }

  /* kernels */
  r = (reader){b, sec_off[SEC_KERNELS], sec_off[SEC_KERNELS] + sec_len[SEC_KERNELS]};
  NEED(r_u32(&r, &n) && n <= r_words_left(&r), "bad kernel count");
  p->kernels = ts_xcalloc(n ? n : 1, sizeof(ts_bc_kernel));
  for (uint32_t i = 0; i < n; i++) {
    ts_bc_kernel *k = &p->kernels[i];
    p->n_kernels++;
    uint32_t np;
    if (!r_u32(&r, &k->name) || !r_u32(&r, &k->n_vars) || !r_u32(&r, &np) ||
        np > r_words_left(&r) / 5)
      FAIL("kernel %u: truncated", i);
    k->params = ts_xcalloc(np ? np : 1, sizeof(ts_bc_kparam));
    for (uint32_t j = 0; j < np; j++) {
      ts_bc_kparam *kp = &k->params[j];
      k->n_params++;
      uint32_t dt;
      if (!r_u32(&r, &kp->name) || !r_u32(&r, &kp->flags) || !r_u32(&r, &dt) ||
          !r_u32(&r, &kp->ndim) || kp->ndim > TS_MAX_NDIM ||
          (size_t)kp->ndim * 3 + 1 > r_words_left(&r))
        FAIL("kernel %u: bad parameter %u", i, j);
      kp->dtype = ts_bc_word_dtype(dt);
      kp->dims = ts_xcalloc(kp->ndim ? kp->ndim * 3 : 1, 4);
      memcpy(kp->dims, b + r.pos, (size_t)kp->ndim * 12);
      r.pos += (size_t)kp->ndim * 12;
      r_u32(&r, &kp->var);
    }
  }

  /* constants */
  r = (reader){b, sec_off[SEC_CONSTANTS], sec_off[SEC_CONSTANTS] + sec_len[SEC_CONSTANTS]};
  NEED(r_u32(&r, &n) && n <= r_words_left(&r) / 6, "bad constant count");
  p->consts = ts_xcalloc(n ? n : 1, sizeof(ts_bc_const));
  for (uint32_t i = 0; i < n; i++) {
    ts_bc_const *c = &p->consts[i];
    p->n_consts++;
    uint32_t dt;
    if (!r_u32(&r, &dt) || !r_u32(&r, &c->ndim) || c->ndim > TS_MAX_NDIM)
      FAIL("constant %u: bad header", i);
    c->dtype = ts_bc_word_dtype(dt);
    for (uint32_t d = 0; d < c->ndim; d++) {
      uint64_t v;
      if (!r_u64(&r, &v)) FAIL("constant %u: truncated", i);
      c->shape[d] = (int64_t)v;
    }
    uint64_t off, nb;
    if (!r_u64(&r, &off) || !r_u64(&r, &nb)) FAIL("constant %u: truncated", i);
    if (off > len || nb > len - off) FAIL("constant %u: data out of bounds", i);
    c->data = b + off;
    c->nbytes = nb;
  }

  ts_status *st = ts_bc_verify(p);
  if (st) {
    snprintf(why, sizeof why, "%s", ts_status_message(st));
    ts_status_free(st);
    goto fail;
  }
  *out = p;
  return NULL;
fail:
  ts_bc_program_free(p);
  return ts_error(TS_ERR_FORMAT, "%s: corrupt artifact: %s", name, why);
}

/* ---- verifier ------------------------------------------------------------------ */

static bool dtype_ok(ts_dtype t) {
  if (t.lanes != 1) return false;
  switch (t.code) {
  case TS_INT: case TS_UINT:
    return t.bits == 8 || t.bits == 16 || t.bits == 32 || t.bits == 64;
  case TS_FLOAT: return t.bits == 16 || t.bits == 32 || t.bits == 64;
  case TS_BFLOAT: return t.bits == 16;
  case TS_BOOL: return t.bits == 8 || t.bits == 1;
  default: return false;
  }
}

/* A dim operand: kinds allowed by `mask` (1 << kind); slots < n_slots. */
static bool dim_ok(const uint32_t *d, unsigned mask, uint32_t n_slots) {
  if (d[0] > TS_BC_DIM_ANY || !(mask >> d[0] & 1)) return false;
  int64_t v = ts_bc_dim_value(d);
  if (d[0] == TS_BC_DIM_SLOT || d[0] == TS_BC_DIM_BIND)
    return v >= 0 && (uint64_t)v < n_slots;
  return true;
}

#define VFAIL(...)                                                             \
  do {                                                                         \
    snprintf(why, sizeof why, __VA_ARGS__);                                    \
    return ts_error(TS_ERR_FORMAT, "%s", why);                                 \
  } while (0)

static ts_status *verify_func(const ts_bc_program *p, uint32_t fi) {
  char why[160];
  const ts_bc_func *f = &p->funcs[fi];
  if (f->name >= p->n_strings) VFAIL("function %u: bad name", fi);
  if (f->n_params > f->n_regs) VFAIL("function %u: more parameters than registers", fi);
  if (f->n_regs > (1u << 24) || f->n_slots > (1u << 24))
    VFAIL("function %u: too many registers", fi);
  for (uint32_t j = 0; j < f->n_params; j++)
    if (f->params[j].name >= p->n_strings) VFAIL("function %u: bad parameter name", fi);
  for (uint32_t j = 0; j < f->n_slots; j++)
    if (f->slot_names[j] >= p->n_strings) VFAIL("function %u: bad slot name", fi);
  const uint32_t *c = f->code;
  uint32_t pc = 0, last_op = TS_BC_OP_COUNT;
  const unsigned IS = 1u << TS_BC_DIM_IMM | 1u << TS_BC_DIM_SLOT;
  while (pc < f->n_code) {
    const uint32_t *w = c + pc;
    uint32_t op = w[0] & 0xff, L = w[0] >> 8;
    if (L < 1 || L > f->n_code - pc) VFAIL("function %u: bad length at %u", fi, pc);
#define REG(x) ((x) < f->n_regs)
#define BAD() VFAIL("function %u: bad %s at %u", fi, ts_bc_op_name(op), pc)
    switch (op) {
    case TS_BC_MATCH_TENSOR: {
      if (L < 5 || !REG(w[1]) || w[2] >= p->n_strings) BAD();
      if (w[4] == TS_BC_ANY_RANK) {
        if (L != 5) BAD();
        break;
      }
      if (w[4] > TS_MAX_NDIM || L != 5 + 3 * w[4]) BAD();
      for (uint32_t d = 0; d < w[4]; d++) {
        const uint32_t *dd = w + 5 + 3 * d;
        if (!dim_ok(dd, 0xF, f->n_slots) ||
            (dd[0] == TS_BC_DIM_IMM && ts_bc_dim_value(dd) < 0))
          BAD();
      }
      break;
    }
    case TS_BC_SHAPE_ARITH:
      if (L != 9 || w[1] >= f->n_slots || w[2] >= TS_BC_ARITH_COUNT ||
          !dim_ok(w + 3, IS, f->n_slots) || !dim_ok(w + 6, IS, f->n_slots))
        BAD();
      break;
    case TS_BC_ALLOC:
      if (L < 4 || !REG(w[1]) || !dtype_ok(ts_bc_word_dtype(w[2])) ||
          w[3] > TS_MAX_NDIM || L != 4 + 3 * w[3])
        BAD();
      for (uint32_t d = 0; d < w[3]; d++)
        if (!dim_ok(w + 4 + 3 * d, IS, f->n_slots)) BAD();
      break;
    case TS_BC_ALLOC_STORAGE:
      if (L != 5 || !REG(w[1]) || !dim_ok(w + 2, IS, f->n_slots)) BAD();
      break;
    case TS_BC_ALLOC_TENSOR:
      if (L < 5 || !REG(w[1]) || !REG(w[2]) || w[1] == w[2] ||
          !dtype_ok(ts_bc_word_dtype(w[3])) || w[4] > TS_MAX_NDIM || L != 5 + 3 * w[4])
        BAD();
      for (uint32_t d = 0; d < w[4]; d++)
        if (!dim_ok(w + 5 + 3 * d, IS, f->n_slots)) BAD();
      break;
    case TS_BC_CONST:
      if (L != 3 || !REG(w[1]) || w[2] >= p->n_consts) BAD();
      break;
    case TS_BC_CALL_KERNEL: {
      if (L < 6 || w[1] >= p->n_kernels || w[2] >= p->n_strings) BAD();
      uint64_t nin = w[3], nout = w[4], nsc = w[5];
      if ((uint64_t)L != 6 + nin + nout + 3 * nsc) BAD();
      const ts_bc_kernel *k = &p->kernels[w[1]];
      if (nin + nout + nsc != k->n_params) BAD();
      for (uint64_t a = 0; a < nin + nout + nsc; a++)
        if (!!(k->params[a].flags & TS_BC_KPARAM_BUFFER) != (a < nin + nout)) BAD();
      for (uint64_t a = 0; a < nin + nout; a++)
        if (!REG(w[6 + a])) BAD();
      for (uint64_t a = 0; a < nsc; a++)
        if (!dim_ok(w + 6 + nin + nout + 3 * a, IS, f->n_slots)) BAD();
      break;
    }
    case TS_BC_CALL_PACKED: {
      if (L < 5 || w[1] >= p->n_strings || w[2] >= p->n_strings) BAD();
      uint64_t nin = w[3], nout = w[4];
      if ((uint64_t)L != 5 + nin + nout) BAD();
      for (uint64_t a = 0; a < nin + nout; a++)
        if (!REG(w[5 + a])) BAD();
      break;
    }
    case TS_BC_CALL_FUNC:
      if (L < 4 || !REG(w[1]) || w[2] >= p->n_funcs || L != 4 + (uint64_t)w[3] ||
          w[3] != p->funcs[w[2]].n_params)
        BAD();
      for (uint32_t a = 0; a < w[3]; a++)
        if (!REG(w[4 + a])) BAD();
      break;
    case TS_BC_TUPLE:
      if (L < 3 || !REG(w[1]) || L != 3 + (uint64_t)w[2]) BAD();
      for (uint32_t a = 0; a < w[2]; a++)
        if (!REG(w[3 + a])) BAD();
      break;
    case TS_BC_TUPLE_GET:
      if (L != 4 || !REG(w[1]) || !REG(w[2])) BAD();
      break;
    case TS_BC_MOVE:
      if (L != 3 || !REG(w[1]) || !REG(w[2])) BAD();
      break;
    case TS_BC_KILL:
    case TS_BC_RET:
      if (L != 2 || !REG(w[1])) BAD();
      break;
    default:
      VFAIL("function %u: unknown opcode %u at %u", fi, op, pc);
    }
#undef REG
#undef BAD
    last_op = op;
    pc += L;
  }
  if (last_op != TS_BC_RET) VFAIL("function %u: code does not end with ret", fi);
  return NULL;
}

ts_status *ts_bc_verify(const ts_bc_program *p) {
  char why[160];
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    const ts_bc_kernel *k = &p->kernels[i];
    if (k->name >= p->n_strings) VFAIL("kernel %u: bad name", i);
    for (uint32_t j = 0; j < k->n_params; j++) {
      const ts_bc_kparam *kp = &k->params[j];
      if (kp->name >= p->n_strings || kp->ndim > TS_MAX_NDIM)
        VFAIL("kernel %u: bad parameter %u", i, j);
      if (kp->flags & TS_BC_KPARAM_BUFFER) {
        if (!dtype_ok(kp->dtype)) VFAIL("kernel %u: parameter %u: bad dtype", i, j);
        for (uint32_t d = 0; d < kp->ndim; d++) {
          const uint32_t *dd = kp->dims + 3 * d;
          unsigned mask = 1u << TS_BC_DIM_IMM | 1u << TS_BC_DIM_SLOT | 1u << TS_BC_DIM_ANY;
          if (!dim_ok(dd, mask, k->n_vars) ||
              (dd[0] == TS_BC_DIM_IMM && ts_bc_dim_value(dd) < 0))
            VFAIL("kernel %u: parameter %u: bad dimension %u", i, j, d);
        }
      } else if (kp->var != TS_BC_NO_VAR && kp->var >= k->n_vars) {
        VFAIL("kernel %u: parameter %u: bad variable", i, j);
      }
    }
  }
  for (uint32_t i = 0; i < p->n_consts; i++) {
    const ts_bc_const *c = &p->consts[i];
    if (!dtype_ok(c->dtype) || c->ndim > TS_MAX_NDIM) VFAIL("constant %u: bad type", i);
    size_t numel = 1;
    for (uint32_t d = 0; d < c->ndim; d++)
      if (c->shape[d] < 0 || !ts_size_mul(numel, (size_t)c->shape[d], &numel))
        VFAIL("constant %u: bad shape", i);
    size_t nb;
    if (!ts_size_mul(numel, ts_dtype_bytes(c->dtype), &nb) || nb != c->nbytes)
      VFAIL("constant %u: size %llu does not match its shape", i,
            (unsigned long long)c->nbytes);
  }
  for (uint32_t i = 0; i < p->n_funcs; i++) TS_RETURN_IF_ERROR(verify_func(p, i));
  return NULL;
}

/* ---- register walker -------------------------------------------------------------- */

void ts_bc_for_each_reg(const uint32_t *w,
                        void (*fn)(uint32_t reg, bool is_def, void *ctx),
                        void *ctx) {
  switch (w[0] & 0xff) {
  case TS_BC_MATCH_TENSOR: fn(w[1], false, ctx); break;
  case TS_BC_ALLOC: case TS_BC_CONST: case TS_BC_ALLOC_STORAGE: fn(w[1], true, ctx); break;
  case TS_BC_ALLOC_TENSOR:
    fn(w[2], false, ctx);
    fn(w[1], true, ctx);
    break;
  case TS_BC_CALL_KERNEL:
    for (uint32_t a = 0; a < w[3] + w[4]; a++) fn(w[6 + a], false, ctx);
    break;
  case TS_BC_CALL_PACKED:
    for (uint32_t a = 0; a < w[3] + w[4]; a++) fn(w[5 + a], false, ctx);
    break;
  case TS_BC_CALL_FUNC:
    for (uint32_t a = 0; a < w[3]; a++) fn(w[4 + a], false, ctx);
    fn(w[1], true, ctx);
    break;
  case TS_BC_TUPLE:
    for (uint32_t a = 0; a < w[2]; a++) fn(w[3 + a], false, ctx);
    fn(w[1], true, ctx);
    break;
  case TS_BC_TUPLE_GET: case TS_BC_MOVE:
    fn(w[2], false, ctx);
    fn(w[1], true, ctx);
    break;
  case TS_BC_KILL: case TS_BC_RET: fn(w[1], false, ctx); break;
  default: break;
  }
}

/* ---- disassembler ------------------------------------------------------------------- */

static const char *str_at(const ts_bc_program *p, uint32_t i) {
  return i < p->n_strings ? p->strings[i] : "?";
}

static void dis_dim(ts_strbuf *o, const ts_bc_program *p, const ts_bc_func *f,
                    const uint32_t *d) {
  int64_t v = ts_bc_dim_value(d);
  const char *nm = (d[0] == TS_BC_DIM_SLOT || d[0] == TS_BC_DIM_BIND) &&
                           (uint64_t)v < f->n_slots
                       ? str_at(p, f->slot_names[v])
                       : "";
  switch (d[0]) {
  case TS_BC_DIM_IMM: ts_strbuf_printf(o, "%lld", (long long)v); break;
  case TS_BC_DIM_SLOT: ts_strbuf_printf(o, "s%lld%s%s%s", (long long)v, *nm ? "(" : "", nm, *nm ? ")" : ""); break;
  case TS_BC_DIM_BIND: ts_strbuf_printf(o, "bind s%lld%s%s%s", (long long)v, *nm ? "(" : "", nm, *nm ? ")" : ""); break;
  default: ts_strbuf_append(o, "_"); break;
  }
}

static void dis_dims(ts_strbuf *o, const ts_bc_program *p, const ts_bc_func *f,
                     const uint32_t *d, uint32_t n) {
  ts_strbuf_append(o, "[");
  for (uint32_t i = 0; i < n; i++) {
    if (i) ts_strbuf_append(o, ", ");
    dis_dim(o, p, f, d + 3 * i);
  }
  ts_strbuf_append(o, "]");
}

static void dis_regs(ts_strbuf *o, const uint32_t *r, uint32_t n) {
  ts_strbuf_append(o, "(");
  for (uint32_t i = 0; i < n; i++) ts_strbuf_printf(o, "%sr%u", i ? ", " : "", r[i]);
  ts_strbuf_append(o, ")");
}

static const char *const arith_names[] = {"add", "sub", "mul", "floordiv",
                                          "floormod", "min", "max"};

char *ts_bc_disassemble(const ts_bc_program *p) {
  ts_strbuf o = {0};
  char dt[32];
  ts_strbuf_printf(&o, "; Tessera bytecode, format version %u\n", TS_BC_VERSION);
  for (uint32_t i = 0; i < p->n_funcs; i++) {
    const ts_bc_func *f = &p->funcs[i];
    ts_strbuf_printf(&o, "\nfunction %s(", str_at(p, f->name));
    for (uint32_t j = 0; j < f->n_params; j++) {
      const ts_bc_param *pa = &f->params[j];
      ts_strbuf_printf(&o, "%s%s: %s", j ? ", " : "", str_at(p, pa->name),
                       ts_dtype_str(pa->dtype, dt));
      if (pa->ndim >= 0) {
        ts_strbuf_append(&o, "[");
        for (int32_t d = 0; d < pa->ndim; d++)
          pa->dims[d] < 0 ? ts_strbuf_printf(&o, "%s?", d ? ", " : "")
                          : ts_strbuf_printf(&o, "%s%lld", d ? ", " : "",
                                             (long long)pa->dims[d]);
        ts_strbuf_append(&o, "]");
      }
    }
    ts_strbuf_printf(&o, ")  ; %u registers, %u slots\n", f->n_regs, f->n_slots);
    for (uint32_t pc = 0; pc < f->n_code;) {
      const uint32_t *w = f->code + pc;
      uint32_t op = w[0] & 0xff, L = w[0] >> 8;
      if (L == 0) break;
      ts_strbuf_printf(&o, "  %4u  %-12s ", pc, ts_bc_op_name(op));
      switch (op) {
      case TS_BC_MATCH_TENSOR:
        ts_strbuf_printf(&o, "r%u, %s, %s", w[1], str_at(p, w[2]),
                         ts_dtype_str(ts_bc_word_dtype(w[3]), dt));
        if (w[4] != TS_BC_ANY_RANK) {
          ts_strbuf_append(&o, ", ");
          dis_dims(&o, p, f, w + 5, w[4]);
        }
        break;
      case TS_BC_SHAPE_ARITH:
        ts_strbuf_printf(&o, "s%u = %s ", w[1],
                         w[2] < TS_BC_ARITH_COUNT ? arith_names[w[2]] : "?");
        dis_dim(&o, p, f, w + 3);
        ts_strbuf_append(&o, ", ");
        dis_dim(&o, p, f, w + 6);
        break;
      case TS_BC_ALLOC:
        ts_strbuf_printf(&o, "r%u = %s", w[1], ts_dtype_str(ts_bc_word_dtype(w[2]), dt));
        dis_dims(&o, p, f, w + 4, w[3]);
        break;
      case TS_BC_ALLOC_STORAGE:
        ts_strbuf_printf(&o, "r%u = ", w[1]);
        dis_dim(&o, p, f, w + 2);
        ts_strbuf_append(&o, " bytes");
        break;
      case TS_BC_ALLOC_TENSOR:
        ts_strbuf_printf(&o, "r%u = %s", w[1], ts_dtype_str(ts_bc_word_dtype(w[3]), dt));
        dis_dims(&o, p, f, w + 5, w[4]);
        ts_strbuf_printf(&o, " in r%u", w[2]);
        break;
      case TS_BC_CONST: ts_strbuf_printf(&o, "r%u = constant %u", w[1], w[2]); break;
      case TS_BC_CALL_KERNEL:
        ts_strbuf_printf(&o, "%s",
                         w[1] < p->n_kernels ? str_at(p, p->kernels[w[1]].name) : "?");
        dis_regs(&o, w + 6, w[3]);
        ts_strbuf_append(&o, " -> ");
        dis_regs(&o, w + 6 + w[3], w[4]);
        if (w[5]) {
          ts_strbuf_append(&o, " scalars ");
          dis_dims(&o, p, f, w + 6 + w[3] + w[4], w[5]);
        }
        ts_strbuf_printf(&o, "  ; %s", str_at(p, w[2]));
        break;
      case TS_BC_CALL_PACKED:
        ts_strbuf_printf(&o, "\"%s\"", str_at(p, w[1]));
        dis_regs(&o, w + 5, w[3]);
        ts_strbuf_append(&o, " -> ");
        dis_regs(&o, w + 5 + w[3], w[4]);
        ts_strbuf_printf(&o, "  ; %s", str_at(p, w[2]));
        break;
      case TS_BC_CALL_FUNC:
        ts_strbuf_printf(&o, "r%u = %s", w[1],
                         w[2] < p->n_funcs ? str_at(p, p->funcs[w[2]].name) : "?");
        dis_regs(&o, w + 4, w[3]);
        break;
      case TS_BC_TUPLE:
        ts_strbuf_printf(&o, "r%u = ", w[1]);
        dis_regs(&o, w + 3, w[2]);
        break;
      case TS_BC_TUPLE_GET: ts_strbuf_printf(&o, "r%u = r%u[%u]", w[1], w[2], w[3]); break;
      case TS_BC_MOVE: ts_strbuf_printf(&o, "r%u = r%u", w[1], w[2]); break;
      case TS_BC_KILL: case TS_BC_RET: ts_strbuf_printf(&o, "r%u", w[1]); break;
      default: break;
      }
      ts_strbuf_append(&o, "\n");
      pc += L;
    }
  }
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    const ts_bc_kernel *k = &p->kernels[i];
    ts_strbuf_printf(&o, "\nkernel %u: %s(", i, str_at(p, k->name));
    for (uint32_t j = 0; j < k->n_params; j++) {
      const ts_bc_kparam *kp = &k->params[j];
      ts_strbuf_printf(&o, "%s%s: ", j ? ", " : "", str_at(p, kp->name));
      if (!(kp->flags & TS_BC_KPARAM_BUFFER)) {
        ts_strbuf_append(&o, "int64");
        continue;
      }
      ts_strbuf_printf(&o, "%s%s[", kp->flags & TS_BC_KPARAM_WRITTEN ? "out " : "",
                       ts_dtype_str(kp->dtype, dt));
      for (uint32_t d = 0; d < kp->ndim; d++) {
        const uint32_t *dd = kp->dims + 3 * d;
        if (d) ts_strbuf_append(&o, ", ");
        if (dd[0] == TS_BC_DIM_IMM) ts_strbuf_printf(&o, "%lld", (long long)ts_bc_dim_value(dd));
        else if (dd[0] == TS_BC_DIM_SLOT) ts_strbuf_printf(&o, "v%lld", (long long)ts_bc_dim_value(dd));
        else ts_strbuf_append(&o, "_");
      }
      ts_strbuf_append(&o, "]");
    }
    ts_strbuf_append(&o, ")");
  }
  if (p->n_kernels) ts_strbuf_append(&o, "\n");
  for (uint32_t i = 0; i < p->n_consts; i++) {
    const ts_bc_const *c = &p->consts[i];
    ts_strbuf_printf(&o, "%sconstant %u: %s[", i ? "" : "\n", i,
                     ts_dtype_str(c->dtype, dt));
    for (uint32_t d = 0; d < c->ndim && d < TS_MAX_NDIM; d++)
      ts_strbuf_printf(&o, "%s%lld", d ? ", " : "", (long long)c->shape[d]);
    ts_strbuf_printf(&o, "] (%llu bytes)\n", (unsigned long long)c->nbytes);
  }
  if (!o.data) ts_strbuf_append(&o, "");
  return o.data;
}

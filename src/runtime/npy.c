/* npy.c: NumPy .npy files, read and written.
 *
 * Layout (numpy/lib/format.py): the magic "\x93NUMPY", major and minor
 * version bytes, the header length (little-endian u16 for 1.0, u32 for 2.0
 * and 3.0), then the header: a Python dict literal such as
 *
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 784), }
 *
 * padded with spaces and ended by '\n', then the raw C-order data.
 * The reader accepts any key order, whitespace, a trailing comma, single or
 * double quotes, "L" suffixes on shape numbers (Python 2 writers), and
 * requires exactly the three keys.  The whole buffer must be header + data:
 * trailing bytes are an error.  The writer produces format 1.0 exactly as
 * NumPy does: header padded so that the data starts at a multiple of 64. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/runtime.h"

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
#define NPY_ALIGN 64

/* ---- header dict parser ------------------------------------------
 *
 * header  := ws '{' ws (entry (ws ',' ws entry)* ws ','?)? ws '}' ws
 * entry   := string ws ':' ws value
 * value   := string | 'True' | 'False' | tuple
 * tuple   := '(' ws (int ws (',' ws int ws)* ','?)? ws ')'
 */

typedef struct hparser {
  const char *p, *end;
  const char *name; /* for messages */
} hparser;

static void skip_ws(hparser *h) {
  while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' ||
                           *h->p == '\r' || *h->p == '\0'))
    h->p++;
}

static ts_status *malformed(hparser *h, const char *what) {
  return ts_error(TS_ERR_FORMAT, "%s: malformed header: %s", h->name, what);
}

static bool accept(hparser *h, char c) {
  skip_ws(h);
  if (h->p < h->end && *h->p == c) {
    h->p++;
    return true;
  }
  return false;
}

/* A quoted string without escapes; *out points into the header. */
static ts_status *parse_string(hparser *h, const char **out, size_t *out_len) {
  skip_ws(h);
  if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
    return malformed(h, "expected a quoted string");
  char q = *h->p++;
  const char *s = h->p;
  while (h->p < h->end && *h->p != q) {
    if (*h->p == '\\')
      return malformed(h, "escapes in strings are not supported");
    h->p++;
  }
  if (h->p >= h->end)
    return malformed(h, "unterminated string");
  *out = s;
  *out_len = (size_t)(h->p - s);
  h->p++;
  return NULL;
}

static bool accept_word(hparser *h, const char *w) {
  size_t n = strlen(w);
  skip_ws(h);
  if ((size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0)
    return false;
  if ((size_t)(h->end - h->p) > n &&
      (isalnum((unsigned char)h->p[n]) || h->p[n] == '_'))
    return false;
  h->p += n;
  return true;
}

static ts_status *parse_shape(hparser *h, int *out_ndim, int64_t *shape) {
  int ndim = 0;
  bool last_comma = false;
  if (!accept(h, '('))
    return malformed(h, "'shape' is not a tuple");
  while (!accept(h, ')')) {
    skip_ws(h);
    if (h->p >= h->end || !isdigit((unsigned char)*h->p))
      return malformed(h, "'shape' must be a tuple of non-negative integers");
    int64_t v = 0;
    while (h->p < h->end && isdigit((unsigned char)*h->p)) {
      int d = *h->p++ - '0';
      if (v > (INT64_MAX - d) / 10)
        return malformed(h, "a 'shape' dimension is too large");
      v = v * 10 + d;
    }
    if (h->p < h->end && (*h->p == 'L' || *h->p == 'l'))
      h->p++;
    if (ndim == TS_MAX_NDIM)
      return ts_error(TS_ERR_UNSUPPORTED,
                      "%s: too many dimensions (more than %d)", h->name,
                      TS_MAX_NDIM);
    shape[ndim++] = v;
    last_comma = accept(h, ',');
    if (!last_comma) {
      if (accept(h, ')'))
        break;
      return malformed(h, "expected ',' or ')' in 'shape'");
    }
  }
  /* "(3)" is the integer 3 in Python, not a tuple. */
  if (ndim == 1 && !last_comma)
    return malformed(h, "'shape' is not a tuple");
  *out_ndim = ndim;
  return NULL;
}

/* Maps a descr such as '<f4' to a dtype. */
static ts_status *parse_descr(const char *name, const char *s, size_t n,
                              ts_dtype *out) {
  char order = n > 0 ? s[0] : 0;
  const char *t = s;
  size_t tn = n;
  if (order == '<' || order == '>' || order == '|' || order == '=') {
    t++;
    tn--;
  } else {
    order = '=';
  }
  ts_dtype dt = {0, 0, 1};
  bool ok = false;
  if (tn == 2) {
    char k = t[0], w = t[1];
    int bytes = w - '0';
    switch (k) {
    case 'b':
      ok = bytes == 1;
      dt = TS_BOOLT;
      break;
    case 'i':
    case 'u':
      ok = bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8;
      dt = TS_DT(k == 'i' ? TS_INT : TS_UINT, bytes * 8);
      break;
    case 'f':
      ok = bytes == 2 || bytes == 4 || bytes == 8;
      dt = TS_DT(TS_FLOAT, bytes * 8);
      break;
    }
  }
  if (!ok)
    return ts_error(TS_ERR_UNSUPPORTED, "%s: unsupported dtype '%.*s'", name,
                    (int)(n > 64 ? 64 : n), s);
  if (order == '>' && dt.bits > 8)
    return ts_error(TS_ERR_UNSUPPORTED,
                    "%s: big-endian data is not supported (dtype '%.*s')", name,
                    (int)n, s);
  *out = dt;
  return NULL;
}

static ts_status *parse_header(const char *name, const char *text, size_t len,
                               ts_dtype *out_dtype, int *out_ndim,
                               int64_t *shape) {
  hparser h = {text, text + len, name};
  bool have_descr = false, have_order = false, have_shape = false;
  bool fortran = false;
  const char *descr = NULL;
  size_t descr_len = 0;
  if (!accept(&h, '{'))
    return malformed(&h, "expected '{'");
  for (;;) {
    if (accept(&h, '}'))
      break;
    const char *key;
    size_t key_len;
    TS_RETURN_IF_ERROR(parse_string(&h, &key, &key_len));
    if (!accept(&h, ':'))
      return malformed(&h, "expected ':' after a key");
#define KEY_IS(k) (key_len == strlen(k) && memcmp(key, k, key_len) == 0)
    bool *seen;
    if (KEY_IS("descr")) {
      seen = &have_descr;
      skip_ws(&h);
      if (h.p < h.end && (*h.p == '[' || *h.p == '{'))
        return ts_error(TS_ERR_UNSUPPORTED,
                        "%s: unsupported dtype (structured arrays are not "
                        "supported)",
                        name);
      TS_RETURN_IF_ERROR(parse_string(&h, &descr, &descr_len));
    } else if (KEY_IS("fortran_order")) {
      seen = &have_order;
      if (accept_word(&h, "True"))
        fortran = true;
      else if (accept_word(&h, "False"))
        fortran = false;
      else
        return malformed(&h, "'fortran_order' must be True or False");
    } else if (KEY_IS("shape")) {
      seen = &have_shape;
      TS_RETURN_IF_ERROR(parse_shape(&h, out_ndim, shape));
    } else {
      return ts_error(TS_ERR_FORMAT,
                      "%s: malformed header: unexpected key '%.*s'", name,
                      (int)(key_len > 64 ? 64 : key_len), key);
    }
#undef KEY_IS
    if (*seen)
      return ts_error(TS_ERR_FORMAT,
                      "%s: malformed header: duplicate key '%.*s'", name,
                      (int)key_len, key);
    *seen = true;
    if (accept(&h, ','))
      continue;
    if (accept(&h, '}'))
      break;
    return malformed(&h, "expected ',' or '}'");
  }
  skip_ws(&h);
  if (h.p != h.end)
    return malformed(&h, "unexpected text after '}'");
  if (!have_descr)
    return malformed(&h, "missing key 'descr'");
  if (!have_order)
    return malformed(&h, "missing key 'fortran_order'");
  if (!have_shape)
    return malformed(&h, "missing key 'shape'");
  TS_RETURN_IF_ERROR(parse_descr(name, descr, descr_len, out_dtype));
  /* A 0-d or 1-d array is the same in either order. */
  int nontrivial = 0;
  for (int i = 0; i < *out_ndim; i++)
    if (shape[i] != 1)
      nontrivial++;
  if (fortran && nontrivial > 1)
    return ts_error(TS_ERR_UNSUPPORTED,
                    "%s: Fortran-order arrays are not supported", name);
  return NULL;
}

/* Re-makes `st` as "name: message" (the file first, as every .npy error). */
static ts_status *prefix_name(ts_status *st, const char *name) {
  ts_status *named =
      ts_error(ts_status_code_of(st), "%s: %s", name, ts_status_message(st));
  ts_status_free(st);
  return named;
}

/* ---- reading ----------------------------------------------------- */

ts_status *ts_npy_parse(const void *buf, size_t len, const char *name,
                        ts_ndarray **out) {
  const unsigned char *b = buf;
  *out = NULL;
  if (!name)
    name = "<npy>";
  if (len < sizeof(NPY_MAGIC) || memcmp(b, NPY_MAGIC, sizeof(NPY_MAGIC)) != 0)
    return ts_error(TS_ERR_FORMAT, "%s: not a .npy file (bad magic)", name);
  if (len < 8)
    return ts_error(TS_ERR_FORMAT, "%s: truncated header", name);
  int major = b[6], minor = b[7];
  if (major < 1 || major > 3 || minor != 0)
    return ts_error(TS_ERR_UNSUPPORTED,
                    "%s: unsupported .npy format version %d.%d", name, major,
                    minor);
  size_t start = major == 1 ? 10 : 12;
  if (len < start)
    return ts_error(TS_ERR_FORMAT, "%s: truncated header", name);
  size_t hlen = major == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                           : (size_t)b[8] | (size_t)b[9] << 8 |
                                 (size_t)b[10] << 16 | (size_t)b[11] << 24;
  if (hlen > len - start)
    return ts_error(TS_ERR_FORMAT, "%s: truncated header", name);

  ts_dtype dtype;
  int ndim = 0;
  int64_t shape[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(
      parse_header(name, (const char *)b + start, hlen, &dtype, &ndim, shape));
  /* Check the size against the file before allocating, so that a header
   * claiming terabytes fails fast.  On overflow ts_ndarray_create reports
   * "tensor too large" without allocating. */
  size_t need = ts_dtype_bytes(dtype);
  bool overflow = false;
  for (int i = 0; i < ndim; i++)
    if (!ts_size_mul(need, (size_t)shape[i], &need))
      overflow = true;
  for (int i = 0; i < ndim; i++)
    if (shape[i] == 0)
      need = 0, overflow = false;
  size_t have = len - start - hlen;
  if (!overflow && have < need)
    return ts_error(TS_ERR_FORMAT,
                    "%s: truncated data: expected %zu bytes, found %zu", name,
                    need, have);
  if (!overflow && have > need)
    return ts_error(TS_ERR_FORMAT, "%s: %zu extra bytes after the data", name,
                    have - need);
  ts_ndarray *a;
  ts_status *st = ts_ndarray_create(ndim, shape, dtype, &a);
  if (st)
    return prefix_name(st, name);
  TS_ASSERT(ts_ndarray_nbytes(a) == need);
  if (need)
    memcpy(ts_ndarray_data(a), b + start + hlen, need);
  if (ts_dtype_is_bool(dtype)) {
    /* Normalize to 0/1 so that every reader sees a valid bool. */
    uint8_t *d = ts_ndarray_data(a);
    for (size_t i = 0; i < need; i++)
      d[i] = d[i] != 0;
  }
  *out = a;
  return NULL;
}

ts_status *ts_npy_read(const char *path, ts_ndarray **out) {
  char *data;
  size_t len;
  *out = NULL;
  TS_RETURN_IF_ERROR(ts_read_file(path, &data, &len));
  ts_status *st = ts_npy_parse(data, len, path, out);
  free(data);
  return st;
}

/* ---- writing ----------------------------------------------------- */

static ts_status *descr_of(ts_dtype t, const char **out) {
  switch (t.code) {
  case TS_BOOL:
    *out = "|b1";
    return NULL;
  case TS_INT:
    switch (t.bits) {
    case 8:
      *out = "|i1";
      return NULL;
    case 16:
      *out = "<i2";
      return NULL;
    case 32:
      *out = "<i4";
      return NULL;
    case 64:
      *out = "<i8";
      return NULL;
    }
    break;
  case TS_UINT:
    switch (t.bits) {
    case 8:
      *out = "|u1";
      return NULL;
    case 16:
      *out = "<u2";
      return NULL;
    case 32:
      *out = "<u4";
      return NULL;
    case 64:
      *out = "<u8";
      return NULL;
    }
    break;
  case TS_FLOAT:
    switch (t.bits) {
    case 16:
      *out = "<f2";
      return NULL;
    case 32:
      *out = "<f4";
      return NULL;
    case 64:
      *out = "<f8";
      return NULL;
    }
    break;
  }
  char buf[32];
  return ts_error(TS_ERR_UNSUPPORTED, "cannot write dtype %s to a .npy file",
                  ts_dtype_str(t, buf));
}

ts_status *ts_npy_serialize(const ts_ndarray *a, void **out_buf,
                            size_t *out_len) {
  const char *descr = NULL;
  *out_buf = NULL;
  *out_len = 0;
  TS_RETURN_IF_ERROR(descr_of(ts_ndarray_dtype(a), &descr));
  int ndim = ts_ndarray_ndim(a);
  const int64_t *shape = ts_ndarray_shape(a);
  ts_strbuf h = {0};
  ts_strbuf_printf(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                   descr);
  for (int i = 0; i < ndim; i++)
    ts_strbuf_printf(&h, "%s%lld", i ? ", " : "", (long long)shape[i]);
  ts_strbuf_append(&h, ndim == 1 ? ",), }" : "), }");
  /* As NumPy >= 1.23: spare room so the first dimension can grow in place
   * (up to 21 digits), then pad so that magic+version+len+header+'\n' is a
   * multiple of 64. */
  if (ndim > 0) {
    int digits = snprintf(NULL, 0, "%lld", (long long)shape[0]);
    for (int i = digits; i < 21; i++)
      ts_strbuf_append(&h, " ");
  }
  size_t pad = NPY_ALIGN - ((10 + h.len + 1) % NPY_ALIGN);
  for (size_t i = 0; i < pad; i++)
    ts_strbuf_append(&h, " ");
  ts_strbuf_append(&h, "\n");
  TS_ASSERT(h.len <= 65535 && (10 + h.len) % NPY_ALIGN == 0);

  size_t nbytes = ts_ndarray_nbytes(a);
  size_t total = 10 + h.len + nbytes;
  unsigned char *buf = ts_xmalloc(total);
  memcpy(buf, NPY_MAGIC, sizeof(NPY_MAGIC));
  buf[6] = 1;
  buf[7] = 0;
  buf[8] = (unsigned char)(h.len & 0xff);
  buf[9] = (unsigned char)(h.len >> 8);
  memcpy(buf + 10, h.data, h.len);
  if (nbytes)
    memcpy(buf + 10 + h.len, ts_ndarray_data(a), nbytes);
  ts_strbuf_free(&h);
  *out_buf = buf;
  *out_len = total;
  return NULL;
}

ts_status *ts_npy_write(const char *path, const ts_ndarray *a) {
  void *buf;
  size_t len;
  ts_status *st = ts_npy_serialize(a, &buf, &len);
  if (st)
    return prefix_name(st, path);
  st = ts_write_file_atomic(path, buf, len);
  free(buf);
  return st;
}

/* alloc.c: the base pieces the runtime library needs besides statuses and
 * dtypes: checked heap allocation, overflow-checked sizes, growable strings
 * and whole-file I/O (reads, and atomic writes that never leave a partial
 * file behind). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/base.h"

void *ts_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) ts_panic(__FILE__, __LINE__, "out of memory (%zu bytes)", n);
  return p;
}

void *ts_xcalloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) ts_panic(__FILE__, __LINE__, "out of memory");
  return p;
}

void *ts_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) ts_panic(__FILE__, __LINE__, "out of memory (%zu bytes)", n);
  return q;
}

char *ts_xstrdup(const char *s) {
  size_t n = strlen(s);
  char *d = ts_xmalloc(n + 1);
  memcpy(d, s, n + 1);
  return d;
}

bool ts_size_mul(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

bool ts_size_add(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

char *ts_strdup_printf(const char *fmt, ...) {
  ts_strbuf b = {0};
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  return b.data ? b.data : ts_xstrdup("");
}

/* ---- strbuf ------------------------------------------------------------ */

static void strbuf_reserve(ts_strbuf *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  b->data = ts_xrealloc(b->data, cap);
  b->cap = cap;
}

void ts_strbuf_appendn(ts_strbuf *b, const char *s, size_t n) {
  strbuf_reserve(b, n);
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

void ts_strbuf_append(ts_strbuf *b, const char *s) {
  ts_strbuf_appendn(b, s, strlen(s));
}

void ts_strbuf_vprintf(ts_strbuf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) return;
  strbuf_reserve(b, (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void ts_strbuf_printf(ts_strbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(b, fmt, ap);
  va_end(ap);
}

void ts_strbuf_free(ts_strbuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- files ----------------------------------------------------------- */

ts_status *ts_read_file(const char *path, char **out_data, size_t *out_len) {
  *out_data = NULL;
  *out_len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return ts_error(TS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  ts_strbuf b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) ts_strbuf_appendn(&b, chunk, n);
  int err = ferror(f);
  fclose(f);
  if (err) {
    ts_strbuf_free(&b);
    return ts_error(TS_ERR_IO, "%s: read error", path);
  }
  if (!b.data) ts_strbuf_appendn(&b, "", 0);
  *out_data = b.data;
  *out_len = b.len;
  return NULL;
}

ts_status *ts_write_file_atomic(const char *path, const void *data, size_t len) {
  char *tmp = ts_strdup_printf("%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    ts_status *st = ts_error(TS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    free(tmp);
    return st;
  }
  size_t w = len ? fwrite(data, 1, len, f) : 0;
  int bad = (w != len) | (fclose(f) != 0);
  if (bad || rename(tmp, path) != 0) {
    ts_status *st = ts_error(TS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    remove(tmp);
    free(tmp);
    return st;
  }
  free(tmp);
  return NULL;
}

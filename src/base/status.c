/* status.c: error statuses with source locations, and the panic used by
 * TS_ASSERT.  A status is a heap object owned by whoever holds the pointer;
 * NULL means success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/base.h"

struct ts_status {
  ts_status_code code;
  ts_loc loc;
  char *message;     /* "file:line:col: text" (location prefix when known) */
  char *source_line; /* may be NULL */
  char *rendered;    /* cache for ts_status_render */
};

ts_status *ts_status_makev(ts_status_code code, ts_loc loc, const char *fmt,
                           va_list ap) {
  ts_status *st = ts_xcalloc(1, sizeof(*st));
  st->code = code;
  st->loc = loc;
  ts_strbuf b = {0};
  if (loc.line > 0)
    ts_strbuf_printf(&b, "%s:%d:%d: ", loc.file ? loc.file : "<input>",
                     loc.line, loc.col);
  ts_strbuf_vprintf(&b, fmt, ap);
  st->message = b.data ? b.data : ts_xstrdup("");
  return st;
}

ts_status *ts_status_make(ts_status_code code, ts_loc loc, const char *fmt,
                          ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_status *st = ts_status_makev(code, loc, fmt, ap);
  va_end(ap);
  return st;
}

ts_status *ts_error(ts_status_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_status *st = ts_status_makev(code, (ts_loc){0}, fmt, ap);
  va_end(ap);
  return st;
}

ts_status *ts_status_annotate(ts_status *st, const char *fmt, ...) {
  if (!st) return st;
  ts_strbuf b = {0};
  ts_strbuf_append(&b, st->message);
  ts_strbuf_append(&b, "\n  ");
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  free(st->message);
  st->message = b.data;
  free(st->rendered);
  st->rendered = NULL;
  return st;
}

void ts_status_set_source_line(ts_status *st, const char *line_text) {
  if (!st || !line_text) return;
  size_t n = strcspn(line_text, "\r\n");
  free(st->source_line);
  st->source_line = ts_xmalloc(n + 1);
  memcpy(st->source_line, line_text, n);
  st->source_line[n] = 0;
  free(st->rendered);
  st->rendered = NULL;
}

ts_status_code ts_status_code_of(const ts_status *st) {
  return st ? st->code : TS_OK;
}
const char *ts_status_message(const ts_status *st) {
  return st ? st->message : "ok";
}
ts_loc ts_status_loc(const ts_status *st) {
  return st ? st->loc : (ts_loc){0};
}

const char *ts_status_render(ts_status *st) {
  if (!st) return "ok";
  if (st->rendered) return st->rendered;
  ts_strbuf b = {0};
  /* The first line of the message, then the source excerpt, then the rest
   * (context added by callers). */
  const char *nl = strchr(st->message, '\n');
  size_t first = nl ? (size_t)(nl - st->message) : strlen(st->message);
  ts_strbuf_appendn(&b, st->message, first);
  if (st->source_line && st->loc.line > 0) {
    ts_strbuf_append(&b, "\n    ");
    ts_strbuf_append(&b, st->source_line);
    ts_strbuf_append(&b, "\n    ");
    size_t col = st->loc.col > 0 ? (size_t)st->loc.col : 1;
    size_t n = strlen(st->source_line);
    for (size_t i = 1; i < col; i++) {
      /* keep tabs so the caret lines up; past the line's end, spaces */
      char c = (i - 1 < n && st->source_line[i - 1] == '\t') ? '\t' : ' ';
      ts_strbuf_appendn(&b, &c, 1);
    }
    ts_strbuf_append(&b, "^");
  }
  if (nl) ts_strbuf_append(&b, nl);
  st->rendered = b.data;
  return st->rendered;
}

void ts_status_free(ts_status *st) {
  if (!st) return;
  free(st->message);
  free(st->source_line);
  free(st->rendered);
  free(st);
}

void ts_panic(const char *file, int line, const char *fmt, ...) {
  fflush(stdout);
  fprintf(stderr, "%s:%d: internal error: ", file, line);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

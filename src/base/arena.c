/* arena.c: the bump allocator behind every IRModule.  Chunks grow
 * geometrically; large requests get a chunk of their own.  All memory is
 * zeroed and 16-byte aligned, and freed only by ts_arena_destroy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/base.h"

typedef struct chunk {
  struct chunk *next;
  size_t size, used;
  _Alignas(64) unsigned char data[];
} chunk;

struct ts_arena {
  chunk *head;
  size_t total;
};

ts_arena *ts_arena_create(void) { return ts_xcalloc(1, sizeof(ts_arena)); }

void ts_arena_destroy(ts_arena *a) {
  if (!a) return;
  for (chunk *c = a->head, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  free(a);
}

static chunk *new_chunk(size_t size) {
  size_t bytes;
  if (!ts_size_add(sizeof(chunk), size, &bytes))
    ts_panic(__FILE__, __LINE__, "arena request too large");
  chunk *c = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
  if (!c) ts_panic(__FILE__, __LINE__, "out of memory (%zu bytes)", bytes);
  c->next = NULL;
  c->size = size;
  c->used = 0;
  return c;
}

void *ts_arena_alloc(ts_arena *a, size_t n) {
  size_t need = (n + 15) & ~(size_t)15;
  if (need < n) ts_panic(__FILE__, __LINE__, "arena request too large");
  if (need == 0) need = 16;
  chunk *c = a->head;
  if (!c || c->size - c->used < need) {
    size_t size = c ? c->size * 2 : 64 * 1024;
    if (size > 16 * 1024 * 1024) size = 16 * 1024 * 1024;
    if (size < need) size = need;
    chunk *nc = new_chunk(size);
    if (c && need > c->size / 2 && c->size - c->used >= 256) {
      /* A big request: keep the current chunk in front for small ones. */
      nc->next = c->next;
      c->next = nc;
      nc->used = need;
      memset(nc->data, 0, need);
      a->total += need;
      return nc->data;
    }
    nc->next = c;
    a->head = c = nc;
  }
  void *p = c->data + c->used;
  c->used += need;
  a->total += need;
  memset(p, 0, need);
  return p;
}

void *ts_arena_array(ts_arena *a, size_t count, size_t size) {
  size_t n;
  if (!ts_size_mul(count, size, &n))
    ts_panic(__FILE__, __LINE__, "arena array size overflows");
  return ts_arena_alloc(a, n);
}

char *ts_arena_strndup(ts_arena *a, const char *s, size_t n) {
  char *d = ts_arena_alloc(a, n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

char *ts_arena_strdup(ts_arena *a, const char *s) {
  return s ? ts_arena_strndup(a, s, strlen(s)) : NULL;
}

char *ts_arena_printf(ts_arena *a, const char *fmt, ...) {
  ts_strbuf b = {0};
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  char *r = ts_arena_strndup(a, b.data ? b.data : "", b.len);
  ts_strbuf_free(&b);
  return r;
}

void *ts_arena_memdup(ts_arena *a, const void *p, size_t n) {
  void *d = ts_arena_alloc(a, n);
  if (n) memcpy(d, p, n);
  return d;
}

size_t ts_arena_used(const ts_arena *a) { return a->total; }

void *ts_arena_alloc_aligned(ts_arena *a, size_t n, size_t align) {
  TS_ASSERT(align && (align & (align - 1)) == 0 && align <= 4096);
  size_t total;
  if (!ts_size_add(n, align, &total))
    ts_panic(__FILE__, __LINE__, "arena request too large");
  unsigned char *p = ts_arena_alloc(a, total);
  uintptr_t u = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
  return (void *)u;
}

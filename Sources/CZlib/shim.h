#ifndef UNITAUDIT_CZLIB_SHIM_H
#define UNITAUDIT_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 is a macro, which Swift does not import: a gzip stream (window 15, +16). */
static inline int unitaudit_inflate_init_gzip(z_stream *stream) {
  return inflateInit2(stream, 15 + 16);
}
#endif

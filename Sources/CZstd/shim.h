#ifndef UNITAUDIT_CZSTD_SHIM_H
#define UNITAUDIT_CZSTD_SHIM_H
#include <zstd.h>

/* zstd.h's size markers are expression macros, which Swift does not import. */
static const unsigned long long unitaudit_zstd_contentsize_unknown = ZSTD_CONTENTSIZE_UNKNOWN;
static const unsigned long long unitaudit_zstd_contentsize_error = ZSTD_CONTENTSIZE_ERROR;
#endif

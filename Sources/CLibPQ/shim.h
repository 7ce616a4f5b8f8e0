#ifndef UNITAUDIT_CLIBPQ_SHIM_H
#define UNITAUDIT_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif

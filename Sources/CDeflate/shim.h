#ifndef UNITAUDIT_CDEFLATE_SHIM_H
#define UNITAUDIT_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif

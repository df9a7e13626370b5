#ifndef DELTAFLOW_CPNG_SHIM_H
#define DELTAFLOW_CPNG_SHIM_H
#include <png.h>
#endif

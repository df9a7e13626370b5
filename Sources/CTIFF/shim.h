#ifndef DELTAFLOW_CTIFF_SHIM_H
#define DELTAFLOW_CTIFF_SHIM_H
#include <tiffio.h>
#endif

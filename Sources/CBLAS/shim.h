#ifndef DELTAFLOW_CBLAS_SHIM_H
#define DELTAFLOW_CBLAS_SHIM_H
#include <cblas.h>
#endif

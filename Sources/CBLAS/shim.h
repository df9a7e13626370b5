#ifndef DELTAFLOW_CBLAS_SHIM_H
#define DELTAFLOW_CBLAS_SHIM_H
#include <stddef.h>
#include <cblas.h>

/* LAPACK's Cholesky solve, which OpenBLAS ships inside libopenblas (Debian's libopenblas-dev has
   no lapack.h). `uplo_length` is gfortran's hidden length of the character argument. */
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b,
            const int *ldb, int *info, size_t uplo_length);
#endif

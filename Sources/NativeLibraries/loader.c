// Forwarders for the XGBoost and OpenBLAS functions Learning uses; see include/NativeLibraries.h.
#include "NativeLibraries.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <xgboost/c_api.h>

static char load_error[512];

static void *open_library(const char *name) {
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "%s", reason ? reason : name);
    }
    return handle;
}

const char *lgc_native_load_error(void) { return load_error[0] ? load_error : NULL; }

// MARK: XGBoost: every function returns -1 with XGBGetLastError's message when the library cannot be opened.

static void *xgboost;
static pthread_once_t xgboost_once = PTHREAD_ONCE_INIT;
static void open_xgboost(void) { xgboost = open_library("libxgboost.so.0"); }

static void *xgboost_symbol(const char *name) {
    pthread_once(&xgboost_once, open_xgboost);
    return xgboost ? dlsym(xgboost, name) : NULL;
}

// Each forwarder caches its function pointer (atomically: fits run on several threads at once).
#define CACHED(cache, lookup)                                                      \
    __typeof__(cache) real = __atomic_load_n(&cache, __ATOMIC_ACQUIRE);            \
    if (!real) {                                                                   \
        real = (__typeof__(cache))(lookup);                                        \
        if (real) __atomic_store_n(&cache, real, __ATOMIC_RELEASE);                \
    }

const char *XGBGetLastError(void) {
    static const char *(*cache)(void);
    CACHED(cache, xgboost_symbol("XGBGetLastError"))
    if (!real) return load_error[0] ? load_error : "libxgboost.so.0 has no XGBGetLastError";
    return real();
}

#define XGB_FORWARD(name, parameters, arguments)                                   \
    int name parameters {                                                          \
        static int (*cache) parameters;                                            \
        CACHED(cache, xgboost_symbol(#name))                   \
        if (!real) return -1;                                                      \
        return real arguments;                                                     \
    }

XGB_FORWARD(XGBoosterCreate, (const DMatrixHandle dmats[], bst_ulong len, BoosterHandle *out), (dmats, len, out))
XGB_FORWARD(XGBoosterFeatureScore, (BoosterHandle handle, const char *config, bst_ulong *out_n_features,
            char const ***out_features, bst_ulong *out_dim, bst_ulong const **out_shape, float const **out_scores),
            (handle, config, out_n_features, out_features, out_dim, out_shape, out_scores))
XGB_FORWARD(XGBoosterFree, (BoosterHandle handle), (handle))
XGB_FORWARD(XGBoosterGetStrFeatureInfo, (BoosterHandle handle, const char *field, bst_ulong *len, const char ***out_features),
            (handle, field, len, out_features))
XGB_FORWARD(XGBoosterLoadModelFromBuffer, (BoosterHandle handle, const void *buf, bst_ulong len), (handle, buf, len))
XGB_FORWARD(XGBoosterPredict, (BoosterHandle handle, DMatrixHandle dmat, int option_mask, unsigned ntree_limit, int training,
            bst_ulong *out_len, const float **out_result), (handle, dmat, option_mask, ntree_limit, training, out_len, out_result))
XGB_FORWARD(XGBoosterSaveModelToBuffer, (BoosterHandle handle, char const *config, bst_ulong *out_len, char const **out_dptr),
            (handle, config, out_len, out_dptr))
XGB_FORWARD(XGBoosterSetParam, (BoosterHandle handle, const char *name, const char *value), (handle, name, value))
XGB_FORWARD(XGBoosterSetStrFeatureInfo, (BoosterHandle handle, const char *field, const char **features, const bst_ulong size),
            (handle, field, features, size))
XGB_FORWARD(XGBoosterUpdateOneIter, (BoosterHandle handle, int iter, DMatrixHandle dtrain), (handle, iter, dtrain))
XGB_FORWARD(XGDMatrixCreateFromMat, (const float *data, bst_ulong nrow, bst_ulong ncol, float missing, DMatrixHandle *out),
            (data, nrow, ncol, missing, out))
XGB_FORWARD(XGDMatrixFree, (DMatrixHandle handle), (handle))
XGB_FORWARD(XGDMatrixNumNonMissing, (DMatrixHandle handle, bst_ulong *out), (handle, out))
XGB_FORWARD(XGDMatrixSetFloatInfo, (DMatrixHandle handle, const char *field, const float *array, bst_ulong len),
            (handle, field, array, len))

// MARK: OpenBLAS: these return nothing, so a library that cannot be opened ends the program with dlerror's words
// (as the dynamic loader did at start when OpenBLAS was linked directly).

static void *openblas;
static pthread_once_t openblas_once = PTHREAD_ONCE_INIT;
static void open_openblas(void) { openblas = open_library("libopenblas.so.0"); }

static void *openblas_symbol(const char *name) {
    pthread_once(&openblas_once, open_openblas);
    void *symbol = openblas ? dlsym(openblas, name) : NULL;
    if (!symbol) {
        fprintf(stderr, "lgc-shell: cannot use OpenBLAS (%s): %s\n", name, load_error[0] ? load_error : "symbol not found");
        abort();
    }
    return symbol;
}

void openblas_set_num_threads(int num_threads) {
    static void (*cache)(int);
    CACHED(cache, openblas_symbol("openblas_set_num_threads"))
    real(num_threads);
}

void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER Order, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransA,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE TransB, OPENBLAS_CONST blasint M, OPENBLAS_CONST blasint N,
                 OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha, OPENBLAS_CONST float *A, OPENBLAS_CONST blasint lda,
                 OPENBLAS_CONST float *B, OPENBLAS_CONST blasint ldb, OPENBLAS_CONST float beta, float *C,
                 OPENBLAS_CONST blasint ldc) {
    typedef void (*gemm)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
                         const float *, blasint, const float *, blasint, float, float *, blasint);
    static gemm cache;
    CACHED(cache, openblas_symbol("cblas_sgemm"))
    real(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void cblas_dgemm(OPENBLAS_CONST enum CBLAS_ORDER Order, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransA,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE TransB, OPENBLAS_CONST blasint M, OPENBLAS_CONST blasint N,
                 OPENBLAS_CONST blasint K, OPENBLAS_CONST double alpha, OPENBLAS_CONST double *A, OPENBLAS_CONST blasint lda,
                 OPENBLAS_CONST double *B, OPENBLAS_CONST blasint ldb, OPENBLAS_CONST double beta, double *C,
                 OPENBLAS_CONST blasint ldc) {
    typedef void (*gemm)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint, blasint, double,
                         const double *, blasint, const double *, blasint, double, double *, blasint);
    static gemm cache;
    CACHED(cache, openblas_symbol("cblas_dgemm"))
    real(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

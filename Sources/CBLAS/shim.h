// OpenBLAS's CBLAS interface (Debian's libopenblas-dev), for the LSTM's batched matrix products.
#ifndef LGC_CBLAS_SHIM_H
#define LGC_CBLAS_SHIM_H
#include <cblas.h>
#endif

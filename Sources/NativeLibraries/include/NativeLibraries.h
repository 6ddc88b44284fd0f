#ifndef LGC_NATIVE_LIBRARIES_H
#define LGC_NATIVE_LIBRARIES_H

// XGBoost and OpenBLAS are opened with dlopen the first time a model needs them, not at program start:
// together they bring ~24,000 symbol relocations (and OpenBLAS its thread pool) that every start of the shell
// paid, `help` included. loader.c defines the C API functions Learning calls (the headers' own names and
// signatures) and forwards each to the library, loaded once.

/// Why a library could not be opened (dlerror's words), or NULL when it is loaded or not yet needed.
const char *lgc_native_load_error(void);

#endif

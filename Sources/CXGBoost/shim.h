// XGBoost's C API (Debian's libxgboost-dev, 1.7.x).
#ifndef LGC_CXGBOOST_SHIM_H
#define LGC_CXGBOOST_SHIM_H
#include <xgboost/c_api.h>
#endif

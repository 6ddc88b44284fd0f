#ifndef LGC_HTTP_H
#define LGC_HTTP_H

#include <stddef.h>

// A blocking HTTP GET through the system's libcurl (libcurl.so.4, which FoundationNetworking loads too),
// opened with dlopen so no curl headers or -dev package are needed. The body is read through a write
// callback that stops the transfer the moment it passes max_bytes — after gzip/deflate decoding, which
// libcurl does as the bytes arrive — so neither a huge answer nor a gzip bomb is ever held whole.

typedef struct {
    /// libcurl's CURLcode (0 on success), or -1 when libcurl could not be loaded.
    int curl_code;
    /// The HTTP status of the last response, 0 when none came.
    long status;
    /// 1 when the body (as sent, by Content-Length, or decoded) passed max_bytes; reading stopped there.
    int too_large;
    /// The Retry-After header's value, empty when absent.
    char retry_after[64];
    /// The X-MBX-USED-WEIGHT-1M header's value (Binance's request weight used this minute), empty when absent.
    char used_weight[32];
    /// libcurl's words for a failure, empty on success.
    char error[256];
    /// The body as received (decoded), `length` bytes; free with lgc_http_result_free.
    unsigned char *body;
    size_t length;
} lgc_http_result;

/// GET `url` with `header_count` "Name: value" headers, a whole-transfer limit of `timeout_ms`.
/// Fills `result`; returns result->curl_code.
int lgc_http_get(const char *url, const char *const *headers, int header_count, long timeout_ms,
                 size_t max_bytes, lgc_http_result *result);

void lgc_http_result_free(lgc_http_result *result);

#endif

#include "lgc_http.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// libcurl's ABI: option numbers and codes from curl.h (stable across libcurl 7 and 8).
enum {
    OPT_WRITEDATA = 10001, OPT_URL = 10002, OPT_ERRORBUFFER = 10010, OPT_HTTPHEADER = 10023,
    OPT_HEADERDATA = 10029, OPT_NOPROGRESS = 43, OPT_FOLLOWLOCATION = 52, OPT_NOSIGNAL = 99,
    OPT_ACCEPT_ENCODING = 10102, OPT_TIMEOUT_MS = 155, OPT_PROTOCOLS = 181,
    OPT_WRITEFUNCTION = 20011, OPT_HEADERFUNCTION = 20079, OPT_MAXFILESIZE_LARGE = 30117,
    INFO_RESPONSE_CODE = 0x200002, PROTO_HTTP_HTTPS = 3, GLOBAL_DEFAULT = 3,
    CODE_FILESIZE_EXCEEDED = 63, CURL_ERROR_SIZE = 256,
};

typedef int (*setopt_fn)(void *, int, ...);
typedef int (*getinfo_fn)(void *, int, ...);
static struct {
    int loaded;
    int (*global_init)(long);
    void *(*easy_init)(void);
    setopt_fn easy_setopt;
    int (*easy_perform)(void *);
    getinfo_fn easy_getinfo;
    void (*easy_cleanup)(void *);
    const char *(*easy_strerror)(int);
    void *(*slist_append)(void *, const char *);
    void (*slist_free_all)(void *);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) library = dlopen("libcurl.so", RTLD_NOW | RTLD_LOCAL);
    if (!library) return;
    *(void **)&curl.global_init = dlsym(library, "curl_global_init");
    *(void **)&curl.easy_init = dlsym(library, "curl_easy_init");
    *(void **)&curl.easy_setopt = dlsym(library, "curl_easy_setopt");
    *(void **)&curl.easy_perform = dlsym(library, "curl_easy_perform");
    *(void **)&curl.easy_getinfo = dlsym(library, "curl_easy_getinfo");
    *(void **)&curl.easy_cleanup = dlsym(library, "curl_easy_cleanup");
    *(void **)&curl.easy_strerror = dlsym(library, "curl_easy_strerror");
    *(void **)&curl.slist_append = dlsym(library, "curl_slist_append");
    *(void **)&curl.slist_free_all = dlsym(library, "curl_slist_free_all");
    if (!curl.global_init || !curl.easy_init || !curl.easy_setopt || !curl.easy_perform || !curl.easy_getinfo
        || !curl.easy_cleanup || !curl.easy_strerror || !curl.slist_append || !curl.slist_free_all) return;
    if (curl.global_init(GLOBAL_DEFAULT) != 0) return;
    curl.loaded = 1;
}

typedef struct {
    lgc_http_result *result;
    size_t capacity;
    size_t max_bytes;
} sink;

static size_t on_body(char *data, size_t size, size_t count, void *context) {
    sink *into = context;
    size_t bytes = size * count;
    lgc_http_result *result = into->result;
    if (bytes > into->max_bytes - result->length) {
        result->too_large = 1;
        return 0;   // fewer bytes than given: libcurl stops the transfer now (CURLE_WRITE_ERROR)
    }
    if (result->length + bytes > into->capacity) {
        size_t capacity = into->capacity ? into->capacity : 65536;
        while (capacity < result->length + bytes) capacity *= 2;
        if (capacity > into->max_bytes) capacity = into->max_bytes;
        unsigned char *grown = realloc(result->body, capacity);
        if (!grown) return 0;
        result->body = grown;
        into->capacity = capacity;
    }
    memcpy(result->body + result->length, data, bytes);
    result->length += bytes;
    return bytes;
}

/// Copies a header line's value, trimmed and cut to fit, into `into` when the line is `name: value`.
static void copy_header(const char *data, size_t bytes, const char *name, char *into, size_t capacity) {
    size_t name_length = strlen(name);
    if (bytes <= name_length || strncasecmp(data, name, name_length) != 0) return;
    const char *value = data + name_length;
    size_t length = bytes - name_length;
    while (length > 0 && isspace((unsigned char)*value)) { value++; length--; }
    while (length > 0 && isspace((unsigned char)value[length - 1])) length--;
    if (length >= capacity) length = capacity - 1;
    memcpy(into, value, length);
    into[length] = 0;
}

static size_t on_header(char *data, size_t size, size_t count, void *context) {
    lgc_http_result *result = context;
    size_t bytes = size * count;
    if (bytes >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        // A new response (after 100 Continue, say) starts afresh.
        result->retry_after[0] = 0;
        result->used_weight[0] = 0;
    } else {
        copy_header(data, bytes, "retry-after:", result->retry_after, sizeof result->retry_after);
        copy_header(data, bytes, "x-mbx-used-weight-1m:", result->used_weight, sizeof result->used_weight);
    }
    return bytes;
}

int lgc_http_get(const char *url, const char *const *headers, int header_count, long timeout_ms,
                 size_t max_bytes, lgc_http_result *result) {
    memset(result, 0, sizeof *result);
    pthread_once(&load_once, load);
    if (!curl.loaded) {
        result->curl_code = -1;
        strcpy(result->error, "libcurl (libcurl.so.4) could not be loaded");
        return -1;
    }
    void *handle = curl.easy_init();
    if (!handle) {
        result->curl_code = -1;
        strcpy(result->error, "libcurl could not start a transfer");
        return -1;
    }
    void *list = NULL;
    for (int index = 0; index < header_count; index++) list = curl.slist_append(list, headers[index]);
    sink into = { result, 0, max_bytes };
    char error[CURL_ERROR_SIZE] = "";
    curl.easy_setopt(handle, OPT_URL, url);
    curl.easy_setopt(handle, OPT_PROTOCOLS, (long)PROTO_HTTP_HTTPS);
    curl.easy_setopt(handle, OPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(handle, OPT_NOSIGNAL, 1L);
    curl.easy_setopt(handle, OPT_NOPROGRESS, 1L);
    curl.easy_setopt(handle, OPT_TIMEOUT_MS, timeout_ms);
    curl.easy_setopt(handle, OPT_ACCEPT_ENCODING, "");   // every encoding libcurl decodes
    curl.easy_setopt(handle, OPT_MAXFILESIZE_LARGE, (long long)max_bytes);   // a Content-Length over it: refused at once
    curl.easy_setopt(handle, OPT_HTTPHEADER, list);
    curl.easy_setopt(handle, OPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(handle, OPT_WRITEDATA, &into);
    curl.easy_setopt(handle, OPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(handle, OPT_HEADERDATA, result);
    curl.easy_setopt(handle, OPT_ERRORBUFFER, error);
    int code = curl.easy_perform(handle);
    long status = 0;
    curl.easy_getinfo(handle, INFO_RESPONSE_CODE, &status);
    curl.easy_cleanup(handle);
    curl.slist_free_all(list);
    result->curl_code = code;
    result->status = status;
    if (code == CODE_FILESIZE_EXCEEDED) result->too_large = 1;
    if (code != 0) {
        const char *words = error[0] ? error : curl.easy_strerror(code);
        strncpy(result->error, words, sizeof result->error - 1);
    }
    return code;
}

void lgc_http_result_free(lgc_http_result *result) {
    free(result->body);
    result->body = NULL;
    result->length = 0;
}

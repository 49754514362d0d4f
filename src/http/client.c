/* client.c — a minimal blocking HTTP client over libcurl for the cloister CLI.
 * The caller signs the request (SigV4) and passes every header; this file only
 * moves bytes. */
#include "http/http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
    buf_append(arg, p, size * n);
    return size * n;
}

cl_err http_client_request(const char *method, const char *url, const cl_kvlist *headers,
                           cl_slice body, const char *ca_file, http_client_response *out) {
    CURL *c = curl_easy_init();
    if (!c) return CL_ERR_INTERNAL;
    struct curl_slist *hl = NULL;
    for (size_t i = 0; i < headers->len; i++) {
        char *h = cl_sprintf("%s: %s", headers->items[i].key, headers->items[i].value);
        hl = curl_slist_append(hl, h);
        free(h);
    }
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body.len || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.ptr ? (const char *)body.ptr : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    }
    if (ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    else
        log_error("http client: %s: %s", url, curl_easy_strerror(rc));
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? CL_OK : CL_ERR_IO;
}

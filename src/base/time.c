/* time.c — the few UTC time formats AWS protocols use, parsed strictly. A test
 * (or an operator checking expiry) can shift the clock with
 * CLOISTER_FAKE_NOW_OFFSET=<seconds>; it is read once. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int digits(cl_slice s, size_t off, size_t n) {
    int v = 0;
    for (size_t i = off; i < off + n; i++) {
        if (i >= s.len || s.ptr[i] < '0' || s.ptr[i] > '9') return -1;
        v = v * 10 + (s.ptr[i] - '0');
    }
    return v;
}

static cl_err make_time(int y, int mo, int d, int h, int mi, int se, time_t *out) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
        mi > 59 || se > 60)
        return CL_ERR_INVALID;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) return CL_ERR_INVALID;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    *out = timegm(&tm);
    return CL_OK;
}

cl_err time_parse_amz(cl_slice s, time_t *out) {
    if (s.len != 16 || s.ptr[8] != 'T' || s.ptr[15] != 'Z') return CL_ERR_INVALID;
    int y = digits(s, 0, 4), mo = digits(s, 4, 2), d = digits(s, 6, 2);
    int h = digits(s, 9, 2), mi = digits(s, 11, 2), se = digits(s, 13, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0) return CL_ERR_INVALID;
    return make_time(y, mo, d, h, mi, se, out);
}

void time_format_amz(time_t t, char out[17]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void time_format_iso8601(time_t t, char out[21]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

cl_err time_parse_iso8601(cl_slice s, time_t *out) {
    if (s.len < 19 || s.ptr[4] != '-' || s.ptr[7] != '-' ||
        (s.ptr[10] != 'T' && s.ptr[10] != ' ') || s.ptr[13] != ':' || s.ptr[16] != ':')
        return CL_ERR_INVALID;
    int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
    int h = digits(s, 11, 2), mi = digits(s, 14, 2), se = digits(s, 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0) return CL_ERR_INVALID;
    cl_slice rest = slice_sub(s, 19, s.len);
    if (rest.len && rest.ptr[0] == '.') {
        size_t i = 1;
        while (i < rest.len && rest.ptr[i] >= '0' && rest.ptr[i] <= '9')
            i++;
        if (i == 1) return CL_ERR_INVALID;
        rest = slice_sub(rest, i, rest.len);
    }
    if (!(slice_eq_cstr(rest, "Z") || slice_eq_cstr(rest, "+00:00") || rest.len == 0))
        return CL_ERR_INVALID;
    return make_time(y, mo, d, h, mi, se, out);
}

static const char *MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

cl_err time_parse_http(cl_slice s, time_t *out) {
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (s.len != 29 || s.ptr[3] != ',' || s.ptr[4] != ' ' || s.ptr[7] != ' ' || s.ptr[11] != ' ' ||
        s.ptr[16] != ' ' || s.ptr[19] != ':' || s.ptr[22] != ':' ||
        !slice_eq_cstr(slice_sub(s, 25, 4), " GMT"))
        return CL_ERR_INVALID;
    int mo = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s.ptr + 8, MONTHS[i], 3) == 0) mo = i + 1;
    int d = digits(s, 5, 2), y = digits(s, 12, 4), h = digits(s, 17, 2), mi = digits(s, 20, 2),
        se = digits(s, 23, 2);
    if (mo < 0 || d < 0 || y < 0 || h < 0 || mi < 0 || se < 0) return CL_ERR_INVALID;
    return make_time(y, mo, d, h, mi, se, out);
}

void time_format_http(time_t t, char out[30]) {
    char tmp[64];
    static const char *DAYS[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(tmp, sizeof tmp, "%s, %02d %s %04d %02d:%02d:%02d GMT", DAYS[tm.tm_wday], tm.tm_mday,
             MONTHS[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, 29);
    out[29] = 0;
}

time_t time_now(void) {
    static long offset = -1;
    static bool read_env = false;
    if (!read_env) {
        const char *e = getenv("CLOISTER_FAKE_NOW_OFFSET");
        offset = e ? strtol(e, NULL, 10) : 0;
        read_env = true;
    }
    return time(NULL) + offset;
}

uint64_t time_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

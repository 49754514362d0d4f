/* encode.c — hex, base64 and percent-encoding. Decoders reject anything not in
 * their alphabet: callers get CL_ERR_INVALID, never a best guess. */
#include "base.h"

#include <string.h>

static const char HEX[] = "0123456789abcdef";

void hex_encode_to(char *out, const uint8_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
    out[2 * n] = 0;
}

void hex_encode(cl_buf *out, cl_slice in) {
    buf_reserve(out, in.len * 2 + 1);
    hex_encode_to((char *)out->ptr + out->len, in.ptr, in.len);
    out->len += in.len * 2;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

cl_err hex_decode(cl_buf *out, cl_slice in) {
    if (in.len % 2) return CL_ERR_INVALID;
    for (size_t i = 0; i < in.len; i += 2) {
        int hi = hexval(in.ptr[i]), lo = hexval(in.ptr[i + 1]);
        if (hi < 0 || lo < 0) return CL_ERR_INVALID;
        buf_append_byte(out, (uint8_t)(hi << 4 | lo));
    }
    return CL_OK;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Both directions write straight into the buffer's reserved space (one
 * reservation per call, no per-quad append): KMS and S3 move kilobytes of
 * base64 per request. */
void base64_encode(cl_buf *out, cl_slice in) {
    buf_reserve(out, (in.len + 2) / 3 * 4);
    char *o = (char *)out->ptr + out->len;
    size_t i = 0;
    for (; i + 3 <= in.len; i += 3, o += 4) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (uint32_t)in.ptr[i + 1] << 8 | in.ptr[i + 2];
        o[0] = B64[v >> 18], o[1] = B64[(v >> 12) & 63], o[2] = B64[(v >> 6) & 63];
        o[3] = B64[v & 63];
    }
    size_t rest = in.len - i;
    if (rest) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (rest == 2 ? (uint32_t)in.ptr[i + 1] << 8 : 0);
        o[0] = B64[v >> 18], o[1] = B64[(v >> 12) & 63];
        o[2] = rest == 2 ? B64[(v >> 6) & 63] : '=', o[3] = '=';
        o += 4;
    }
    out->len = (size_t)((uint8_t *)o - out->ptr);
}

/* 0..63 for the alphabet, 64 for anything else; filled before main. */
static uint8_t B64_VAL[256];

__attribute__((constructor)) static void b64_table(void) {
    memset(B64_VAL, 64, sizeof B64_VAL);
    for (int i = 0; i < 64; i++)
        B64_VAL[(uint8_t)B64[i]] = (uint8_t)i;
}

cl_err base64_decode(cl_buf *out, cl_slice in) {
    if (in.len % 4) return CL_ERR_INVALID;
    size_t start = out->len;
    buf_reserve(out, in.len / 4 * 3);
    uint8_t *o = out->ptr + out->len;
    for (size_t i = 0; i < in.len; i += 4) {
        const uint8_t *q = in.ptr + i;
        size_t pad = 0;
        if (i + 4 == in.len) /* only the last quad may end in "=" or "==" */
            pad = q[3] == '=' ? (q[2] == '=' ? 2 : 1) : 0;
        uint8_t a = B64_VAL[q[0]], b = B64_VAL[q[1]];
        uint8_t c = pad == 2 ? 0 : B64_VAL[q[2]], d = pad ? 0 : B64_VAL[q[3]];
        if ((a | b | c | d) & 64) {
            memset(out->ptr + start, 0, (size_t)(o - (out->ptr + start)));
            out->len = start; /* nothing half-decoded stays behind */
            return CL_ERR_INVALID;
        }
        uint32_t w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        o[0] = (uint8_t)(w >> 16);
        if (pad < 2) o[1] = (uint8_t)(w >> 8);
        if (pad < 1) o[2] = (uint8_t)w;
        o += 3 - pad;
    }
    out->len = (size_t)(o - out->ptr);
    return CL_OK;
}

cl_err url_decode(cl_buf *out, cl_slice in, bool plus_is_space) {
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.ptr[i];
        if (c == '%') {
            if (i + 2 >= in.len) return CL_ERR_INVALID;
            int hi = hexval(in.ptr[i + 1]), lo = hexval(in.ptr[i + 2]);
            if (hi < 0 || lo < 0) return CL_ERR_INVALID;
            buf_append_byte(out, (uint8_t)(hi << 4 | lo));
            i += 2;
        } else {
            buf_append_byte(out, plus_is_space && c == '+' ? ' ' : c);
        }
    }
    return CL_OK;
}

void url_encode_aws(cl_buf *out, cl_slice in, bool keep_slash) {
    static const char UP[] = "0123456789ABCDEF";
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.ptr[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            buf_append_byte(out, c);
        } else {
            char e[3] = {'%', UP[c >> 4], UP[c & 15]};
            buf_append(out, e, 3);
        }
    }
}

int32_t utf8_next(cl_slice s, size_t *i) {
    const uint8_t *p = s.ptr + *i;
    size_t left = s.len - *i;
    uint8_t c = p[0];
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n == 0 || n > left) {
        *i += 1;
        return -1;
    }
    int32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            *i += 1;
            return -1;
        }
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    static const int32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *i += 1;
        return -1;
    }
    *i += n;
    return cp;
}

bool utf8_valid(cl_slice s) {
    for (size_t i = 0; i < s.len;) {
        /* ASCII runs, eight bytes at a time */
        while (i + 8 <= s.len) {
            uint64_t w;
            memcpy(&w, s.ptr + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= s.len) break;
        if (s.ptr[i] < 0x80) {
            i++;
            continue;
        }
        if (utf8_next(s, &i) < 0) return false;
    }
    return true;
}

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

void base64_encode(cl_buf *out, cl_slice in) {
    size_t i = 0;
    for (; i + 3 <= in.len; i += 3) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (uint32_t)in.ptr[i + 1] << 8 | in.ptr[i + 2];
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], B64[(v >> 6) & 63], B64[v & 63]};
        buf_append(out, q, 4);
    }
    size_t rest = in.len - i;
    if (rest) {
        uint32_t v = (uint32_t)in.ptr[i] << 16 | (rest == 2 ? (uint32_t)in.ptr[i + 1] << 8 : 0);
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], rest == 2 ? B64[(v >> 6) & 63] : '=', '='};
        buf_append(out, q, 4);
    }
}

static int b64val(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

cl_err base64_decode(cl_buf *out, cl_slice in) {
    if (in.len % 4) return CL_ERR_INVALID;
    for (size_t i = 0; i < in.len; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            uint8_t c = in.ptr[i + j];
            if (c == '=' && i + 4 == in.len && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad || (v[j] = b64val(c)) < 0) {
                return CL_ERR_INVALID;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t bytes[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        buf_append(out, bytes, (size_t)(3 - pad));
    }
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
    for (size_t i = 0; i < s.len;)
        if (utf8_next(s, &i) < 0) return false;
    return true;
}

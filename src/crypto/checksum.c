/* checksum.c — the S3 checksum family (x-amz-checksum-crc32, -crc32c,
 * -crc64nvme, -sha1, -sha256). OpenSSL has no CRC, so the three CRCs are
 * written here; the SHAs go through OpenSSL's EVP like the rest of src/crypto.
 *
 * All three CRCs are "reflected" (bits enter least significant first), start
 * from all ones and are inverted at the end:
 *   CRC-32/ISO-HDLC  poly 0x04C11DB7          check("123456789") = 0xCBF43926
 *   CRC-32/ISCSI     poly 0x1EDC6F41          check = 0xE3069283
 *   CRC-64/NVME      poly 0xAD93D23594C93659  check = 0xAE8B14860A799888
 * They run slicing-by-8: eight 256-entry tables per CRC let one step fold eight
 * input bytes (table k gives the effect of a byte followed by k zero bytes).
 * The tables are built once, on first use, under pthread_once. */
#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc32_tab[8][256], crc32c_tab[8][256];
static uint64_t crc64_tab[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static uint64_t reflect(uint64_t v, int bits) {
    uint64_t r = 0;
    for (int i = 0; i < bits; i++, v >>= 1)
        r = (r << 1) | (v & 1);
    return r;
}

static void build32(uint32_t t[8][256], uint32_t poly) {
    uint32_t rpoly = (uint32_t)reflect(poly, 32);
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (rpoly & (0u - (c & 1)));
        t[0][i] = c;
    }
    for (int s = 1; s < 8; s++)
        for (int i = 0; i < 256; i++)
            t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
}

static void build64(uint64_t t[8][256], uint64_t poly) {
    uint64_t rpoly = reflect(poly, 64);
    for (uint64_t i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (rpoly & (0 - (c & 1)));
        t[0][i] = c;
    }
    for (int s = 1; s < 8; s++)
        for (int i = 0; i < 256; i++)
            t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
}

static void build_tables(void) {
    build32(crc32_tab, 0x04C11DB7u);
    build32(crc32c_tab, 0x1EDC6F41u);
    build64(crc64_tab, 0xAD93D23594C93659ull);
}

static uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_le64(const uint8_t *p) {
    return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

static uint32_t crc32_run(const uint32_t t[8][256], uint32_t crc, cl_slice d) {
    const uint8_t *p = d.ptr;
    size_t n = p ? d.len : 0;
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t a = load_le32(p) ^ crc, b = load_le32(p + 4);
        crc = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
              t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^ t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
    }
    for (; n; p++, n--)
        crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xff];
    return ~crc;
}

uint32_t checksum_crc32_update(uint32_t crc, cl_slice data) {
    pthread_once(&tables_once, build_tables);
    return crc32_run(crc32_tab, crc, data);
}

uint32_t checksum_crc32c_update(uint32_t crc, cl_slice data) {
    pthread_once(&tables_once, build_tables);
    return crc32_run(crc32c_tab, crc, data);
}

uint64_t checksum_crc64nvme_update(uint64_t crc, cl_slice data) {
    pthread_once(&tables_once, build_tables);
    const uint64_t(*t)[256] = crc64_tab;
    const uint8_t *p = data.ptr;
    size_t n = p ? data.len : 0;
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w = load_le64(p) ^ crc;
        crc = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^ t[5][(w >> 16) & 0xff] ^
              t[4][(w >> 24) & 0xff] ^ t[3][(w >> 32) & 0xff] ^ t[2][(w >> 40) & 0xff] ^
              t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
    }
    for (; n; p++, n--)
        crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xff];
    return ~crc;
}

uint32_t checksum_crc32(cl_slice data) {
    return checksum_crc32_update(0, data);
}
uint32_t checksum_crc32c(cl_slice data) {
    return checksum_crc32c_update(0, data);
}
uint64_t checksum_crc64nvme(cl_slice data) {
    return checksum_crc64nvme_update(0, data);
}

/* ---- the family behind one interface ---- */

static const struct {
    const char *name;
    size_t len;
} ALGOS[] = {
    [CHECKSUM_NONE] = {"", 0},         [CHECKSUM_CRC32] = {"CRC32", 4},
    [CHECKSUM_CRC32C] = {"CRC32C", 4}, [CHECKSUM_CRC64NVME] = {"CRC64NVME", 8},
    [CHECKSUM_SHA1] = {"SHA1", 20},    [CHECKSUM_SHA256] = {"SHA256", 32},
};
#define NALGOS (sizeof ALGOS / sizeof ALGOS[0])

const char *checksum_algo_name(checksum_algo a) {
    return (size_t)a < NALGOS ? ALGOS[a].name : "";
}

size_t checksum_len(checksum_algo a) {
    return (size_t)a < NALGOS ? ALGOS[a].len : 0;
}

checksum_algo checksum_algo_parse(cl_slice name) {
    for (size_t a = 1; a < NALGOS; a++)
        if (slice_case_eq_cstr(name, ALGOS[a].name)) return (checksum_algo)a;
    return CHECKSUM_NONE;
}

checksum_algo checksum_algo_from_header(cl_slice header_name) {
    static const char PREFIX[] = "x-amz-checksum-";
    size_t n = sizeof PREFIX - 1;
    if (header_name.len <= n || !slice_case_eq_cstr(slice_sub(header_name, 0, n), PREFIX))
        return CHECKSUM_NONE;
    return checksum_algo_parse(slice_sub(header_name, n, header_name.len - n));
}

void checksum_init(checksum_ctx *c, checksum_algo a) {
    *c = (checksum_ctx){(size_t)a < NALGOS ? a : CHECKSUM_NONE, 0, NULL};
    if (c->algo != CHECKSUM_SHA1 && c->algo != CHECKSUM_SHA256) return;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, c->algo == CHECKSUM_SHA1 ? EVP_sha1() : EVP_sha256(), NULL))
        abort();
    c->md = md;
}

void checksum_update(checksum_ctx *c, cl_slice data) {
    if (!data.len || !data.ptr) return;
    switch (c->algo) {
    case CHECKSUM_CRC32:
        c->crc = checksum_crc32_update((uint32_t)c->crc, data);
        break;
    case CHECKSUM_CRC32C:
        c->crc = checksum_crc32c_update((uint32_t)c->crc, data);
        break;
    case CHECKSUM_CRC64NVME:
        c->crc = checksum_crc64nvme_update(c->crc, data);
        break;
    case CHECKSUM_SHA1:
    case CHECKSUM_SHA256:
        if (!EVP_DigestUpdate(c->md, data.ptr, data.len)) abort();
        break;
    default:
        break;
    }
}

static void store_be(uint8_t *out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

size_t checksum_final(checksum_ctx *c, uint8_t out[CHECKSUM_MAX_LEN]) {
    size_t n = checksum_len(c->algo);
    if (c->md) {
        unsigned int got = 0;
        if (!EVP_DigestFinal_ex(c->md, out, &got) || got != n) abort();
    } else if (n) {
        store_be(out, c->crc, n);
    }
    checksum_reset(c);
    return n;
}

void checksum_final_base64(checksum_ctx *c, char out[CHECKSUM_B64_MAX]) {
    uint8_t d[CHECKSUM_MAX_LEN];
    size_t n = checksum_final(c, d);
    cl_buf b = CL_BUF_INIT;
    base64_encode(&b, slice_of(d, n));
    memcpy(out, b.ptr ? b.ptr : (const uint8_t *)"", b.len);
    out[b.len] = 0;
    buf_free(&b);
}

void checksum_reset(checksum_ctx *c) {
    EVP_MD_CTX_free(c->md);
    *c = (checksum_ctx){CHECKSUM_NONE, 0, NULL};
}

void checksum_base64(checksum_algo a, cl_slice data, char out[CHECKSUM_B64_MAX]) {
    checksum_ctx c;
    checksum_init(&c, a);
    checksum_update(&c, data);
    checksum_final_base64(&c, out);
}

/* ---- combining CRCs (zlib's crc32_combine, for any of the three) ----
 * All three are reflected with init = xorout = all ones, so the CRC of A||B
 * follows from crc(A), crc(B) and len(B) alone: crc(A) advanced through
 * len(B) zero bytes (the GF(2) operator "shift by n bits", squared up from the
 * one-bit operator), xored with crc(B). */
static uint64_t gf2_times(const uint64_t *mat, uint64_t vec) {
    uint64_t sum = 0;
    for (; vec; vec >>= 1, mat++)
        if (vec & 1) sum ^= *mat;
    return sum;
}

static void gf2_square(uint64_t *square, const uint64_t *mat, int bits) {
    for (int n = 0; n < bits; n++)
        square[n] = gf2_times(mat, mat[n]);
}

uint64_t checksum_crc_combine(checksum_algo a, uint64_t crc1, uint64_t crc2, uint64_t len2) {
    int bits = a == CHECKSUM_CRC64NVME ? 64 : 32;
    uint64_t poly = a == CHECKSUM_CRC64NVME ? reflect(0xAD93D23594C93659ull, 64)
                    : a == CHECKSUM_CRC32C  ? reflect(0x1EDC6F41u, 32)
                                            : reflect(0x04C11DB7u, 32);
    if (len2 == 0) return crc1;
    uint64_t even[64], odd[64], row = 1;
    odd[0] = poly; /* the operator for one zero bit */
    for (int n = 1; n < bits; n++, row <<= 1)
        odd[n] = row;
    gf2_square(even, odd, bits); /* two zero bits */
    gf2_square(odd, even, bits); /* four */
    do {                         /* one zero byte first, then doubling */
        gf2_square(even, odd, bits);
        if (len2 & 1) crc1 = gf2_times(even, crc1);
        len2 >>= 1;
        if (!len2) break;
        gf2_square(odd, even, bits);
        if (len2 & 1) crc1 = gf2_times(odd, crc1);
        len2 >>= 1;
    } while (len2);
    return crc1 ^ crc2;
}

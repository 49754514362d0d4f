/* derive.c — EIP-2333 key derivation (HKDF_mod_r, the Lamport-based child
 * derivation) and EIP-2334 paths ("m/12381/3600/i/0/0"). blst implements
 * EIP-2333 exactly (blst_derive_master_eip2333 / blst_derive_child_eip2333,
 * checked against the EIP's test cases in tests/unit/test_signer_keys.c), so
 * this file only validates inputs, parses paths and cleanses scalars. */
#include "signer/keys_internal.h"

#include <blst_aux.h>
#include <string.h>

cl_err signer_derive_master(cl_slice seed, uint8_t sk[SIGNER_SK_LEN]) {
    if (seed.len < 32) return CL_ERR_INVALID; /* EIP-2333: at least 256 bits */
    blst_scalar s;
    blst_derive_master_eip2333(&s, seed.ptr, seed.len);
    blst_bendian_from_scalar(sk, &s);
    cl_cleanse(&s, sizeof s);
    return CL_OK;
}

cl_err signer_derive_child(const uint8_t parent[SIGNER_SK_LEN], uint32_t index,
                           uint8_t child[SIGNER_SK_LEN]) {
    blst_scalar p, c;
    blst_scalar_from_bendian(&p, parent);
    if (!blst_scalar_fr_check(&p)) { /* below r; 0 is a valid HKDF_mod_r output in theory */
        cl_cleanse(&p, sizeof p);
        return CL_ERR_INVALID;
    }
    blst_derive_child_eip2333(&c, &p, index);
    blst_bendian_from_scalar(child, &c);
    cl_cleanse(&p, sizeof p);
    cl_cleanse(&c, sizeof c);
    return CL_OK;
}

/* One path component: decimal, no sign, no leading zero, at most 2^32-1. */
static cl_err derive_index(cl_slice s, uint32_t *out) {
    if (s.len == 0 || s.len > 10 || (s.len > 1 && s.ptr[0] == '0')) return CL_ERR_INVALID;
    uint64_t v = 0;
    CL_TRY(slice_to_u64(s, &v));
    if (v > UINT32_MAX) return CL_ERR_INVALID;
    *out = (uint32_t)v;
    return CL_OK;
}

cl_err signer_derive_path(cl_slice seed, const char *path, uint8_t sk[SIGNER_SK_LEN]) {
    if (!path) return CL_ERR_INVALID;
    cl_slice p = slice_cstr(path);
    if (!slice_starts_with(p, "m")) return CL_ERR_INVALID;
    p = slice_sub(p, 1, p.len - 1);
    if (p.len && (p.ptr[0] != '/' || p.ptr[p.len - 1] == '/')) return CL_ERR_INVALID;
    if (p.len) p = slice_sub(p, 1, p.len - 1);
    /* validate the whole path before deriving anything */
    uint32_t idx[64];
    size_t n = 0;
    cl_slice part;
    while (slice_split(&p, '/', &part)) {
        if (n == sizeof idx / sizeof idx[0]) return CL_ERR_INVALID;
        CL_TRY(derive_index(part, &idx[n++]));
    }
    CL_TRY(signer_derive_master(seed, sk));
    for (size_t i = 0; i < n; i++) {
        cl_err e = signer_derive_child(sk, idx[i], sk);
        if (e != CL_OK) {
            cl_cleanse(sk, SIGNER_SK_LEN);
            return e;
        }
    }
    return CL_OK;
}

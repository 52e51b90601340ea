/* SHA-256 (FIPS 180-4), for console password hashes. Pure (runs hosted). */
#ifndef PETREL_CON_SHA256_H
#define PETREL_CON_SHA256_H

#include "../kernel/types.h"

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN  64

struct sha256 {
    uint32_t h[8];
    uint8_t block[SHA256_BLOCK_LEN];
    size_t block_len; /* bytes waiting in block */
    uint64_t total;   /* bytes hashed so far */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_DIGEST_LEN]);
/* One-shot digest of a buffer. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

#endif

/* Console authentication: the password secret `sha256:SALT:HASH` (HASH = hex SHA-256 of SALT
 * followed by the password; tools/mkpasswd makes one), its constant-time check, and a rate
 * limiter for failed logins per source address. Pure (runs hosted). */
#ifndef PETREL_CON_AUTH_H
#define PETREL_CON_AUTH_H

#include "../kernel/types.h"
#include "sha256.h"

#define AUTH_SALT_MAX     64  /* characters of salt */
#define AUTH_PASSWORD_MAX 128 /* characters of password looked at */

struct auth_secret {
    bool set;
    char salt[AUTH_SALT_MAX + 1];
    uint8_t hash[SHA256_DIGEST_LEN];
};

/* Parses "sha256:SALT:HASH": SALT is 1..AUTH_SALT_MAX printable characters other than ':'
 * and space, HASH exactly 64 hex digits (either case). Returns 0 or -EINVAL with *why. */
int auth_parse(const char *spec, struct auth_secret *out, const char **why);
/* Whether password matches. The work and the comparison take the same time whatever the
 * password (and whether it matched), so timing says nothing about the hash. */
bool auth_check(const struct auth_secret *s, const char *password);
/* Writes the "sha256:SALT:HASH" text for salt and password (tests; tools/mkpasswd does the
 * same on the host). Returns the text's length or -EINVAL / -ENOSPC. */
int auth_make(const char *salt, const char *password, char *out, size_t outlen);
/* Compares n bytes in constant time: 0 when equal. */
int auth_ct_compare(const uint8_t *a, const uint8_t *b, size_t n);

/* ---- rate limiting --------------------------------------------------------------------------
 * Each source address's recent failures are counted. The first AUTH_FREE_FAILURES cost
 * nothing (a typo); after that every further attempt from that address waits
 * AUTH_DELAY_BASE_MS, doubling with each failure up to AUTH_DELAY_MAX_MS. An address that has
 * not failed for AUTH_FORGET_MS starts over; a successful login clears it. When the table is
 * full, the entry that failed longest ago is reused. */
#define AUTH_LIMIT_SLOTS   32
#define AUTH_FREE_FAILURES 3
#define AUTH_DELAY_BASE_MS 1000
#define AUTH_DELAY_MAX_MS  60000
#define AUTH_FORGET_MS     (10 * 60 * 1000)

struct auth_limit_entry {
    bool used;
    uint32_t ip;
    uint32_t failures;
    uint64_t last_ms;  /* time of the last failure */
    uint64_t until_ms; /* no attempt before this */
};

struct auth_limiter {
    struct auth_limit_entry e[AUTH_LIMIT_SLOTS];
    uint64_t failures; /* all time */
    uint64_t delayed;  /* attempts that had to wait */
};

void auth_limiter_init(struct auth_limiter *l);
/* Milliseconds `ip` must wait before its next attempt (0: it may try now). */
uint64_t auth_limit_wait(struct auth_limiter *l, uint32_t ip, uint64_t now_ms);
/* Records a failure from `ip`; returns the address's recent failure count and sets *delay_ms
 * to what its next attempt will wait. */
uint32_t auth_limit_fail(struct auth_limiter *l, uint32_t ip, uint64_t now_ms, uint64_t *delay_ms);
void auth_limit_success(struct auth_limiter *l, uint32_t ip);

#endif

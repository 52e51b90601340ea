/* Console password checks and the failed-login rate limiter (see auth.h). */
#include "auth.h"
#include "../kernel/lib.h"
#include "../kernel/lib/format.h"

static const char prefix[] = "sha256:";

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool salt_char(char c)
{
    return c > ' ' && c < 0x7f && c != ':';
}

int auth_parse(const char *spec, struct auth_secret *out, const char **why)
{
    const char *salt;
    const char *hash;
    size_t salt_len = 0;
    const char *dummy;

    if (why == NULL) {
        why = &dummy;
    }
    memset(out, 0, sizeof(*out));
    if (spec == NULL || strncmp(spec, prefix, sizeof(prefix) - 1) != 0) {
        *why = "expected sha256:SALT:HASH (make one with tools/mkpasswd)";
        return -EINVAL;
    }
    salt = spec + sizeof(prefix) - 1;
    while (salt[salt_len] != '\0' && salt[salt_len] != ':') {
        if (!salt_char(salt[salt_len])) {
            *why = "the salt may hold only printable characters other than ':' and space";
            return -EINVAL;
        }
        if (++salt_len > AUTH_SALT_MAX) {
            *why = "salt longer than 64 characters";
            return -EINVAL;
        }
    }
    if (salt_len == 0 || salt[salt_len] != ':') {
        *why = salt_len == 0 ? "empty salt" : "expected sha256:SALT:HASH (no hash)";
        return -EINVAL;
    }
    hash = salt + salt_len + 1;
    if (strnlen(hash, 2 * SHA256_DIGEST_LEN + 1) != 2 * SHA256_DIGEST_LEN) {
        *why = "the hash must be 64 hex digits";
        return -EINVAL;
    }
    for (size_t i = 0; i < SHA256_DIGEST_LEN; i++) {
        int hi = hexval(hash[2 * i]);
        int lo = hexval(hash[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            memset(out, 0, sizeof(*out));
            *why = "the hash must be 64 hex digits";
            return -EINVAL;
        }
        out->hash[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out->salt, salt, salt_len);
    out->salt[salt_len] = '\0';
    out->set = true;
    return 0;
}

int auth_ct_compare(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t diff = 0;

    for (size_t i = 0; i < n; i++) {
        diff |= a[i] ^ b[i];
    }
    return diff != 0;
}

static void digest(const char *salt, const char *password, uint8_t out[SHA256_DIGEST_LEN])
{
    struct sha256 c;

    sha256_init(&c);
    sha256_update(&c, salt, strlen(salt));
    sha256_update(&c, password, strnlen(password, AUTH_PASSWORD_MAX));
    sha256_final(&c, out);
}

bool auth_check(const struct auth_secret *s, const char *password)
{
    uint8_t h[SHA256_DIGEST_LEN];
    int diff;

    if (!s->set) {
        return false;
    }
    digest(s->salt, password, h);
    diff = auth_ct_compare(h, s->hash, sizeof(h));
    memset(h, 0, sizeof(h));
    return diff == 0;
}

int auth_make(const char *salt, const char *password, char *out, size_t outlen)
{
    uint8_t h[SHA256_DIGEST_LEN];
    size_t n;
    struct auth_secret check;

    n = (size_t)fmt_snprintf(out, outlen, "%s%s:", prefix, salt);
    if (n + 2 * SHA256_DIGEST_LEN >= outlen) {
        return -ENOSPC;
    }
    digest(salt, password, h);
    for (size_t i = 0; i < SHA256_DIGEST_LEN; i++) {
        fmt_snprintf(out + n + 2 * i, 3, "%02x", h[i]);
    }
    n += 2 * SHA256_DIGEST_LEN;
    /* The salt must be one auth_parse accepts, or the text is useless. */
    if (auth_parse(out, &check, NULL) != 0) {
        out[0] = '\0';
        return -EINVAL;
    }
    return (int)n;
}

/* ---- rate limiting --------------------------------------------------------------------------- */

void auth_limiter_init(struct auth_limiter *l)
{
    memset(l, 0, sizeof(*l));
}

static struct auth_limit_entry *lookup(struct auth_limiter *l, uint32_t ip, uint64_t now_ms)
{
    for (size_t i = 0; i < AUTH_LIMIT_SLOTS; i++) {
        struct auth_limit_entry *e = &l->e[i];

        if (!e->used || e->ip != ip) {
            continue;
        }
        if (now_ms - e->last_ms > AUTH_FORGET_MS && now_ms >= e->until_ms) {
            e->used = false; /* quiet long enough: forgiven */
            return NULL;
        }
        return e;
    }
    return NULL;
}

uint64_t auth_limit_wait(struct auth_limiter *l, uint32_t ip, uint64_t now_ms)
{
    struct auth_limit_entry *e = lookup(l, ip, now_ms);

    if (e == NULL || now_ms >= e->until_ms) {
        return 0;
    }
    l->delayed++;
    return e->until_ms - now_ms;
}

static uint64_t delay_for(uint32_t failures)
{
    uint32_t extra;

    if (failures < AUTH_FREE_FAILURES) {
        return 0;
    }
    extra = failures - AUTH_FREE_FAILURES;
    if (extra >= 16) {
        return AUTH_DELAY_MAX_MS;
    }
    return MIN((uint64_t)AUTH_DELAY_BASE_MS << extra, (uint64_t)AUTH_DELAY_MAX_MS);
}

uint32_t auth_limit_fail(struct auth_limiter *l, uint32_t ip, uint64_t now_ms, uint64_t *delay_ms)
{
    struct auth_limit_entry *e = lookup(l, ip, now_ms);

    l->failures++;
    if (e == NULL) {
        /* A free slot, else the one whose last failure is oldest. */
        e = &l->e[0];
        for (size_t i = 0; i < AUTH_LIMIT_SLOTS; i++) {
            if (!l->e[i].used) {
                e = &l->e[i];
                break;
            }
            if (l->e[i].last_ms < e->last_ms) {
                e = &l->e[i];
            }
        }
        memset(e, 0, sizeof(*e));
        e->used = true;
        e->ip = ip;
    }
    if (e->failures < UINT32_MAX) {
        e->failures++;
    }
    e->last_ms = now_ms;
    *delay_ms = delay_for(e->failures);
    e->until_ms = now_ms + *delay_ms;
    return e->failures;
}

void auth_limit_success(struct auth_limiter *l, uint32_t ip)
{
    for (size_t i = 0; i < AUTH_LIMIT_SLOTS; i++) {
        if (l->e[i].used && l->e[i].ip == ip) {
            l->e[i].used = false;
        }
    }
}

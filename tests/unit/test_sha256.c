/* Unit tests for console/sha256.c: the FIPS 180-2 example vectors, padding boundaries, and
 * the same digest whatever the update pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../console/sha256.h"

static void hex(const uint8_t *d, char *out)
{
    for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
}

static void check(const void *data, size_t len, const char *want)
{
    uint8_t d[SHA256_DIGEST_LEN];
    char h[2 * SHA256_DIGEST_LEN + 1];

    sha256(data, len, d);
    hex(d, h);
    assert_string_equal(h, want);
}

static void test_fips_vectors(void **state)
{
    (void)state;
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a(void **state)
{
    struct sha256 c;
    uint8_t block[1000];
    uint8_t d[SHA256_DIGEST_LEN];
    char h[2 * SHA256_DIGEST_LEN + 1];

    (void)state;
    memset(block, 'a', sizeof(block));
    sha256_init(&c);
    for (int i = 0; i < 1000; i++) {
        sha256_update(&c, block, sizeof(block));
    }
    sha256_final(&c, d);
    hex(d, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the padding boundaries (55/56 bytes: the length fits in the last block or
 * needs one more), checked against Python's hashlib. */
static void test_padding_boundaries(void **state)
{
    static const struct {
        size_t n;
        const char *digest;
    } cases[] = {
        {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
        {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
        {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
        {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
        {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
        {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
        {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
        {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
    };
    uint8_t data[128];

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7 + 3);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check(data, cases[i].n, cases[i].digest);
    }
}

static void test_pieces(void **state)
{
    uint8_t data[300];
    uint8_t whole[SHA256_DIGEST_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i ^ 0x5a);
    }
    sha256(data, sizeof(data), whole);
    /* Every split point and piece size gives the same digest as one update. */
    for (size_t step = 1; step <= 70; step += 3) {
        struct sha256 c;
        uint8_t d[SHA256_DIGEST_LEN];

        sha256_init(&c);
        for (size_t off = 0; off < sizeof(data); off += step) {
            size_t n = sizeof(data) - off < step ? sizeof(data) - off : step;

            sha256_update(&c, data + off, n);
        }
        sha256_final(&c, d);
        assert_memory_equal(d, whole, sizeof(d));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_pieces),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

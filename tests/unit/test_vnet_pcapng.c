/* Unit tests for vnet/pcapng.c: the bytes of each block (SHB, IDB with if_name and
 * if_tsresol, EPB with ns timestamps, snaplen and direction flags), buffer limits, the stream
 * helper's interface numbering; a capture of a real switch run written to a file and read
 * back by tshark (skipped if tshark is missing); super-frames of NETOFF_FRAME_MAX bytes, whole
 * and cut by a smaller snaplen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vnet/pcapng.h"
#include "test_vnet_fake.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void test_shb(void **state)
{
    uint8_t b[128];

    (void)state;
    assert_int_equal(vnet_pcapng_shb_size("Petrel VNET"), 48);
    assert_int_equal(vnet_pcapng_shb(b, sizeof(b), "Petrel VNET"), 48);
    assert_int_equal(le32(b), 0x0a0d0d0a);
    assert_int_equal(le32(b + 4), 48);
    assert_int_equal(le32(b + 8), 0x1a2b3c4d);
    assert_int_equal(le16(b + 12), 1);
    assert_int_equal(le16(b + 14), 0);
    assert_int_equal(le32(b + 16), 0xffffffff);
    assert_int_equal(le32(b + 20), 0xffffffff);
    assert_int_equal(le16(b + 24), 4); /* shb_userappl */
    assert_int_equal(le16(b + 26), 11);
    assert_memory_equal(b + 28, "Petrel VNET", 11);
    assert_int_equal(b[39], 0);        /* padding */
    assert_int_equal(le32(b + 40), 0); /* opt_endofopt */
    assert_int_equal(le32(b + 44), 48);
    assert_int_equal(vnet_pcapng_shb(b, sizeof(b), NULL), 28);
    assert_int_equal(le32(b + 24), 28);
    assert_int_equal(vnet_pcapng_shb(b, 47, "Petrel VNET"), -ENOSPC);
    assert_int_equal(vnet_pcapng_shb(NULL, 100, NULL), -ENOSPC);
}

static void test_idb(void **state)
{
    uint8_t b[128];

    (void)state;
    assert_int_equal(vnet_pcapng_idb_size("linux.eth0"), 48);
    assert_int_equal(vnet_pcapng_idb(b, sizeof(b), "linux.eth0", 65535), 48);
    assert_int_equal(le32(b), 1);
    assert_int_equal(le32(b + 4), 48);
    assert_int_equal(le16(b + 8), 1); /* LINKTYPE_ETHERNET */
    assert_int_equal(le16(b + 10), 0);
    assert_int_equal(le32(b + 12), 65535);
    assert_int_equal(le16(b + 16), 2); /* if_name */
    assert_int_equal(le16(b + 18), 10);
    assert_memory_equal(b + 20, "linux.eth0", 10);
    assert_int_equal(le16(b + 32), 9); /* if_tsresol */
    assert_int_equal(le16(b + 34), 1);
    assert_int_equal(b[36], 9);
    assert_int_equal(le32(b + 40), 0);
    assert_int_equal(le32(b + 44), 48);
    /* A name of a multiple of 4 needs no padding. */
    assert_int_equal(vnet_pcapng_idb(b, sizeof(b), "edge", 1500), 40);
    assert_int_equal(vnet_pcapng_idb(b, sizeof(b), NULL, 1500), 32);
    assert_int_equal(vnet_pcapng_idb(b, 39, "edge", 1500), -ENOSPC);
}

static void test_epb(void **state)
{
    uint8_t b[256];
    uint8_t f[100];
    uint64_t ts = 1700000000123456789ull;

    (void)state;
    for (int i = 0; i < 100; i++) {
        f[i] = (uint8_t)i;
    }
    assert_int_equal(vnet_pcapng_epb_size(61, 0), 28 + 64 + 8 + 4 + 4);
    assert_int_equal(vnet_pcapng_epb(b, sizeof(b), 3, ts, f, 61, 65535, VNET_PCAPNG_DIR_OUT), 108);
    assert_int_equal(le32(b), 6);
    assert_int_equal(le32(b + 4), 108);
    assert_int_equal(le32(b + 8), 3);
    assert_int_equal(le32(b + 12), (uint32_t)(ts >> 32));
    assert_int_equal(le32(b + 16), (uint32_t)ts);
    assert_int_equal(le32(b + 20), 61);
    assert_int_equal(le32(b + 24), 61);
    assert_memory_equal(b + 28, f, 61);
    assert_int_equal(b[89] | b[90] | b[91], 0); /* padding */
    assert_int_equal(le16(b + 92), 2);          /* epb_flags */
    assert_int_equal(le16(b + 94), 4);
    assert_int_equal(le32(b + 96), 2); /* outbound */
    assert_int_equal(le32(b + 100), 0);
    assert_int_equal(le32(b + 104), 108);
    /* snaplen cuts the data, not the original length. */
    assert_int_equal(vnet_pcapng_epb(b, sizeof(b), 0, 0, f, 100, 64, VNET_PCAPNG_DIR_IN),
                     28 + 64 + 16);
    assert_int_equal(le32(b + 20), 64);
    assert_int_equal(le32(b + 24), 100);
    assert_int_equal(le32(b + 96), 1);
    assert_int_equal(vnet_pcapng_epb(b, 107, 3, ts, f, 61, 65535, VNET_PCAPNG_DIR_OUT), -ENOSPC);
    assert_int_equal(vnet_pcapng_epb(b, sizeof(b), 3, ts, NULL, 61, 65535, VNET_PCAPNG_DIR_OUT),
                     -ENOSPC);
    assert_int_equal(vnet_pcapng_epb(b, sizeof(b), 3, ts, NULL, 0, 65535, VNET_PCAPNG_DIR_OUT), 44);
}

static void test_writer(void **state)
{
    static struct vnet_pcapng_writer w;
    uint8_t b[512];
    uint8_t f[60] = {0};
    struct vnet_capture_pkt pkt = {
        .port_id = 7, .port_name = "edge", .dir = VNET_DIR_IN, .ts_ns = 5, .frame = f, .len = 60};
    size_t epb = vnet_pcapng_epb_size(60, 0);
    size_t first = vnet_pcapng_shb_size("Petrel VNET") + vnet_pcapng_idb_size("edge") + epb;

    (void)state;
    vnet_pcapng_writer_init(&w, 0);
    assert_int_equal(w.snaplen, VNET_PCAPNG_SNAPLEN_DEFAULT);
    /* Too small: nothing written, nothing remembered. */
    assert_int_equal(vnet_pcapng_write(&w, b, first - 1, &pkt), -ENOSPC);
    assert_false(w.shb_done);
    assert_int_equal(w.nifs, 0);
    assert_int_equal(vnet_pcapng_write(&w, b, sizeof(b), &pkt), (int)first);
    assert_int_equal(le32(b), 0x0a0d0d0a);
    assert_int_equal(le32(b + 48), 1);
    assert_int_equal(le32(b + 48 + 40 + 8), 0); /* interface 0 */
    assert_int_equal(vnet_pcapng_write(&w, b, sizeof(b), &pkt), (int)epb);
    assert_int_equal(le32(b), 6);
    pkt.port_id = 9;
    pkt.port_name = "vx:lab2";
    assert_int_equal(vnet_pcapng_write(&w, b, sizeof(b), &pkt),
                     (int)(vnet_pcapng_idb_size("vx:lab2") + epb));
    assert_int_equal(le32(b), 1);
    assert_int_equal(le32(b + vnet_pcapng_idb_size("vx:lab2") + 8), 1); /* interface 1 */
    /* Interface ids run out after VNET_PCAPNG_IFS_MAX ports. */
    for (uint32_t i = 0; w.nifs < VNET_PCAPNG_IFS_MAX; i++) {
        pkt.port_id = 100 + i;
        assert_true(vnet_pcapng_write(&w, b, sizeof(b), &pkt) > 0);
    }
    pkt.port_id = 5000;
    assert_int_equal(vnet_pcapng_write(&w, b, sizeof(b), &pkt), -E2BIG);
    pkt.port_id = 7;
    assert_int_equal(vnet_pcapng_write(&w, b, sizeof(b), &pkt), (int)epb);
}

/* ---- tshark reads a capture of a switch run ---------------------------------------------- */

struct sink {
    struct vnet_pcapng_writer w;
    FILE *fp;
    unsigned lost;
};

static void to_file(void *ctx, const struct vnet_capture_pkt *pkt)
{
    struct sink *s = ctx;
    uint8_t buf[2048];
    int n = vnet_pcapng_write(&s->w, buf, sizeof(buf), pkt);

    if (n < 0) {
        s->lost++;
        return;
    }
    fwrite(buf, 1, (size_t)n, s->fp);
}

static uint64_t wall_ns(void)
{
    return 1700000000123456789ull;
}

static void test_tshark(void **state)
{
    struct vnet_host host = fk_host;
    struct vnet_switch *sw;
    struct fk_port vm, edge, local;
    static struct sink s;
    char path[] = "/tmp/petrel-vnet-XXXXXX";
    char cmd[512];
    char line[256];
    uint8_t f[100];
    FILE *p;
    int fd;
    int n = 0;
    static const char *const want[] = {
        "linux.eth0,52:54:00:00:00:01,100,0x00000001,1700000000.123456789",
        "edge,52:54:00:00:00:01,100,0x00000002,1700000000.123456789",
        "local,52:54:00:00:00:01,100,0x00000002,1700000000.123456789",
        "local,52:54:00:00:00:03,60,0x00000001,1700000000.123456789",
        "linux.eth0,52:54:00:00:00:03,60,0x00000002,1700000000.123456789",
    };

    (void)state;
    if (access("/usr/bin/tshark", X_OK) != 0) {
        skip();
    }
    fk_reset();
    host.wall_ns = wall_ns;
    vnet_host_set(&host);
    assert_int_equal(vnet_switch_create(NULL, &sw), 0);
    assert_int_equal(fk_add(sw, &vm, "linux.eth0", VNET_PORT_VNIC, 1, 0), 0);
    assert_int_equal(fk_add(sw, &edge, "edge", VNET_PORT_EDGE, 0, 0), 0);
    assert_int_equal(fk_add(sw, &local, "local", VNET_PORT_LOCAL, 3, 0), 0);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    s.fp = fdopen(fd, "wb");
    assert_non_null(s.fp);
    vnet_pcapng_writer_init(&s.w, 0);
    assert_int_equal(vnet_capture_attach(sw, to_file, &s, NULL, 0), 0);
    fk_frame_ids(f, 0xff, 1, 100); /* the guest broadcasts (an ARP request, say) */
    assert_int_equal(vnet_input(vm.port, f, 100), 2);
    fk_frame_ids(f, 1, 3, 60); /* the appliance answers */
    assert_int_equal(vnet_input(local.port, f, 60), 1);
    fclose(s.fp);
    vnet_switch_destroy(sw);
    vnet_host_set(&fk_host);
    assert_int_equal(s.lost, 0);

    snprintf(cmd, sizeof(cmd),
             "tshark -r %s -T fields -E separator=, -e frame.interface_name -e eth.src "
             "-e frame.len -e frame.packet_flags_direction -e frame.time_epoch 2>&1",
             path);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strstr(line, "Running as user") != NULL || line[0] == '\0') {
            continue;
        }
        if (n >= 5 || strcmp(line, want[n]) != 0) {
            fail_msg("tshark line %d: '%s', want '%s'", n, line, n < 5 ? want[n] : "(none)");
        }
        n++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(n, 5);
    unlink(path);
}

/* A super-frame (NETOFF_FRAME_MAX bytes) is stored whole under the default snaplen, cut with
 * its original length under a smaller one; tshark reads both (when it is there). */
static void test_super_frame(void **state)
{
    static uint8_t f[NETOFF_FRAME_MAX];
    static uint8_t b[2 * NETOFF_FRAME_MAX + 1024];
    static struct vnet_pcapng_writer whole;
    static struct vnet_pcapng_writer cut;
    struct vnet_capture_pkt pkt = {.port_id = 1,
                                   .port_name = "a.eth0",
                                   .dir = VNET_DIR_IN,
                                   .ts_ns = 5,
                                   .frame = f,
                                   .len = sizeof(f)};
    size_t off = 0;
    size_t epb;
    int n;
    char path[] = "/tmp/petrel-vnet-XXXXXX";
    char cmd[512];
    char line[256];
    FILE *fp;
    int fd;
    int lines = 0;

    (void)state;
    fk_frame_ids(f, 2, 1, sizeof(f));
    vnet_pcapng_writer_init(&whole, 0);
    vnet_pcapng_writer_init(&cut, 65535);
    assert_true(VNET_PCAPNG_SNAPLEN_DEFAULT >= NETOFF_FRAME_MAX);
    epb = vnet_pcapng_epb_size(sizeof(f), 0);
    assert_int_equal(epb, 28 + 65556 + 16);
    n = vnet_pcapng_write(&whole, b, sizeof(b), &pkt);
    assert_true(n > 0);
    off = (size_t)n;
    assert_int_equal(le32(b + off - epb + 20), NETOFF_FRAME_MAX); /* caplen */
    assert_int_equal(le32(b + off - epb + 24), NETOFF_FRAME_MAX); /* original length */
    assert_memory_equal(b + off - epb + 28, f, sizeof(f));
    /* The same frame under snaplen 65535, as a second interface of the same section. */
    cut.shb_done = true;
    pkt.port_id = 2;
    pkt.port_name = "b.eth0";
    n = vnet_pcapng_write(&cut, b + off, sizeof(b) - off, &pkt);
    assert_true(n > 0);
    off += (size_t)n;
    epb = vnet_pcapng_epb_size(sizeof(f), 65535);
    assert_int_equal(le32(b + off - epb + 20), 65535);
    assert_int_equal(le32(b + off - epb + 24), NETOFF_FRAME_MAX);
    if (access("/usr/bin/tshark", X_OK) != 0) {
        skip();
    }
    /* The second writer numbers its interface 0 too: make it 1 for the shared section. */
    b[off - epb + 8] = 1;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, off, fp), off);
    fclose(fp);
    snprintf(cmd, sizeof(cmd),
             "tshark -r %s -T fields -E separator=, -e frame.interface_name -e frame.len "
             "-e frame.cap_len 2>&1",
             path);
    fp = popen(cmd, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strstr(line, "Running as user") != NULL || line[0] == '\0') {
            continue;
        }
        if (strcmp(line, lines == 0 ? "a.eth0,65553,65553" : "b.eth0,65553,65535") != 0) {
            fail_msg("tshark line %d: '%s'", lines, line);
        }
        lines++;
    }
    assert_int_equal(pclose(fp), 0);
    assert_int_equal(lines, 2);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shb),    cmocka_unit_test(test_idb),
        cmocka_unit_test(test_epb),    cmocka_unit_test(test_writer),
        cmocka_unit_test(test_tshark), cmocka_unit_test(test_super_frame),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

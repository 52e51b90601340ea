/* Unit tests for the petrel.conf parser (kernel/config.c): valid files, every class of error
 * with the line it is reported on, the limits, and [appliance] keys through a key table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "lib.h"

#define MSG_MAX 256

struct msg {
    enum config_sev sev;
    unsigned line;
    char text[CONFIG_LINE_MAX + 160];
};

static struct msg g_msgs[MSG_MAX];
static size_t g_nmsgs;
static struct config *g_c;

static void capture(void *ctx, enum config_sev sev, unsigned line, const char *text)
{
    (void)ctx;
    assert_true(strlen(text) < sizeof(g_msgs[0].text));
    if (g_nmsgs < MSG_MAX) {
        g_msgs[g_nmsgs].sev = sev;
        g_msgs[g_nmsgs].line = line;
        strcpy(g_msgs[g_nmsgs].text, text);
        g_nmsgs++;
    }
}

static int setup(void **state)
{
    (void)state;
    g_c = calloc(1, sizeof(*g_c));
    g_nmsgs = 0;
    return g_c == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_c);
    return 0;
}

static int parse(const char *text)
{
    config_init(g_c);
    g_nmsgs = 0;
    return config_parse(g_c, text, strlen(text), capture, NULL);
}

static void dump_msgs(void)
{
    for (size_t i = 0; i < g_nmsgs; i++) {
        fprintf(stderr, "  msg %zu: sev %d line %u: %s\n", i, g_msgs[i].sev, g_msgs[i].line,
                g_msgs[i].text);
    }
}

/* A message of that severity on that line containing text. */
static void expect_msg(enum config_sev sev, unsigned line, const char *text)
{
    for (size_t i = 0; i < g_nmsgs; i++) {
        if (g_msgs[i].sev == sev && g_msgs[i].line == line && strstr(g_msgs[i].text, text)) {
            return;
        }
    }
    fprintf(stderr, "expected sev %d line %u: %s\n", sev, line, text);
    dump_msgs();
    fail();
}

static size_t count_sev(enum config_sev sev)
{
    size_t n = 0;

    for (size_t i = 0; i < g_nmsgs; i++) {
        n += g_msgs[i].sev == sev ? 1 : 0;
    }
    return n;
}

/* The error count a parse returned, with the messages shown when it is not the expected one. */
static void expect_errors(int got, int want)
{
    if (got != want) {
        dump_msgs();
    }
    assert_int_equal(got, want);
}

/* ---- valid files ----------------------------------------------------------------------------- */

static void test_full_valid_file(void **state)
{
    static const char text[] = "\xEF\xBB\xBF# Petrel appliance\r\n"
                               "[appliance]\r\n"
                               "log = pit:debug,vnet:info   # levels\n"
                               "console.port=2323\n"
                               "\n"
                               "; a comment\n"
                               "[vnet]\n"
                               "route = 10.0.0.0/8 -> link0\n"
                               "link link0 = 192.0.2.1:4789\n"
                               "[vm web]\n"
                               "memory = 64M\n"
                               "kernel = web.bin\n"
                               "cmdline = \"console=ttyS0  quiet # not a comment\"\n"
                               "initrd = web.cpio\n"
                               "nic = rtl8139 vnet=lan\n"
                               "nic = ne2k\n"
                               "console_port = 2301\n"
                               "autostart = no\n"
                               "paravirt = off\n"
                               "\t[ vm  db_2 ]  # second guest\n"
                               "\tflat = db.bin\n"
                               "\tload = 0x100000\n"
                               "\tentry = 0x100040\n"
                               "\tmemory = 1GiB\n"
                               "\tcmdline = a b c\n";
    const struct config_vm *web;
    const struct config_vm *db;

    (void)state;
    expect_errors(parse(text), 0);
    assert_int_equal(g_c->errors, 0);
    assert_int_equal(g_c->warnings, 0); /* [vnet] lines are kept for kernel/vnet_glue.c */
    assert_int_equal(count_sev(CONFIG_ERROR), 0);

    assert_int_equal(g_c->nappliance, 2);
    assert_string_equal(g_c->appliance[0].key, "log");
    assert_string_equal(g_c->appliance[0].value, "pit:debug,vnet:info");
    assert_int_equal(g_c->appliance[0].line, 3);
    assert_string_equal(g_c->appliance[1].key, "console.port");
    assert_string_equal(g_c->appliance[1].value, "2323");

    assert_int_equal(g_c->nvnet, 2);
    assert_string_equal(g_c->vnet[0].value, "route = 10.0.0.0/8 -> link0");
    assert_int_equal(g_c->vnet[1].line, 9);

    assert_int_equal(g_c->nvms, 2);
    assert_int_equal(config_vms_valid(g_c), 2);
    web = config_vm_find(g_c, "web");
    assert_non_null(web);
    assert_int_equal(web->line, 10);
    assert_int_equal(web->mem_bytes, 64ull << 20);
    assert_int_equal(web->image_kind, CONFIG_IMAGE_MULTIBOOT);
    assert_string_equal(web->image, "web.bin");
    assert_int_equal(web->image_line, 12);
    assert_string_equal(web->cmdline, "console=ttyS0  quiet # not a comment");
    assert_string_equal(web->initrd, "web.cpio");
    assert_int_equal(web->nnics, 2);
    assert_string_equal(web->nic[0], "rtl8139 vnet=lan");
    assert_string_equal(web->nic[1], "ne2k");
    assert_int_equal(web->console_port, 2301);
    assert_false(web->autostart);
    assert_false(web->paravirt);

    db = config_vm_find(g_c, "db_2");
    assert_non_null(db);
    assert_int_equal(db->image_kind, CONFIG_IMAGE_FLAT);
    assert_string_equal(db->image, "db.bin");
    assert_int_equal(db->load, 0x100000);
    assert_int_equal(db->entry, 0x100040);
    assert_int_equal(db->mem_bytes, 1ull << 30);
    assert_string_equal(db->cmdline, "a b c");
    assert_true(db->autostart);
    assert_true(db->paravirt); /* the default */
    assert_int_equal(db->console_port, 0);
    assert_null(config_vm_find(g_c, "nope"));
}

static void test_paravirt_key(void **state)
{
    (void)state;
    expect_errors(parse("[vm a]\nkernel = a.bin\nparavirt = yes\n"
                        "[vm b]\nkernel = b.bin\nparavirt = sometimes\n"),
                  1);
    assert_true(config_vm_find(g_c, "a")->paravirt);
    expect_msg(CONFIG_ERROR, 6, "paravirt 'sometimes' in [vm b]: on or off");
    assert_null(config_vm_find(g_c, "b")); /* skipped whole */
}

static void test_defaults(void **state)
{
    const struct config_vm *vm;

    (void)state;
    expect_errors(parse("[vm a]\nkernel = a.bin\n[vm b]\nflat=b.bin\nload=0x200000\n"), 0);
    vm = config_vm_find(g_c, "a");
    assert_non_null(vm);
    assert_int_equal(vm->mem_bytes, (uint64_t)CONFIG_DEFAULT_MEM_MB << 20);
    assert_true(vm->autostart);
    assert_string_equal(vm->cmdline, "");
    assert_string_equal(vm->initrd, "");
    assert_int_equal(vm->nnics, 0);
    vm = config_vm_find(g_c, "b");
    assert_non_null(vm);
    assert_int_equal(vm->entry, 0x200000); /* entry defaults to load */
    assert_int_equal(g_nmsgs, 0);
}

static void test_empty_and_comments(void **state)
{
    (void)state;
    expect_errors(parse(""), 0);
    expect_errors(parse("\n\n   \n# x\n; y\n\t# z"), 0);
    assert_int_equal(g_c->lines, 6);
    assert_int_equal(g_nmsgs, 0);
    /* Non-ASCII bytes in comments are fine. */
    expect_errors(parse("# G\xC3\xA4ste\n[vm a] # \xC3\xBC\nkernel = a.bin ; \xFF\n"), 0);
    assert_int_equal(config_vms_valid(g_c), 1);
    /* A missing newline at the end and a last line of its own. */
    expect_errors(parse("[vm a]\nkernel = a.bin"), 0);
    assert_int_equal(config_vms_valid(g_c), 1);
}

static void test_quoted_empty_value(void **state)
{
    (void)state;
    expect_errors(parse("[vm a]\nkernel = a.bin\ncmdline = \"\"\n"), 0);
    assert_string_equal(config_vm_find(g_c, "a")->cmdline, "");
    expect_errors(parse("[vm a]\nkernel = a.bin\ncmdline = \" x \"  # c\n"), 0);
    assert_string_equal(config_vm_find(g_c, "a")->cmdline, " x ");
}

/* ---- errors, each with its line ----------------------------------------------------------- */

static void test_unknown_key_skips_vm(void **state)
{
    (void)state;
    expect_errors(parse("[vm ok]\n"
                        "kernel = ok.bin\n"
                        "[vm web]\n"
                        "memroy = 64M\n"
                        "kernel = web.bin\n"),
                  1);
    expect_msg(CONFIG_ERROR, 4, "unknown key 'memroy' in [vm web]");
    expect_msg(CONFIG_ERROR, 3, "[vm web] skipped: 1 error in its section");
    assert_int_equal(g_c->vms_skipped, 1);
    assert_null(config_vm_find(g_c, "web"));
    assert_non_null(config_vm_find(g_c, "ok"));
    assert_int_equal(config_vms_valid(g_c), 1);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_errors(parse("just words\n"        /* 1 */
                        "log = x\n"           /* 2: before any section */
                        "[appliance\n"        /* 3 */
                        "a = 1\n"             /* 4: skipped with the bad header */
                        "[appliance] junk\n"  /* 5 */
                        "[frobnicate]\n"      /* 6 */
                        "whatever = 1\n"      /* 7: skipped */
                        "[vm]\n"              /* 8 */
                        "[appliance]\n"       /* 9 */
                        "= 3\n"               /* 10 */
                        "Log = x\n"           /* 11 */
                        "a = \"open\n"        /* 12 */
                        "b = \"x\" y\n"       /* 13 */
                        "c =\n"               /* 14 */
                        "d = caf\xC3\xA9\n"), /* 15 */
                  12);
    expect_msg(CONFIG_ERROR, 1, "expected 'key = value', '[section]' or a comment");
    expect_msg(CONFIG_ERROR, 2, "key 'log' before any section");
    expect_msg(CONFIG_ERROR, 3, "unterminated section header");
    expect_msg(CONFIG_ERROR, 5, "text after the section header [appliance]");
    expect_msg(CONFIG_ERROR, 6, "unknown section [frobnicate]");
    expect_msg(CONFIG_ERROR, 8, "[vm] needs a name");
    expect_msg(CONFIG_ERROR, 10, "bad key ''");
    expect_msg(CONFIG_ERROR, 11, "bad key 'Log'");
    expect_msg(CONFIG_ERROR, 12, "unterminated quote in the value of 'a'");
    expect_msg(CONFIG_ERROR, 13, "text after the closing quote of 'b'");
    expect_msg(CONFIG_ERROR, 14, "no value for 'c'");
    expect_msg(CONFIG_ERROR, 15, "byte 0xc3 in the value of 'd'");
    assert_int_equal(g_c->nappliance, 0);
}

static void test_control_and_nul_bytes(void **state)
{
    static const char text[] =
        "[vm a]\nkernel = a.bin\ncmdline = x\x01y\n[vm b]\nkernel = b\0.bin\n"
        "[vm c]\nkernel = c.bin\n";

    (void)state;
    config_init(g_c);
    g_nmsgs = 0;
    expect_errors(config_parse(g_c, text, sizeof(text) - 1, capture, NULL), 2);
    expect_msg(CONFIG_ERROR, 3, "control byte 0x01");
    expect_msg(CONFIG_ERROR, 5, "NUL byte in the line");
    expect_msg(CONFIG_ERROR, 1, "[vm a] skipped");
    expect_msg(CONFIG_ERROR, 4, "[vm b] skipped");
    assert_int_equal(config_vms_valid(g_c), 1);
    assert_non_null(config_vm_find(g_c, "c"));
}

static void test_vm_names(void **state)
{
    (void)state;
    expect_errors(parse("[vm a b]\nkernel = x\n"
                        "[vm 0123456789abcdef]\nkernel = x\n"
                        "[vm dot.ted]\nkernel = x\n"
                        "[vm 0123456789abcde]\nkernel = x\n"
                        "[vm good]\nkernel = x\n"
                        "[vm good]\nkernel = y\n"),
                  4);
    expect_msg(CONFIG_ERROR, 1, "[vm a b] skipped: a VM name is 1 to 15 characters");
    expect_msg(CONFIG_ERROR, 3, "[vm 0123456789abcdef] skipped");
    expect_msg(CONFIG_ERROR, 5, "[vm dot.ted] skipped");
    expect_msg(CONFIG_ERROR, 11,
               "[vm good] skipped: the name is already used by the section at "
               "line 9");
    assert_int_equal(config_vms_valid(g_c), 2);
    assert_non_null(config_vm_find(g_c, "0123456789abcde"));
    assert_string_equal(config_vm_find(g_c, "good")->image, "x");
    assert_int_equal(g_c->vms_skipped, 4);
}

static void test_vm_value_errors(void **state)
{
    (void)state;
    expect_errors(parse("[vm a]\n"               /* 1 */
                        "memory = 64\n"          /* 2: no unit */
                        "kernel = ../a.bin\n"    /* 3 */
                        "console_port = 70000\n" /* 4 */
                        "autostart = maybe\n"    /* 5 */
                        "load = 0x\n"            /* 6 */
                        "memory = 64M\n"         /* 7: duplicate */
                        "[vm b]\n"               /* 8 */
                        "memory = 1M\n"          /* 9 */
                        "kernel = b.bin\n"       /* 10 */
                        "flat = b.bin\n"         /* 11 */
                        "[vm c]\n"               /* 12 */
                        "memory = 4G\n"          /* 13 */
                        "cmdline = x\n"          /* 14: no image */
                        "[vm d]\n"               /* 15 */
                        "flat = d.bin\n"         /* 16: no load */
                        "[vm e]\n"               /* 17 */
                        "kernel = e.bin\n"       /* 18 */
                        "entry = 0x100000\n"     /* 19: flat only */
                        "[vm f]\n"               /* 20 */
                        "flat = f.bin\n"         /* 21 */
                        "load = 0x2000000\n"     /* 22: beyond 16 MiB */
                        "entry = 0x1000000000\n" /* 23: above 4 GiB */
                        "[vm g]\n"               /* 24 */
                        "memory = 12Q\n"         /* 25 */
                        "kernel = g.bin\n"),     /* 26 */
                  15);
    expect_msg(CONFIG_ERROR, 2, "memory '64' in [vm a]: a size from 2M to 3G with a unit");
    expect_msg(CONFIG_ERROR, 3, "kernel '../a.bin' in [vm a]: a module name");
    expect_msg(CONFIG_ERROR, 4, "console_port '70000' in [vm a]");
    expect_msg(CONFIG_ERROR, 5, "autostart 'maybe' in [vm a]: yes or no");
    expect_msg(CONFIG_ERROR, 6, "load '0x' in [vm a]");
    expect_msg(CONFIG_ERROR, 7, "duplicate key 'memory' in [vm a] (first at line 2)");
    expect_msg(CONFIG_ERROR, 1, "[vm a] skipped: 6 errors in its section");
    expect_msg(CONFIG_ERROR, 9, "memory '1M' in [vm b]");
    expect_msg(CONFIG_ERROR, 11, "[vm b] has both 'kernel' and 'flat'");
    expect_msg(CONFIG_ERROR, 13, "memory '4G' in [vm c]");
    expect_msg(CONFIG_ERROR, 12, "[vm c] names no image");
    expect_msg(CONFIG_ERROR, 16, "[vm d] flat image 'd.bin' needs 'load = ADDR'");
    expect_msg(CONFIG_ERROR, 19, "'entry' in [vm e] applies to flat images only");
    expect_msg(CONFIG_ERROR, 22, "load address 0x2000000 in [vm f] is beyond its 16 MiB");
    expect_msg(CONFIG_ERROR, 23, "entry '0x1000000000' in [vm f]: an address below 4 GiB");
    expect_msg(CONFIG_ERROR, 25, "memory '12Q' in [vm g]");
    assert_int_equal(config_vms_valid(g_c), 0);
    assert_int_equal(g_c->vms_skipped, 7);
}

static void test_console_port_clash(void **state)
{
    (void)state;
    expect_errors(parse("[vm a]\nkernel = a\nconsole_port = 2301\n"
                        "[vm b]\nkernel = b\nconsole_port = 2301\n"
                        "[vm c]\nkernel = c\nconsole_port = 0\n"
                        "[vm d]\nkernel = d\nconsole_port = 0\n"),
                  1);
    expect_msg(CONFIG_ERROR, 6, "console_port 2301 in [vm b] is already [vm a]'s (line 3)");
    assert_non_null(config_vm_find(g_c, "a"));
    assert_null(config_vm_find(g_c, "b"));
    assert_non_null(config_vm_find(g_c, "c")); /* 0 is "none", never a clash */
    assert_non_null(config_vm_find(g_c, "d"));
}

static void test_appliance_duplicates(void **state)
{
    (void)state;
    expect_errors(parse("[appliance]\nlog = a\n[vm x]\nkernel = x\n[appliance]\nlog = b\n"), 1);
    expect_msg(CONFIG_ERROR, 6, "duplicate key 'log' in [appliance] (first at line 2)");
    assert_int_equal(g_c->nappliance, 1);
    assert_string_equal(g_c->appliance[0].value, "a");
    assert_non_null(config_vm_find(g_c, "x")); /* a section between two [appliance] ones */
}

/* ---- limits ------------------------------------------------------------------------------- */

static char *build(size_t cap)
{
    char *s = calloc(1, cap);

    assert_non_null(s);
    return s;
}

static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
    assert_true(strlen(buf) < cap - 1);
}

/* A string of n 'x' (n < 2048), in a static buffer. */
static const char *xs(size_t n)
{
    static char buf[2048];

    assert_true(n < sizeof(buf));
    memset(buf, 'x', n);
    buf[n] = '\0';
    return buf;
}

static void test_long_lines(void **state)
{
    size_t cap = 8192;
    char *s = build(cap);

    (void)state;
    append(s, cap, "[vm a]\nkernel = a\ncmdline = %s\n", xs(CONFIG_LINE_MAX));        /* 1-3 */
    append(s, cap, "[vm b]\nkernel = b\ncmdline = %s\n", xs(CONFIG_CMDLINE_MAX));     /* 4-6 */
    append(s, cap, "[vm c]\nkernel = c\ncmdline = %s\n", xs(CONFIG_CMDLINE_MAX - 1)); /* 7-9 */
    append(s, cap, "[vm d]\nkernel = %s\n", xs(CONFIG_MODULE_MAX));                   /* 10-11 */
    append(s, cap, "[appliance]\nlog = %s\n", xs(CMDLINE_VALUE_MAX));                 /* 12-13 */
    append(s, cap, "[vnet]\n%s\n", xs(CONFIG_VNET_LINE_MAX));                         /* 14-15 */
    append(s, cap, "[vm e]\nkernel = e\nnic = %s\n", xs(CONFIG_NIC_MAX));             /* 16-18 */
    /* The longest line that is still read: 1023 characters. */
    append(s, cap, "[vm f]\nkernel = f\ncmdline = \"%s\"\n", xs(CONFIG_LINE_MAX - 1 - 12));

    expect_errors(parse(s), 7);
    expect_msg(CONFIG_ERROR, 3, "line longer than 1023 characters");
    expect_msg(CONFIG_ERROR, 1, "[vm a] skipped: 1 error");
    expect_msg(CONFIG_ERROR, 6, "cmdline in [vm b] is longer than 511 characters");
    expect_msg(CONFIG_ERROR, 11, "kernel 'xxx");
    expect_msg(CONFIG_ERROR, 13, "value of 'log' in [appliance] is longer than 255");
    expect_msg(CONFIG_ERROR, 15, "[vnet] line longer than 255 characters");
    expect_msg(CONFIG_ERROR, 18, "nic in [vm e] is longer than 127 characters");
    expect_msg(CONFIG_ERROR, 21, "cmdline in [vm f] is longer than 511");
    expect_errors((int)config_vms_valid(g_c), 1);
    assert_int_equal(strlen(config_vm_find(g_c, "c")->cmdline), CONFIG_CMDLINE_MAX - 1);
    assert_int_equal(g_c->nappliance, 0);
    assert_int_equal(g_c->nvnet, 0);
    free(s);
}

static void test_table_limits(void **state)
{
    size_t cap = 32768;
    char *s = build(cap);
    unsigned line = 0;
    unsigned vm17 = 0;
    unsigned key33 = 0;
    unsigned vnet65 = 0;
    unsigned nic5 = 0;

    (void)state;
    append(s, cap, "[vm nics]\nkernel = n\n");
    line += 2;
    for (int i = 0; i < CONFIG_NICS_MAX + 1; i++) {
        append(s, cap, "nic = n%d\n", i);
        line++;
    }
    nic5 = line;
    for (int i = 1; i < CONFIG_VMS_MAX + 1; i++) {
        append(s, cap, "[vm v%d]\nkernel = v.bin\nconsole_port = %d\n", i, 3000 + i);
        line += 3;
        if (i == CONFIG_VMS_MAX) {
            vm17 = line - 2;
        }
    }
    append(s, cap, "[appliance]\n");
    line++;
    for (int i = 0; i < CONFIG_APPLIANCE_MAX + 1; i++) {
        append(s, cap, "k%d = %d\n", i, i);
        line++;
    }
    key33 = line;
    append(s, cap, "[vnet]\n");
    line++;
    for (int i = 0; i < CONFIG_VNET_MAX + 1; i++) {
        append(s, cap, "route %d\n", i);
        line++;
    }
    vnet65 = line;
    append(s, cap, "[vm v1]\n");

    expect_errors(parse(s), 5);
    expect_msg(CONFIG_ERROR, nic5, "more than 4 'nic' lines in [vm nics]");
    expect_msg(CONFIG_ERROR, 1, "[vm nics] skipped: 1 error");
    expect_msg(CONFIG_ERROR, vm17, "[vm v16] skipped: more than 16 [vm] sections");
    expect_msg(CONFIG_ERROR, key33, "more than 32 keys in [appliance]: 'k32' ignored");
    expect_msg(CONFIG_ERROR, vnet65, "more than 64 lines in [vnet]");
    expect_msg(CONFIG_ERROR, vnet65 + 1, "[vm v1] skipped: the name is already used");
    assert_int_equal(g_c->nvms, CONFIG_VMS_MAX);
    assert_int_equal(config_vms_valid(g_c), CONFIG_VMS_MAX - 1);
    assert_int_equal(g_c->nappliance, CONFIG_APPLIANCE_MAX);
    assert_int_equal(g_c->nvnet, CONFIG_VNET_MAX);
    free(s);
}

static void test_file_too_big(void **state)
{
    size_t len = CONFIG_FILE_MAX + 100;
    char *s = malloc(len);

    (void)state;
    assert_non_null(s);
    memset(s, '\n', len);
    memcpy(s, "[vm a]\nkernel = a\n", 18);
    memcpy(s + CONFIG_FILE_MAX + 10, "[vm b]\nkernel = b\n", 18); /* beyond the limit */
    config_init(g_c);
    g_nmsgs = 0;
    assert_int_equal(config_parse(g_c, s, len, capture, NULL), 1);
    expect_msg(CONFIG_ERROR, 0, "only the first 65536 are read");
    assert_non_null(config_vm_find(g_c, "a"));
    assert_null(config_vm_find(g_c, "b"));
    free(s);
}

static void test_report_cap(void **state)
{
    size_t cap = 16384;
    char *s = build(cap);

    (void)state;
    for (int i = 0; i < 200; i++) {
        append(s, cap, "garbage\n");
    }
    expect_errors(parse(s), 200);
    assert_int_equal(g_nmsgs, CONFIG_REPORT_MAX + 1);
    expect_msg(CONFIG_ERROR, 0, "136 more problems not shown");
    assert_int_equal(g_c->errors, 200);
    free(s);
}

static void test_null_report_and_text(void **state)
{
    (void)state;
    config_init(g_c);
    assert_int_equal(config_parse(g_c, NULL, 10, NULL, NULL), 0);
    assert_int_equal(config_parse(g_c, "junk\n[vm a]\nkernel=a\n", 20, NULL, NULL), 1);
    assert_int_equal(config_vms_valid(g_c), 1);
}

/* ---- value syntax ---------------------------------------------------------------------------- */

static void test_sizes_and_bools(void **state)
{
    uint64_t v;
    bool b;

    (void)state;
    assert_int_equal(config_parse_size("64M", &v), 0);
    assert_int_equal(v, 64ull << 20);
    assert_int_equal(config_parse_size("512k", &v), 0);
    assert_int_equal(v, 512ull << 10);
    assert_int_equal(config_parse_size("2GiB", &v), 0);
    assert_int_equal(v, 2ull << 30);
    assert_int_equal(config_parse_size("3gb", &v), 0);
    assert_int_equal(v, 3ull << 30);
    assert_int_equal(config_parse_size("64", &v), -EINVAL);
    assert_int_equal(config_parse_size("M", &v), -EINVAL);
    assert_int_equal(config_parse_size("", &v), -EINVAL);
    assert_int_equal(config_parse_size("6 4M", &v), -EINVAL);
    assert_int_equal(config_parse_size("64MM", &v), -EINVAL);
    assert_int_equal(config_parse_size("-1M", &v), -EINVAL);
    assert_int_equal(config_parse_size("99999999999999999999M", &v), -ERANGE);
    assert_int_equal(config_parse_size("99999999999999G", &v), -ERANGE);
    for (const char *const *y = (const char *const[]){"yes", "YES", "true", "on", "1", NULL};
         *y != NULL; y++) {
        assert_int_equal(config_parse_bool(*y, &b), 0);
        assert_true(b);
    }
    for (const char *const *n = (const char *const[]){"no", "False", "off", "0", NULL}; *n != NULL;
         n++) {
        assert_int_equal(config_parse_bool(*n, &b), 0);
        assert_false(b);
    }
    assert_int_equal(config_parse_bool("y", &b), -EINVAL);
    assert_int_equal(config_parse_bool("", &b), -EINVAL);
    assert_true(config_name_ok("a"));
    assert_true(config_name_ok("web-1_A"));
    assert_false(config_name_ok(""));
    assert_false(config_name_ok("a.b"));
    assert_false(config_name_ok("0123456789abcdef"));
    assert_true(config_module_ok("hello.bin"));
    assert_false(config_module_ok(".."));
    assert_false(config_module_ok("."));
    assert_false(config_module_ok("a/b"));
    assert_false(config_module_ok("a b"));
}

/* ---- [appliance] through a key table ---------------------------------------------------------- */

static int g_num;
static char g_word[32];

static int key_num(const char *value, bool has_value, char *msg, size_t msglen)
{
    uint64_t v;

    if (!has_value || str_to_u64(value, &v) != 0) {
        snprintf(msg, msglen, "expected a number");
        return -EINVAL;
    }
    g_num = (int)v;
    return 0;
}

static int key_word(const char *value, bool has_value, char *msg, size_t msglen)
{
    (void)msg;
    (void)msglen;
    assert_true(has_value);
    snprintf(g_word, sizeof(g_word), "%s", value);
    return 0;
}

static int key_silent_fail(const char *value, bool has_value, char *msg, size_t msglen)
{
    (void)value;
    (void)has_value;
    (void)msg;
    (void)msglen;
    return -EINVAL;
}

static const struct cmdline_key g_keys[] = {
    {"num", "a number", key_num},
    {"word", "a word", key_word},
    {"other.word", "a word the command line sets", key_word},
    {"silent", "fails without a message", key_silent_fail},
    {"vm", "guests", key_word},
};

static bool on_cmdline(void *ctx, const char *key)
{
    assert_ptr_equal(ctx, g_keys);
    return strcmp(key, "other.word") == 0;
}

static void test_apply_appliance(void **state)
{
    (void)state;
    g_num = 0;
    g_word[0] = '\0';
    expect_errors(parse("[appliance]\n"
                        "num = 42\n"
                        "word = \"two words\"\n"
                        "other.word = file\n"
                        "nosuch = 1\n"
                        "silent = x\n"
                        "vm = a:b.bin\n"
                        "[appliance]\n"
                        "num2 = 1\n"),
                  0);
    g_nmsgs = 0;
    assert_int_equal(config_apply_appliance(g_c, g_keys, ARRAY_SIZE(g_keys), on_cmdline, capture,
                                            (void *)g_keys),
                     4);
    assert_int_equal(g_num, 42);
    assert_string_equal(g_word, "two words"); /* other.word was left to the command line */
    expect_msg(CONFIG_INFO, 2, "applied 'num'");
    expect_msg(CONFIG_INFO, 3, "applied 'word'");
    expect_msg(CONFIG_INFO, 4, "'other.word' is also on the command line, which wins");
    expect_msg(CONFIG_ERROR, 5, "unknown key 'nosuch' in [appliance]");
    expect_msg(CONFIG_ERROR, 6, "bad value for 'silent' in [appliance]: rejected");
    expect_msg(CONFIG_ERROR, 7, "'vm' has no place in [appliance]");
    expect_msg(CONFIG_ERROR, 9, "unknown key 'num2'");

    /* A bad value carries the handler's message. */
    expect_errors(parse("[appliance]\nnum = many\n"), 0);
    g_nmsgs = 0;
    assert_int_equal(config_apply_appliance(g_c, g_keys, ARRAY_SIZE(g_keys), NULL, capture, NULL),
                     1);
    expect_msg(CONFIG_ERROR, 2, "bad value for 'num' in [appliance]: expected a number");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_full_valid_file),
        T(test_defaults),
        T(test_paravirt_key),
        T(test_empty_and_comments),
        T(test_quoted_empty_value),
        T(test_unknown_key_skips_vm),
        T(test_syntax_errors),
        T(test_control_and_nul_bytes),
        T(test_vm_names),
        T(test_vm_value_errors),
        T(test_console_port_clash),
        T(test_appliance_duplicates),
        T(test_long_lines),
        T(test_table_limits),
        T(test_file_too_big),
        T(test_report_cap),
        T(test_null_report_and_text),
        T(test_sizes_and_bools),
        T(test_apply_appliance),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

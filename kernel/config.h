/* petrel.conf: the appliance's configuration file (INI), parsed into fixed-size tables.
 *
 *   [appliance]          keys of the kernel command line (log = pit:debug, console.port = 23, ...)
 *   [vnet]               route/link/aging lines, kept raw; kernel/vnet_glue.c applies them
 *   [vm NAME]            one guest: memory, kernel or flat image (+ load/entry), cmdline,
 *                        initrd, nic, console_port, autostart, paravirt
 *
 * Pure and OS-independent (hosted unit tests and a libFuzzer target drive it): no heap, every
 * table bounded, every line and value checked against its buffer. Problems are reported line
 * by line through a callback and parsing goes on: a bad [appliance] key or [vnet] line is
 * skipped alone, a [vm] section with any error is skipped whole (with a line saying so).
 * The syntax is in docs/configuration.md. */
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

#include "cmdline.h"
#include "types.h"

#define CONFIG_FILE_MAX       65536 /* bytes read from the file; the rest is refused */
#define CONFIG_LINE_MAX       1024  /* longest line, with its terminator */
#define CONFIG_VMS_MAX        16    /* [vm] sections */
#define CONFIG_APPLIANCE_MAX  32    /* keys in [appliance] */
#define CONFIG_VNET_MAX       64    /* lines in [vnet] */
#define CONFIG_VNET_LINE_MAX  256
#define CONFIG_NAME_MAX       16  /* a VM name with its NUL: [A-Za-z0-9_-]{1,15} */
#define CONFIG_MODULE_MAX     128 /* a GRUB module name with its NUL */
#define CONFIG_CMDLINE_MAX    512 /* a guest command line with its NUL */
#define CONFIG_NICS_MAX       4
#define CONFIG_NIC_MAX        128
#define CONFIG_REPORT_MAX     64 /* problems reported one by one; the rest are only counted */
#define CONFIG_DEFAULT_MEM_MB 16

enum config_sev {
    CONFIG_ERROR,
    CONFIG_WARN,
    CONFIG_INFO,
};

/* One message about line `line` of the file (0: the file as a whole). */
typedef void (*config_report_fn)(void *ctx, enum config_sev sev, unsigned line, const char *msg);

enum config_image {
    CONFIG_IMAGE_NONE,
    CONFIG_IMAGE_MULTIBOOT, /* kernel = MODULE */
    CONFIG_IMAGE_FLAT,      /* flat = MODULE, load = ADDR [, entry = ADDR] */
};

struct config_kv {
    char key[CMDLINE_KEY_MAX];
    char value[CMDLINE_VALUE_MAX];
    unsigned line;
};

struct config_vm {
    char name[CONFIG_NAME_MAX];
    unsigned line; /* of the [vm NAME] header */
    uint64_t mem_bytes;
    enum config_image image_kind;
    char image[CONFIG_MODULE_MAX]; /* the GRUB module holding the image */
    unsigned image_line;
    uint64_t load;  /* flat only */
    uint64_t entry; /* flat only; load when not given */
    char cmdline[CONFIG_CMDLINE_MAX];
    char initrd[CONFIG_MODULE_MAX];            /* kept for Linux guests, "" when none */
    char nic[CONFIG_NICS_MAX][CONFIG_NIC_MAX]; /* kept for VNET */
    size_t nnics;
    uint16_t console_port; /* TCP port of the VM's own console, 0: none */
    bool autostart;        /* default true */
    bool paravirt;         /* default true: KVM's PV EOI for a Linux guest (vmm/inject.c) */
    bool valid;            /* false: the section had an error and is skipped */
    /* Parse state: the line of each key seen (duplicate detection), the keys whose value was
     * accepted (bit per key), errors in the section and lines too broken to know their key. */
    unsigned key_line[16];
    uint32_t key_ok;
    unsigned errors;
    unsigned lost_lines;
};

struct config {
    struct config_kv appliance[CONFIG_APPLIANCE_MAX];
    size_t nappliance;
    struct config_kv vnet[CONFIG_VNET_MAX]; /* key "" and the raw line in value */
    size_t nvnet;
    struct config_vm vm[CONFIG_VMS_MAX]; /* valid and skipped sections, in file order */
    size_t nvms;
    unsigned errors;
    unsigned warnings;
    unsigned vms_skipped;
    unsigned lines; /* lines read */
    unsigned reported;
};

/* Clears c to an empty configuration. */
void config_init(struct config *c);

/* Parses len bytes of text into c (which config_init cleared; a second call adds to it).
 * report may be NULL. Returns the number of errors (0: the file was clean). */
int config_parse(struct config *c, const char *text, size_t len, config_report_fn report,
                 void *ctx);

/* Applies the [appliance] keys through the same handlers as the command line (keys). A key the
 * command line also sets is skipped (on_cmdline says so; the command line wins). Unknown keys,
 * keys that have no place in the file (vm) and rejected values are errors; each applied key is
 * reported at info level. Returns the number of errors. */
int config_apply_appliance(const struct config *c, const struct cmdline_key *keys, size_t nkeys,
                           bool (*on_cmdline)(void *ctx, const char *key), config_report_fn report,
                           void *ctx);

/* The valid [vm] section of that name, or NULL. */
const struct config_vm *config_vm_find(const struct config *c, const char *name);
size_t config_vms_valid(const struct config *c);

/* Value syntax shared with tests: sizes like 64M, 512K, 1G (a unit is required; K/M/G with an
 * optional "iB" or "B", any case) and yes/no switches. 0 or -EINVAL/-ERANGE. */
int config_parse_size(const char *s, uint64_t *out);
int config_parse_bool(const char *s, bool *out);
/* A VM name: [A-Za-z0-9_-]{1,15}. A module name: [A-Za-z0-9._-]{1,127}, not "." or "..". */
bool config_name_ok(const char *s);
bool config_module_ok(const char *s);

#endif

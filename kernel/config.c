/* petrel.conf parser (config.h): one pass over the lines, each checked against fixed buffers;
 * a problem is reported with its line number and parsing goes on with the next line. */
#include "config.h"
#include "lib.h"
#include "../vmm/vmm.h"

enum section {
    SEC_NONE,      /* before the first header */
    SEC_APPLIANCE, /* [appliance] */
    SEC_VNET,      /* [vnet] */
    SEC_VM,        /* [vm NAME], being filled in p->vm */
    SEC_SKIP,      /* a section already reported as skipped: its lines are ignored */
};

/* The keys of a [vm] section, in the order of config_vm.key_line. */
enum vm_key {
    VK_MEMORY,
    VK_KERNEL,
    VK_FLAT,
    VK_LOAD,
    VK_ENTRY,
    VK_CMDLINE,
    VK_INITRD,
    VK_NIC,
    VK_CONSOLE_PORT,
    VK_AUTOSTART,
    VK_PARAVIRT,
    VK_COUNT,
};

static const char *const g_vm_keys[VK_COUNT] = {
    "memory", "kernel", "flat",         "load",      "entry",    "cmdline",
    "initrd", "nic",    "console_port", "autostart", "paravirt",
};

struct parser {
    struct config *c;
    config_report_fn report;
    void *ctx;
    enum section sec;
    struct config_vm *vm; /* the [vm] section being read (SEC_VM) */
    unsigned line;
};

_Static_assert(CONFIG_NAME_MAX <= VMM_NAME_MAX, "a config VM name must fit the VMM's");
_Static_assert(CONFIG_CMDLINE_MAX <= VMM_CMDLINE_MAX, "a config cmdline must fit the VMM's");
_Static_assert(VK_COUNT <= ARRAY_SIZE(((struct config_vm *)0)->key_line), "key_line too small");

/* ---- reporting ------------------------------------------------------------------------- */

static void emit(struct parser *p, enum config_sev sev, unsigned line, const char *msg)
{
    struct config *c = p->c;

    if (p->report == NULL) {
        return;
    }
    if (sev == CONFIG_INFO || c->reported < CONFIG_REPORT_MAX) {
        p->report(p->ctx, sev, line, msg);
        if (sev != CONFIG_INFO) {
            c->reported++;
        }
    }
}

static void PRINTF_FMT(4, 5)
    say(struct parser *p, enum config_sev sev, unsigned line, const char *fmt, ...)
{
    char msg[CONFIG_LINE_MAX + 128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (sev == CONFIG_ERROR) {
        p->c->errors++;
    } else if (sev == CONFIG_WARN) {
        p->c->warnings++;
    }
    emit(p, sev, line, msg);
}

#define ERR(p, ...)  say((p), CONFIG_ERROR, (p)->line, __VA_ARGS__)
#define WARN(p, ...) say((p), CONFIG_WARN, (p)->line, __VA_ARGS__)

/* An error inside a [vm] section: the section will be skipped. */
#define VM_ERR(p, ...)                                                                             \
    do {                                                                                           \
        (p)->vm->errors++;                                                                         \
        ERR((p), __VA_ARGS__);                                                                     \
    } while (0)

/* ---- small syntax helpers ----------------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char *trim(char *s)
{
    size_t n;

    while (is_blank(*s)) {
        s++;
    }
    n = strlen(s);
    while (n > 0 && is_blank(s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

/* Cuts an inline comment: '#' or ';' at the start or after a blank. */
static void cut_comment(char *s)
{
    for (size_t i = 0; s[i] != '\0'; i++) {
        if ((s[i] == '#' || s[i] == ';') && (i == 0 || is_blank(s[i - 1]))) {
            s[i] = '\0';
            return;
        }
    }
}

static bool ascii_printable(const char *s, unsigned char *bad)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch < 0x20 && ch != '\t') || ch >= 0x7F) {
            *bad = ch;
            return false;
        }
    }
    return true;
}

bool config_name_ok(const char *s)
{
    size_t n = strnlen(s, CONFIG_NAME_MAX);

    if (n == 0 || n >= CONFIG_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-') {
            return false;
        }
    }
    return true;
}

bool config_module_ok(const char *s)
{
    size_t n = strnlen(s, CONFIG_MODULE_MAX);

    if (n == 0 || n >= CONFIG_MODULE_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

int config_parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift;
    size_t i = 0;

    if (s == NULL || !(s[0] >= '0' && s[0] <= '9')) {
        return -EINVAL;
    }
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10) {
            return -ERANGE;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    switch (s[i]) {
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    default:
        return -EINVAL; /* a unit is required: "64" alone could mean bytes or MiB */
    }
    i++;
    if (str_casecmp(s + i, "") != 0 && str_casecmp(s + i, "b") != 0 &&
        str_casecmp(s + i, "ib") != 0) {
        return -EINVAL;
    }
    if (v > (UINT64_MAX >> shift)) {
        return -ERANGE;
    }
    *out = v << shift;
    return 0;
}

int config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (str_casecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (str_casecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- sections ------------------------------------------------------------------------------ */

static const struct config_vm *find_vm_any(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->nvms; i++) {
        if (strcmp(c->vm[i].name, name) == 0) {
            return &c->vm[i];
        }
    }
    return NULL;
}

const struct config_vm *config_vm_find(const struct config *c, const char *name)
{
    const struct config_vm *vm = find_vm_any(c, name);

    return vm != NULL && vm->valid ? vm : NULL;
}

size_t config_vms_valid(const struct config *c)
{
    size_t n = 0;

    for (size_t i = 0; i < c->nvms; i++) {
        n += c->vm[i].valid ? 1 : 0;
    }
    return n;
}

/* The checks that need the whole section, then the verdict on it. */
static void finish_vm(struct parser *p)
{
    struct config_vm *vm = p->vm;
    unsigned save_line = p->line;

    if (p->sec != SEC_VM || vm == NULL) {
        return;
    }
    p->line = vm->line;
    /* A line lost to a syntax error may have named the image: no guessing then. */
    if (vm->image_kind == CONFIG_IMAGE_NONE && vm->key_line[VK_KERNEL] == 0 &&
        vm->key_line[VK_FLAT] == 0 && vm->lost_lines == 0) {
        VM_ERR(p, "[vm %s] names no image: add 'kernel = MODULE' (multiboot) or 'flat = MODULE'",
               vm->name);
    }
    if (vm->image_kind == CONFIG_IMAGE_FLAT && vm->key_line[VK_LOAD] == 0 && vm->lost_lines == 0) {
        p->line = vm->key_line[VK_FLAT];
        VM_ERR(p, "[vm %s] flat image '%s' needs 'load = ADDR'", vm->name, vm->image);
    }
    if (vm->image_kind == CONFIG_IMAGE_MULTIBOOT) {
        for (enum vm_key k = VK_LOAD; k <= VK_ENTRY; k++) {
            if (vm->key_ok & (1u << k)) {
                p->line = vm->key_line[k];
                VM_ERR(p,
                       "'%s' in [vm %s] applies to flat images only (a multiboot kernel "
                       "says where it loads)",
                       g_vm_keys[k], vm->name);
            }
        }
    }
    if (vm->image_kind == CONFIG_IMAGE_FLAT) {
        if (!(vm->key_ok & (1u << VK_ENTRY))) {
            vm->entry = vm->load;
        }
        for (enum vm_key k = VK_LOAD; k <= VK_ENTRY; k++) {
            uint64_t a = k == VK_LOAD ? vm->load : vm->entry;

            if ((vm->key_ok & (1u << k)) && a >= vm->mem_bytes) {
                p->line = vm->key_line[k];
                VM_ERR(p, "%s address %#llx in [vm %s] is beyond its %llu MiB of memory",
                       g_vm_keys[k], (unsigned long long)a, vm->name,
                       (unsigned long long)(vm->mem_bytes >> 20));
            }
        }
    }
    if (vm->console_port != 0) {
        for (size_t i = 0; i < p->c->nvms; i++) {
            const struct config_vm *o = &p->c->vm[i];

            if (o != vm && o->valid && o->console_port == vm->console_port) {
                p->line = vm->key_line[VK_CONSOLE_PORT];
                VM_ERR(p, "console_port %u in [vm %s] is already [vm %s]'s (line %u)",
                       vm->console_port, vm->name, o->name, o->key_line[VK_CONSOLE_PORT]);
                break;
            }
        }
    }
    p->line = save_line;
    vm->valid = vm->errors == 0;
    if (!vm->valid) {
        char msg[128];

        p->c->vms_skipped++;
        snprintf(msg, sizeof(msg), "[vm %s] skipped: %u error%s in its section", vm->name,
                 vm->errors, vm->errors == 1 ? "" : "s");
        emit(p, CONFIG_ERROR, vm->line, msg);
    }
    p->vm = NULL;
}

static void start_vm(struct parser *p, const char *name)
{
    struct config *c = p->c;
    const struct config_vm *old;
    struct config_vm *vm;

    p->sec = SEC_SKIP;
    if (!config_name_ok(name)) {
        ERR(p, "[vm %s] skipped: a VM name is 1 to %d characters of A-Z a-z 0-9 _ -", name,
            CONFIG_NAME_MAX - 1);
        c->vms_skipped++;
        return;
    }
    old = find_vm_any(c, name);
    if (old != NULL) {
        ERR(p, "[vm %s] skipped: the name is already used by the section at line %u", name,
            old->line);
        c->vms_skipped++;
        return;
    }
    if (c->nvms >= CONFIG_VMS_MAX) {
        ERR(p, "[vm %s] skipped: more than %d [vm] sections", name, CONFIG_VMS_MAX);
        c->vms_skipped++;
        return;
    }
    vm = &c->vm[c->nvms++];
    memset(vm, 0, sizeof(*vm));
    str_copy(vm->name, name, sizeof(vm->name));
    vm->line = p->line;
    vm->mem_bytes = MiB(CONFIG_DEFAULT_MEM_MB);
    vm->autostart = true;
    vm->paravirt = true;
    p->vm = vm;
    p->sec = SEC_VM;
}

static void section_header(struct parser *p, char *s)
{
    char *end = strchr(s, ']');
    char *rest;
    char *name;

    finish_vm(p);
    p->sec = SEC_SKIP;
    if (end == NULL) {
        ERR(p, "unterminated section header (no ']'): its lines are skipped");
        return;
    }
    *end = '\0';
    rest = trim(end + 1);
    cut_comment(rest);
    if (*trim(rest) != '\0') {
        ERR(p, "text after the section header [%s]: the section is skipped", trim(s + 1));
        return;
    }
    name = trim(s + 1);
    if (strcmp(name, "appliance") == 0) {
        p->sec = SEC_APPLIANCE;
        return;
    }
    if (strcmp(name, "vnet") == 0) {
        p->sec = SEC_VNET;
        return;
    }
    if (strncmp(name, "vm", 2) == 0 && is_blank(name[2])) {
        start_vm(p, trim(name + 2));
        return;
    }
    if (strcmp(name, "vm") == 0) {
        ERR(p, "[vm] needs a name, e.g. [vm web]: the section is skipped");
        return;
    }
    ERR(p, "unknown section [%s] (known: [appliance], [vnet], [vm NAME]): its lines are skipped",
        name);
}

/* ---- key = value lines ------------------------------------------------------------------- */

static void set_module(struct parser *p, char *dst, const char *key, const char *value)
{
    if (!config_module_ok(value)) {
        VM_ERR(p,
               "%s '%s' in [vm %s]: a module name is 1 to %d characters of A-Z a-z 0-9 . _ - "
               "(the image's file name)",
               key, value, p->vm->name, CONFIG_MODULE_MAX - 1);
        return;
    }
    str_copy(dst, value, CONFIG_MODULE_MAX);
}

static void vm_key_value(struct parser *p, enum vm_key k, const char *key, const char *value);

static void vm_key(struct parser *p, const char *key, const char *value)
{
    struct config_vm *vm = p->vm;
    enum vm_key k = VK_COUNT;
    unsigned errors;

    for (enum vm_key i = 0; i < VK_COUNT; i++) {
        if (strcmp(key, g_vm_keys[i]) == 0) {
            k = i;
            break;
        }
    }
    if (k == VK_COUNT) {
        VM_ERR(p, "unknown key '%s' in [vm %s]", key, vm->name);
        return;
    }
    if (k != VK_NIC && vm->key_line[k] != 0) {
        VM_ERR(p, "duplicate key '%s' in [vm %s] (first at line %u)", key, vm->name,
               vm->key_line[k]);
        return;
    }
    vm->key_line[k] = p->line;
    errors = vm->errors;
    vm_key_value(p, k, key, value);
    if (vm->errors == errors) {
        vm->key_ok |= 1u << k;
    }
}

/* Checks and stores one value of a [vm] section. */
static void vm_key_value(struct parser *p, enum vm_key k, const char *key, const char *value)
{
    struct config_vm *vm = p->vm;
    uint64_t v;
    bool b;

    switch (k) {
    case VK_MEMORY:
        if (config_parse_size(value, &v) != 0 || v < VMM_MEM_MIN || v > VMM_MEM_MAX) {
            VM_ERR(p, "memory '%s' in [vm %s]: a size from 2M to 3G with a unit, e.g. 64M", value,
                   vm->name);
            return;
        }
        vm->mem_bytes = v;
        return;
    case VK_KERNEL:
    case VK_FLAT:
        if (vm->key_line[k == VK_KERNEL ? VK_FLAT : VK_KERNEL] != 0) {
            VM_ERR(p, "[vm %s] has both 'kernel' and 'flat': give one image", vm->name);
            return;
        }
        vm->image_kind = k == VK_KERNEL ? CONFIG_IMAGE_MULTIBOOT : CONFIG_IMAGE_FLAT;
        vm->image_line = p->line;
        set_module(p, vm->image, key, value);
        return;
    case VK_LOAD:
    case VK_ENTRY:
        if (str_to_u64(value, &v) != 0 || v >= GiB(4)) {
            VM_ERR(p, "%s '%s' in [vm %s]: an address below 4 GiB, e.g. 0x100000", key, value,
                   vm->name);
            return;
        }
        if (k == VK_LOAD) {
            vm->load = v;
        } else {
            vm->entry = v;
        }
        return;
    case VK_CMDLINE:
        if (str_copy(vm->cmdline, value, sizeof(vm->cmdline)) >= sizeof(vm->cmdline)) {
            vm->cmdline[0] = '\0';
            VM_ERR(p, "cmdline in [vm %s] is longer than %d characters", vm->name,
                   CONFIG_CMDLINE_MAX - 1);
        }
        return;
    case VK_INITRD:
        set_module(p, vm->initrd, key, value);
        return;
    case VK_NIC:
        if (vm->nnics >= CONFIG_NICS_MAX) {
            VM_ERR(p, "more than %d 'nic' lines in [vm %s]", CONFIG_NICS_MAX, vm->name);
            return;
        }
        if (str_copy(vm->nic[vm->nnics], value, CONFIG_NIC_MAX) >= CONFIG_NIC_MAX) {
            vm->nic[vm->nnics][0] = '\0';
            VM_ERR(p, "nic in [vm %s] is longer than %d characters", vm->name, CONFIG_NIC_MAX - 1);
            return;
        }
        vm->nnics++;
        return;
    case VK_CONSOLE_PORT:
        if (str_to_u64(value, &v) != 0 || v > 65535) {
            VM_ERR(p, "console_port '%s' in [vm %s]: a TCP port 1-65535 (0: none)", value,
                   vm->name);
            return;
        }
        vm->console_port = (uint16_t)v;
        return;
    case VK_AUTOSTART:
        if (config_parse_bool(value, &b) != 0) {
            VM_ERR(p, "autostart '%s' in [vm %s]: yes or no", value, vm->name);
            return;
        }
        vm->autostart = b;
        return;
    case VK_PARAVIRT:
        if (config_parse_bool(value, &b) != 0) {
            VM_ERR(p, "paravirt '%s' in [vm %s]: on or off", value, vm->name);
            return;
        }
        vm->paravirt = b;
        return;
    case VK_COUNT:
        break;
    }
}

static void appliance_key(struct parser *p, const char *key, const char *value)
{
    struct config *c = p->c;
    struct config_kv *kv;

    for (size_t i = 0; i < c->nappliance; i++) {
        if (strcmp(c->appliance[i].key, key) == 0) {
            ERR(p, "duplicate key '%s' in [appliance] (first at line %u): ignored", key,
                c->appliance[i].line);
            return;
        }
    }
    if (c->nappliance >= CONFIG_APPLIANCE_MAX) {
        ERR(p, "more than %d keys in [appliance]: '%s' ignored", CONFIG_APPLIANCE_MAX, key);
        return;
    }
    if (strlen(value) >= CMDLINE_VALUE_MAX) {
        ERR(p, "value of '%s' in [appliance] is longer than %d characters: ignored", key,
            CMDLINE_VALUE_MAX - 1);
        return;
    }
    kv = &c->appliance[c->nappliance++];
    str_copy(kv->key, key, sizeof(kv->key));
    str_copy(kv->value, value, sizeof(kv->value));
    kv->line = p->line;
}

static void vnet_line(struct parser *p, char *s)
{
    struct config *c = p->c;
    struct config_kv *kv;

    cut_comment(s);
    s = trim(s);
    if (*s == '\0') {
        return;
    }
    if (c->nvnet >= CONFIG_VNET_MAX) {
        ERR(p, "more than %d lines in [vnet]: ignored", CONFIG_VNET_MAX);
        return;
    }
    if (strlen(s) >= CONFIG_VNET_LINE_MAX) {
        ERR(p, "[vnet] line longer than %d characters: ignored", CONFIG_VNET_LINE_MAX - 1);
        return;
    }
    kv = &c->vnet[c->nvnet++];
    kv->key[0] = '\0';
    str_copy(kv->value, s, sizeof(kv->value));
    kv->line = p->line;
}

static bool key_ok(const char *k)
{
    if (*k == '\0' || strlen(k) >= CMDLINE_KEY_MAX) {
        return false;
    }
    for (; *k != '\0'; k++) {
        if (!(*k >= 'a' && *k <= 'z') && !(*k >= '0' && *k <= '9') && *k != '.' && *k != '_' &&
            *k != '-') {
            return false;
        }
    }
    return true;
}

/* Splits "key = value" (value possibly "quoted") and hands it to the section. */
static void key_value(struct parser *p, char *s)
{
    char *eq = strchr(s, '=');
    char *key;
    char *value;
    unsigned char bad;
    bool quoted = false;

    if (eq == NULL) {
        ERR(p, "expected 'key = value', '[section]' or a comment");
        goto bad_line;
    }
    *eq = '\0';
    key = trim(s);
    value = eq + 1;
    while (is_blank(*value)) {
        value++;
    }
    if (*value == '"') {
        char *close = strchr(value + 1, '"');
        char *after;

        if (close == NULL) {
            ERR(p, "unterminated quote in the value of '%s'", key);
            goto bad_line;
        }
        *close = '\0';
        after = close + 1;
        cut_comment(after);
        if (*trim(after) != '\0') {
            ERR(p, "text after the closing quote of '%s'", key);
            goto bad_line;
        }
        value++;
        quoted = true;
    } else {
        cut_comment(value);
        value = trim(value);
    }
    if (!key_ok(key)) {
        ERR(p, "bad key '%s' (lower-case letters, digits, . _ -)", key);
        goto bad_line;
    }
    if (!ascii_printable(value, &bad)) {
        ERR(p, "byte 0x%02x in the value of '%s': values are printable ASCII", bad, key);
        goto bad_line;
    }
    if (*value == '\0' && !quoted) {
        ERR(p, "no value for '%s' (write \"\" for an empty one)", key);
        goto bad_line;
    }
    switch (p->sec) {
    case SEC_NONE:
        ERR(p, "key '%s' before any section ([appliance], [vnet] or [vm NAME])", key);
        return;
    case SEC_APPLIANCE:
        appliance_key(p, key, value);
        return;
    case SEC_VM:
        vm_key(p, key, value);
        return;
    case SEC_VNET: /* handled before the split */
    case SEC_SKIP:
        return;
    }
    return;

bad_line:
    if (p->sec == SEC_VM) {
        p->vm->errors++;
        p->vm->lost_lines++;
    }
}

static void parse_line(struct parser *p, char *line)
{
    char *s = line;
    unsigned char bad;

    while (is_blank(*s)) {
        s++;
    }
    if (*s == '\0' || *s == '#' || *s == ';') {
        return;
    }
    /* Control bytes are refused anywhere; other bytes only where they matter (values). */
    for (const char *q = s; *q != '\0'; q++) {
        unsigned char ch = (unsigned char)*q;

        if ((ch < 0x20 && ch != '\t') || ch == 0x7F) {
            ERR(p, "control byte 0x%02x in the line: skipped", ch);
            if (p->sec == SEC_VM) {
                p->vm->errors++;
                p->vm->lost_lines++;
            }
            return;
        }
    }
    if (*s == '[') {
        section_header(p, s);
        return;
    }
    if (p->sec == SEC_VNET) {
        if (!ascii_printable(s, &bad)) {
            ERR(p, "byte 0x%02x in a [vnet] line: skipped", bad);
            return;
        }
        vnet_line(p, s);
        return;
    }
    if (p->sec == SEC_SKIP) {
        return;
    }
    key_value(p, s);
}

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
}

int config_parse(struct config *c, const char *text, size_t len, config_report_fn report, void *ctx)
{
    struct parser p = {.c = c, .report = report, .ctx = ctx, .sec = SEC_NONE};
    char line[CONFIG_LINE_MAX];
    unsigned errors_before = c->errors;
    unsigned reported_before = c->reported;
    size_t pos = 0;

    if (text == NULL) {
        len = 0;
    }
    if (len > CONFIG_FILE_MAX) {
        say(&p, CONFIG_ERROR, 0, "the file is %zu bytes; only the first %d are read", len,
            CONFIG_FILE_MAX);
        len = CONFIG_FILE_MAX;
    }
    if (len >= 3 && (uint8_t)text[0] == 0xEF && (uint8_t)text[1] == 0xBB &&
        (uint8_t)text[2] == 0xBF) {
        pos = 3; /* a UTF-8 byte order mark */
    }
    while (pos < len) {
        size_t start = pos;
        size_t n;

        while (pos < len && text[pos] != '\n') {
            pos++;
        }
        n = pos - start;
        if (pos < len) {
            pos++; /* the newline */
        }
        p.line++;
        c->lines++;
        if (n > 0 && text[start + n - 1] == '\r') {
            n--;
        }
        if (n >= sizeof(line)) {
            ERR(&p, "line longer than %zu characters: skipped", sizeof(line) - 1);
            if (p.sec == SEC_VM) {
                p.vm->errors++;
                p.vm->lost_lines++;
            }
            continue;
        }
        memcpy(line, text + start, n);
        line[n] = '\0';
        if (strlen(line) != n) {
            ERR(&p, "NUL byte in the line: skipped");
            if (p.sec == SEC_VM) {
                p.vm->errors++;
                p.vm->lost_lines++;
            }
            continue;
        }
        parse_line(&p, line);
    }
    finish_vm(&p);
    if (c->reported >= CONFIG_REPORT_MAX && report != NULL) {
        unsigned shown = c->reported - reported_before;
        unsigned total = c->errors - errors_before;

        if (total > shown) {
            char msg[96];

            snprintf(msg, sizeof(msg), "%u more problem%s not shown", total - shown,
                     total - shown == 1 ? "" : "s");
            report(ctx, CONFIG_ERROR, 0, msg);
        }
    }
    return (int)(c->errors - errors_before);
}

int config_apply_appliance(const struct config *c, const struct cmdline_key *keys, size_t nkeys,
                           bool (*on_cmdline)(void *ctx, const char *key), config_report_fn report,
                           void *ctx)
{
    int errors = 0;

    for (size_t i = 0; i < c->nappliance; i++) {
        const struct config_kv *kv = &c->appliance[i];
        const struct cmdline_key *k = NULL;
        char why[160];
        char msg[CMDLINE_KEY_MAX + sizeof(why) + 96];
        enum config_sev sev = CONFIG_INFO;
        int rc;

        for (size_t j = 0; j < nkeys; j++) {
            if (strcmp(keys[j].name, kv->key) == 0) {
                k = &keys[j];
                break;
            }
        }
        if (k == NULL) {
            snprintf(msg, sizeof(msg), "unknown key '%s' in [appliance]", kv->key);
            sev = CONFIG_ERROR;
        } else if (strcmp(kv->key, "vm") == 0) {
            snprintf(msg, sizeof(msg), "'vm' has no place in [appliance]: use a [vm NAME] section");
            sev = CONFIG_ERROR;
        } else if (on_cmdline != NULL && on_cmdline(ctx, kv->key)) {
            snprintf(msg, sizeof(msg), "'%s' is also on the command line, which wins: skipped",
                     kv->key);
        } else {
            why[0] = '\0';
            rc = k->fn(kv->value, true, why, sizeof(why));
            if (rc != 0) {
                snprintf(msg, sizeof(msg), "bad value for '%s' in [appliance]: %s", kv->key,
                         why[0] != '\0' ? why : "rejected");
                sev = CONFIG_ERROR;
            } else {
                snprintf(msg, sizeof(msg), "applied '%s'", kv->key);
            }
        }
        if (sev == CONFIG_ERROR) {
            errors++;
        }
        if (report != NULL) {
            report(ctx, sev, kv->line, msg);
        }
    }
    return errors;
}

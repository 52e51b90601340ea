/* libFuzzer target: the petrel.conf parser (config_parse, config_apply_appliance) on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib.h"
#include "log.h"
#include "../vmm/vmm.h"

/* Recoverable UBSan checks (the Makefile does not pass -fno-sanitize-recover) must still stop
 * the run, or a finding would only be a line in the output. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

static struct config g_conf;
static size_t g_msgs;

static void report(void *ctx, enum config_sev sev, unsigned line, const char *msg)
{
    (void)ctx;
    if (sev > CONFIG_INFO || strlen(msg) > CONFIG_LINE_MAX + 160) {
        abort(); /* strlen also makes ASan check the message is terminated */
    }
    if (line > g_conf.lines + 1) {
        abort();
    }
    g_msgs++;
}

static int key_log(const char *value, bool has_value, char *msg, size_t msglen)
{
    return log_apply_spec(value, msg, msglen);
}

static int key_fill(const char *value, bool has_value, char *msg, size_t msglen)
{
    /* Fills the whole message buffer: the caller must cope with a full one. */
    memset(msg, 'm', msglen - 1);
    msg[msglen - 1] = '\0';
    return value[0] == 'x' ? -EINVAL : 0;
}

static const struct cmdline_key g_keys[] = {
    {"log", "log spec", key_log},
    {"fill", "fills its message", key_fill},
    {"vm", "refused in the file", key_fill},
};

static bool on_cmdline(void *ctx, const char *key)
{
    (void)ctx;
    return key[0] == 'f' && key[1] == 'i' && key[2] == 'x';
}

static void check_str(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap) {
        abort();
    }
}

static void check_vm(const struct config_vm *vm)
{
    check_str(vm->name, sizeof(vm->name));
    check_str(vm->image, sizeof(vm->image));
    check_str(vm->cmdline, sizeof(vm->cmdline));
    check_str(vm->initrd, sizeof(vm->initrd));
    if (vm->nnics > CONFIG_NICS_MAX) {
        abort();
    }
    for (size_t i = 0; i < vm->nnics; i++) {
        check_str(vm->nic[i], sizeof(vm->nic[i]));
    }
    if (!vm->valid) {
        return;
    }
    /* What a valid section promises the code that builds the VM. */
    if (!config_name_ok(vm->name) || !config_module_ok(vm->image) || vm->mem_bytes < VMM_MEM_MIN ||
        vm->mem_bytes > VMM_MEM_MAX || vm->image_kind == CONFIG_IMAGE_NONE || vm->errors != 0) {
        abort();
    }
    if (vm->image_kind == CONFIG_IMAGE_FLAT &&
        (vm->load >= vm->mem_bytes || vm->entry >= vm->mem_bytes)) {
        abort();
    }
    if (vm->initrd[0] != '\0' && !config_module_ok(vm->initrd)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exactly sized copy, not terminated: the parser must keep to len. */
    char *text = malloc(size > 0 ? size : 1);
    int errors;

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    log_init();
    config_init(&g_conf);
    g_msgs = 0;
    errors = config_parse(&g_conf, text, size, report, NULL);
    if (errors < 0 || (unsigned)errors != g_conf.errors) {
        abort();
    }
    if (g_conf.nvms > CONFIG_VMS_MAX || g_conf.nappliance > CONFIG_APPLIANCE_MAX ||
        g_conf.nvnet > CONFIG_VNET_MAX || g_conf.reported > CONFIG_REPORT_MAX) {
        abort();
    }
    for (size_t i = 0; i < g_conf.nvms; i++) {
        check_vm(&g_conf.vm[i]);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(g_conf.vm[i].name, g_conf.vm[j].name) == 0) {
                abort(); /* names are unique */
            }
            if (g_conf.vm[i].valid && g_conf.vm[j].valid && g_conf.vm[i].console_port != 0 &&
                g_conf.vm[i].console_port == g_conf.vm[j].console_port) {
                abort(); /* so are console ports */
            }
        }
    }
    for (size_t i = 0; i < g_conf.nappliance; i++) {
        check_str(g_conf.appliance[i].key, sizeof(g_conf.appliance[i].key));
        check_str(g_conf.appliance[i].value, sizeof(g_conf.appliance[i].value));
    }
    for (size_t i = 0; i < g_conf.nvnet; i++) {
        check_str(g_conf.vnet[i].value, CONFIG_VNET_LINE_MAX);
    }
    if (config_apply_appliance(&g_conf, g_keys, ARRAY_SIZE(g_keys), on_cmdline, report, NULL) < 0) {
        abort();
    }
    /* A second file adds to the first without breaking the limits. */
    (void)config_parse(&g_conf, text, size, NULL, NULL);
    if (g_conf.nvms > CONFIG_VMS_MAX || g_conf.nappliance > CONFIG_APPLIANCE_MAX ||
        g_conf.nvnet > CONFIG_VNET_MAX) {
        abort();
    }
    free(text);
    return 0;
}

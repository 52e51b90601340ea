/* The kernel command line keys (key=value; unknown keys are warned about, never ignored). */
#include "params.h"
#include "cmdline.h"
#include "lib.h"
#include "log.h"
#include "../console/config.h"

struct params g_params;

static int key_log(const char *value, bool has_value, char *msg, size_t msglen)
{
    if (!has_value || value[0] == '\0') {
        snprintf(msg, msglen, "expected log=COMPONENT:LEVEL[,...]");
        return -EINVAL;
    }
    return log_apply_spec(value, msg, msglen);
}

static int key_test_fault(const char *value, bool has_value, char *msg, size_t msglen)
{
    static const struct {
        const char *name;
        enum test_fault fault;
    } faults[] = {
        {"ud", TEST_FAULT_UD}, {"pf", TEST_FAULT_PF},       {"gp", TEST_FAULT_GP},
        {"de", TEST_FAULT_DE}, {"panic", TEST_FAULT_PANIC},
    };

    if (has_value) {
        for (size_t i = 0; i < ARRAY_SIZE(faults); i++) {
            if (strcmp(value, faults[i].name) == 0) {
                g_params.test_fault = faults[i].fault;
                return 0;
            }
        }
    }
    snprintf(msg, msglen, "expected test.fault=ud|pf|gp|de|panic");
    return -EINVAL;
}

static int set_str(char *dst, size_t dstlen, const char *value, bool has_value, char *msg,
                   size_t msglen)
{
    if (!has_value || value[0] == '\0') {
        snprintf(msg, msglen, "needs a value");
        return -EINVAL;
    }
    if (str_copy(dst, value, dstlen) >= dstlen) {
        dst[0] = '\0';
        snprintf(msg, msglen, "value longer than %zu characters", dstlen - 1);
        return -E2BIG;
    }
    return 0;
}

static int key_nic(const char *value, bool has_value, char *msg, size_t msglen)
{
    return set_str(g_params.nic, sizeof(g_params.nic), value, has_value, msg, msglen);
}

static int key_ip(const char *value, bool has_value, char *msg, size_t msglen)
{
    return set_str(g_params.ip, sizeof(g_params.ip), value, has_value, msg, msglen);
}

static int key_gw(const char *value, bool has_value, char *msg, size_t msglen)
{
    return set_str(g_params.gw, sizeof(g_params.gw), value, has_value, msg, msglen);
}

static int key_vm(const char *value, bool has_value, char *msg, size_t msglen)
{
    int rc;

    if (g_params.nvms >= PARAM_VM_MAX) {
        snprintf(msg, msglen, "more than %d vm= keys", PARAM_VM_MAX);
        return -ENOSPC;
    }
    if (!has_value || strchr(value, ':') == NULL) {
        snprintf(msg, msglen, "expected vm=NAME:MODULE[:mem=MB][:flat=ADDR]");
        return -EINVAL;
    }
    rc = set_str(g_params.vm[g_params.nvms], PARAM_VM_SPEC_MAX, value, has_value, msg, msglen);
    if (rc == 0) {
        g_params.nvms++;
    }
    return rc;
}

static const struct cmdline_key g_keys[] = {
    {"nic", "host NIC to use: rtl8139, ne2k or a PCI address BB:DD.F (default: first found)",
     key_nic},
    {"ip", "appliance address: dhcp (default) or A.B.C.D/PREFIX", key_ip},
    {"gw", "default gateway with a static ip=, A.B.C.D", key_gw},
    {"log", "per-component log levels, e.g. log=pit:debug,vnet:info or log=all:debug", key_log},
    {"console.password", "console password sha256:SALT:HASH (tools/mkpasswd); none: read-only",
     con_param_password},
    {"console.port", "telnet console TCP port (default 23, 0: off)", con_param_port},
    {"console.allow", "networks allowed to connect, A.B.C.D/N[,...] (default: any)",
     con_param_allow},
    {"console.idle", "close console sessions idle this many seconds (default 900, 0: never)",
     con_param_idle},
    {"logstream.port", "log stream TCP port (default 5140, 0: off)", con_param_logstream_port},
    {"syslog", "send the log as RFC 5424 over UDP to A.B.C.D[:PORT] (default port 514)",
     con_param_syslog},
    {"test.fault", "raise a CPU exception at the end of boot (tests of the fault dump)",
     key_test_fault},
    {"vm",
     "start a guest at boot from a GRUB module: vm=NAME:MODULE[:mem=MB][:flat=ADDR] "
     "(repeatable; MB defaults to 16; flat= loads raw bytes and enters at ADDR)",
     key_vm},
};

static void warn(const char *msg)
{
    LOG_WARN(BOOT, "cmdline: %s", msg);
}

const struct cmdline_key *params_keys(size_t *n)
{
    *n = ARRAY_SIZE(g_keys);
    return g_keys;
}

int params_apply(const char *cmdline)
{
    memset(&g_params, 0, sizeof(g_params));
    return cmdline_apply(cmdline, g_keys, ARRAY_SIZE(g_keys), warn);
}

/* Parser for a VM's `nic =` value (nic_config.h). */
#include "nic_config.h"
#include "../kernel/errno.h"
#include "../kernel/lib.h"

static const char *const model_names[] = {
    [VMM_NIC_VIRTIO] = "virtio",
    [VMM_NIC_RTL8139] = "rtl8139",
    [VMM_NIC_NE2K] = "ne2k",
};

const char *vmm_nic_model_name(enum vmm_nic_model model)
{
    if ((unsigned)model >= sizeof(model_names) / sizeof(model_names[0])) {
        return "?";
    }
    return model_names[model];
}

void vmm_nic_default_mac(unsigned vm_id, unsigned index, uint8_t mac[6])
{
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = 0x50;
    mac[4] = (uint8_t)vm_id;
    mac[5] = (uint8_t)index;
}

static int fail(char *err, size_t errlen, const char *what, const char *tok, size_t toklen)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s '%.*s'", what, (int)(toklen > 40 ? 40 : toklen), tok);
    }
    return -EINVAL;
}

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

/* Exactly "xx:xx:xx:xx:xx:xx" (17 characters, ':' or '-'). */
static bool parse_mac(const char *s, size_t len, uint8_t mac[6])
{
    if (len != 17) {
        return false;
    }
    for (unsigned i = 0; i < 6; i++) {
        int hi = hexval(s[3 * i]);
        int lo = hexval(s[3 * i + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':' && s[3 * i + 2] != '-')) {
            return false;
        }
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool token_is(const char *tok, size_t len, const char *word)
{
    return strlen(word) == len && strncmp(tok, word, len) == 0;
}

/* Names and networks: letters, digits, '-', '_', '.'; not empty. */
static bool plain_name(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return true;
}

static int parse_key(const char *tok, size_t len, struct vmm_nic_config *out, char *err,
                     size_t errlen)
{
    const char *eq = NULL;
    size_t klen;
    const char *v;
    size_t vlen;

    for (size_t i = 0; i < len; i++) {
        if (tok[i] == '=') {
            eq = &tok[i];
            break;
        }
    }
    if (eq == NULL) {
        return fail(err, errlen, "expected key=value, got", tok, len);
    }
    klen = (size_t)(eq - tok);
    v = eq + 1;
    vlen = len - klen - 1;
    if (token_is(tok, klen, "mac")) {
        if (!parse_mac(v, vlen, out->mac)) {
            return fail(err, errlen, "bad MAC (want xx:xx:xx:xx:xx:xx)", v, vlen);
        }
        if (out->mac[0] & 1) {
            return fail(err, errlen, "MAC is multicast", v, vlen);
        }
        out->mac_set = true;
        return 0;
    }
    if (token_is(tok, klen, "net")) {
        if (vlen >= VMM_NIC_NET_MAX || !plain_name(v, vlen)) {
            return fail(err, errlen, "bad network name", v, vlen);
        }
        memcpy(out->net, v, vlen);
        out->net[vlen] = '\0';
        return 0;
    }
    if (token_is(tok, klen, "name")) {
        if (vlen >= VMM_NIC_NAME_MAX || !plain_name(v, vlen)) {
            return fail(err, errlen, "bad NIC name", v, vlen);
        }
        memcpy(out->name, v, vlen);
        out->name[vlen] = '\0';
        return 0;
    }
    return fail(err, errlen, "unknown key (mac, net, name)", tok, klen);
}

int vmm_nic_parse(const char *spec, unsigned index, struct vmm_nic_config *out, char *err,
                  size_t errlen)
{
    const char *p = spec;
    bool first = true;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (spec == NULL || out == NULL) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "eth%u", index);
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        int rc;

        /* Spaces around a token are allowed. */
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        if (first) {
            bool found = false;

            for (unsigned m = 0; m < sizeof(model_names) / sizeof(model_names[0]); m++) {
                if (token_is(p, len, model_names[m])) {
                    out->model = (enum vmm_nic_model)m;
                    found = true;
                }
            }
            if (!found) {
                return fail(err, errlen, "unknown NIC model (virtio, rtl8139, ne2k)", p, len);
            }
            first = false;
        } else {
            rc = parse_key(p, len, out, err, errlen);
            if (rc < 0) {
                return rc;
            }
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return 0;
}

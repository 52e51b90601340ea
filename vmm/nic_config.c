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

bool vmm_nic_model_tells_mtu(enum vmm_nic_model model)
{
    return model == VMM_NIC_VIRTIO;
}

uint16_t vmm_nic_mtu(const struct vmm_nic_config *nc, uint16_t network_mtu)
{
    if (nc->mtu != 0) {
        return nc->mtu;
    }
    if (!vmm_nic_model_tells_mtu(nc->model)) {
        return VMM_NIC_MTU_MAX;
    }
    if (network_mtu > VMM_NIC_MTU_MAX) {
        return VMM_NIC_MTU_MAX;
    }
    return network_mtu < VMM_NIC_MTU_FLOOR ? VMM_NIC_MTU_FLOOR : network_mtu;
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

/* `mtu=N`: decimal, VMM_NIC_MTU_MIN..VMM_NIC_MTU_MAX (the messages name them). */
_Static_assert(VMM_NIC_MTU_MIN == 576 && VMM_NIC_MTU_MAX == 1500, "MTU range in messages");
static int parse_mtu(const char *v, size_t vlen, struct vmm_nic_config *out, char *err,
                     size_t errlen)
{
    unsigned n = 0;

    if (vlen == 0 || vlen > 5) {
        return fail(err, errlen, "bad MTU (want 576..1500)", v, vlen);
    }
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return fail(err, errlen, "bad MTU (want 576..1500)", v, vlen);
        }
        n = n * 10 + (unsigned)(v[i] - '0');
    }
    if (n < VMM_NIC_MTU_MIN || n > VMM_NIC_MTU_MAX) {
        return fail(err, errlen, "MTU out of range 576..1500", v, vlen);
    }
    out->mtu = (uint16_t)n;
    return 0;
}

/* One setting: key (klen bytes) and its value. */
static int parse_setting(const char *key, size_t klen, const char *v, size_t vlen,
                         struct vmm_nic_config *out, char *err, size_t errlen)
{
    if (token_is(key, klen, "mac")) {
        if (!parse_mac(v, vlen, out->mac)) {
            return fail(err, errlen, "bad MAC (want xx:xx:xx:xx:xx:xx)", v, vlen);
        }
        if (out->mac[0] & 1) {
            return fail(err, errlen, "MAC is multicast", v, vlen);
        }
        out->mac_set = true;
        return 0;
    }
    if (token_is(key, klen, "net") || token_is(key, klen, "network")) {
        if (vlen >= VMM_NIC_NET_MAX || !plain_name(v, vlen)) {
            return fail(err, errlen, "bad network name", v, vlen);
        }
        memcpy(out->net, v, vlen);
        out->net[vlen] = '\0';
        return 0;
    }
    if (token_is(key, klen, "name")) {
        if (vlen >= VMM_NIC_NAME_MAX || !plain_name(v, vlen)) {
            return fail(err, errlen, "bad NIC name", v, vlen);
        }
        memcpy(out->name, v, vlen);
        out->name[vlen] = '\0';
        return 0;
    }
    if (token_is(key, klen, "mtu")) {
        return parse_mtu(v, vlen, out, err, errlen);
    }
    if (token_is(key, klen, "offload")) {
        if (out->model != VMM_NIC_VIRTIO) {
            return fail(err, errlen, "offload= applies to virtio only", key, klen);
        }
        if (!token_is(v, vlen, "on") && !token_is(v, vlen, "off")) {
            return fail(err, errlen, "bad offload (want on or off)", v, vlen);
        }
        out->no_offload = token_is(v, vlen, "off");
        return 0;
    }
    return fail(err, errlen, "unknown key (mac, net, network, name, mtu, offload)", key, klen);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next token of s at *pos: blanks skipped, ended by ',', a blank or the end. A ',' right
 * after it (blanks allowed) is consumed and *comma set, so "a,,b" and "a," can be refused. */
static bool next_token(const char *s, size_t *pos, const char **tok, size_t *len, bool *comma)
{
    size_t p = *pos;
    size_t start;

    while (is_blank(s[p])) {
        p++;
    }
    start = p;
    while (s[p] != '\0' && s[p] != ',' && !is_blank(s[p])) {
        p++;
    }
    *tok = &s[start];
    *len = p - start;
    while (is_blank(s[p])) {
        p++;
    }
    *comma = s[p] == ',';
    if (*comma) {
        p++;
    }
    *pos = p;
    return *len > 0;
}

int vmm_nic_parse(const char *spec, unsigned index, struct vmm_nic_config *out, char *err,
                  size_t errlen)
{
    size_t pos = 0;
    const char *tok;
    size_t len;
    bool comma;
    bool found = false;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (spec == NULL || out == NULL) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "eth%u", index);
    if (!next_token(spec, &pos, &tok, &len, &comma)) {
        return fail(err, errlen, "no NIC model (virtio, rtl8139, ne2k)", spec, 0);
    }
    for (unsigned m = 0; m < sizeof(model_names) / sizeof(model_names[0]); m++) {
        if (token_is(tok, len, model_names[m])) {
            out->model = (enum vmm_nic_model)m;
            found = true;
        }
    }
    if (!found) {
        return fail(err, errlen, "unknown NIC model (virtio, rtl8139, ne2k)", tok, len);
    }
    /* Settings: "key=value" or "key value", separated by commas or blanks. */
    for (;;) {
        const char *eq;
        bool had_comma = comma;
        int rc;

        if (!next_token(spec, &pos, &tok, &len, &comma)) {
            if (had_comma || spec[pos] != '\0') {
                return fail(err, errlen, "empty setting after", spec, pos);
            }
            return 0;
        }
        eq = NULL;
        for (size_t i = 0; i < len && eq == NULL; i++) {
            eq = tok[i] == '=' ? &tok[i] : NULL;
        }
        if (eq != NULL) {
            rc = parse_setting(tok, (size_t)(eq - tok), eq + 1, len - (size_t)(eq - tok) - 1, out,
                               err, errlen);
        } else {
            const char *v;
            size_t vlen;
            bool c2;

            if (comma || !next_token(spec, &pos, &v, &vlen, &c2)) {
                return fail(err, errlen, "expected key=value or key value, got", tok, len);
            }
            comma = c2;
            rc = parse_setting(tok, len, v, vlen, out, err, errlen);
        }
        if (rc < 0) {
            return rc;
        }
    }
}

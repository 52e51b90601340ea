/* Text forms for the console and petrel.conf: routes, VXLAN links and IPv4 addresses.
 * Parsers check everything and say in one line what is wrong; formatters write the canonical
 * form, which parses back to the same thing. */
#include "internal.h"
#include "../kernel/lib.h"

#define TEXT_MAX   256
#define TOKENS_MAX 48

struct tokens {
    char buf[TEXT_MAX];
    char *t[TOKENS_MAX];
    size_t n;
};

/* Splits on spaces and tabs. Returns 0, or -EINVAL with a reason. */
static int tokenize(const char *text, struct tokens *tk, char *err, size_t errlen)
{
    char *p;

    memset(tk, 0, sizeof(*tk));
    if (text == NULL) {
        vnet_err(err, errlen, "empty");
        return -EINVAL;
    }
    if (strnlen(text, TEXT_MAX) >= TEXT_MAX) {
        vnet_err(err, errlen, "too long (at most %d characters)", TEXT_MAX - 1);
        return -EINVAL;
    }
    str_copy(tk->buf, text, sizeof(tk->buf));
    p = tk->buf;
    for (;;) {
        while (*p == ' ' || *p == '\t') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            break;
        }
        if (tk->n == TOKENS_MAX) {
            vnet_err(err, errlen, "too many words (at most %d)", TOKENS_MAX);
            return -EINVAL;
        }
        tk->t[tk->n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            p++;
        }
    }
    if (tk->n == 0) {
        vnet_err(err, errlen, "empty");
        return -EINVAL;
    }
    return 0;
}

static bool is_word(const char *tok, const char *word)
{
    return str_casecmp(tok, word) == 0;
}

/* ---- IPv4 -------------------------------------------------------------------------------- */

int vnet_ip4_parse(const char *s, uint32_t *ip)
{
    uint32_t v = 0;

    if (s == NULL) {
        return -EINVAL;
    }
    for (int octet = 0; octet < 4; octet++) {
        uint32_t x = 0;
        int digits = 0;

        if (octet > 0) {
            if (*s != '.') {
                return -EINVAL;
            }
            s++;
        }
        while (*s >= '0' && *s <= '9' && digits < 4) {
            x = x * 10 + (uint32_t)(*s - '0');
            digits++;
            s++;
        }
        if (digits == 0 || digits > 3 || x > 255 || (digits > 1 && s[-digits] == '0')) {
            return -EINVAL;
        }
        v = (v << 8) | x;
    }
    if (*s != '\0') {
        return -EINVAL;
    }
    *ip = v;
    return 0;
}

int vnet_ip4_format(uint32_t ip, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%u.%u.%u.%u", (unsigned)(ip >> 24), (unsigned)(ip >> 16) & 0xff,
                     (unsigned)(ip >> 8) & 0xff, (unsigned)ip & 0xff);

    return (n < 0 || (size_t)n >= len) ? -ENOSPC : n;
}

/* ---- routes ------------------------------------------------------------------------------ */

/* Parses a MAC spec starting at tk->t[*i] (the word after src/dst); advances *i past it. */
static int parse_spec(const struct tokens *tk, size_t *i, const char *field,
                      enum vnet_mac_qual *qual, uint8_t *mac, char *err, size_t errlen)
{
    const char *tok;

    if (*i >= tk->n) {
        vnet_err(err, errlen, "%s: expected any, none, a MAC, 'not MAC' or 'exact MAC'", field);
        return -EINVAL;
    }
    tok = tk->t[(*i)++];
    if (is_word(tok, "any")) {
        *qual = VNET_QUAL_ANY;
        return 0;
    }
    if (is_word(tok, "none")) {
        *qual = VNET_QUAL_NONE;
        return 0;
    }
    if (is_word(tok, "not") || is_word(tok, "exact")) {
        *qual = is_word(tok, "not") ? VNET_QUAL_NOT : VNET_QUAL_EXACT;
        if (*i >= tk->n) {
            vnet_err(err, errlen, "%s %s: expected a MAC like 52:54:00:12:34:56", field, tok);
            return -EINVAL;
        }
        tok = tk->t[(*i)++];
        if (vnet_mac_parse(tok, mac) < 0) {
            vnet_err(err, errlen, "%s: '%.40s' is not a MAC like 52:54:00:12:34:56", field, tok);
            return -EINVAL;
        }
        return 0;
    }
    if (vnet_mac_parse(tok, mac) < 0) {
        vnet_err(err, errlen,
                 "%s: expected any, none, a MAC, 'not MAC' or 'exact MAC', got '%.40s'", field,
                 tok);
        return -EINVAL;
    }
    *qual = VNET_QUAL_EXACT;
    return 0;
}

static int parse_name(const struct tokens *tk, size_t *i, const char *word, char *out, char *err,
                      size_t errlen)
{
    const char *tok;

    if (*i >= tk->n) {
        vnet_err(err, errlen, "%s: expected a port name", word);
        return -EINVAL;
    }
    tok = tk->t[(*i)++];
    if (vnet_name_check(tok) < 0) {
        vnet_err(err, errlen, "%s: '%.40s' is not a port name (1..%d of A-Z a-z 0-9 . _ : -)", word,
                 tok, VNET_NAME_MAX - 1);
        return -EINVAL;
    }
    str_copy(out, tok, VNET_NAME_MAX);
    return 0;
}

int vnet_route_parse(const char *text, struct vnet_route *out, char *err, size_t errlen)
{
    struct tokens tk;
    struct vnet_route r;
    bool have_src = false;
    bool have_dst = false;
    bool have_from = false;
    bool have_action = false;
    size_t i = 0;
    int rc;

    vnet_err(err, errlen, "%s", "");
    memset(&r, 0, sizeof(r));
    rc = tokenize(text, &tk, err, errlen);
    if (rc < 0) {
        return rc;
    }
    while (i < tk.n) {
        const char *tok = tk.t[i++];

        if (have_action) {
            vnet_err(err, errlen, "unexpected '%.40s' after the destination", tok);
            return -EINVAL;
        }
        if (is_word(tok, "src") || is_word(tok, "dst")) {
            bool src = is_word(tok, "src");
            bool *have = src ? &have_src : &have_dst;

            if (*have) {
                vnet_err(err, errlen, "%s given twice", src ? "src" : "dst");
                return -EINVAL;
            }
            *have = true;
            rc = parse_spec(&tk, &i, src ? "src" : "dst", src ? &r.src_qual : &r.dst_qual,
                            src ? r.src_mac : r.dst_mac, err, errlen);
        } else if (is_word(tok, "from")) {
            if (have_from) {
                vnet_err(err, errlen, "from given twice");
                return -EINVAL;
            }
            have_from = true;
            rc = parse_name(&tk, &i, "from", r.from, err, errlen);
        } else if (is_word(tok, "port") || is_word(tok, "link")) {
            have_action = true;
            r.action = VNET_ACT_PORT;
            r.to_link = is_word(tok, "link");
            rc = parse_name(&tk, &i, r.to_link ? "link" : "port", r.to, err, errlen);
        } else if (is_word(tok, "drop")) {
            have_action = true;
            r.action = VNET_ACT_DROP;
        } else {
            vnet_err(err, errlen,
                     "unexpected '%.40s' (expected src, dst, from, port, link or drop)", tok);
            return -EINVAL;
        }
        if (rc < 0) {
            return rc;
        }
    }
    if (!have_action) {
        vnet_err(err, errlen,
                 "missing destination: end the route with 'port NAME', "
                 "'link NAME' or 'drop'");
        return -EINVAL;
    }
    *out = r;
    return 0;
}

static int format_spec(enum vnet_mac_qual q, const uint8_t *mac, char *buf, size_t len)
{
    char m[VNET_MAC_STR_MAX];

    vnet_mac_format(mac, m, sizeof(m));
    switch (q) {
    case VNET_QUAL_ANY:
        return snprintf(buf, len, "any");
    case VNET_QUAL_NONE:
        return snprintf(buf, len, "none");
    case VNET_QUAL_EXACT:
        return snprintf(buf, len, "%s", m);
    case VNET_QUAL_NOT:
        return snprintf(buf, len, "not %s", m);
    }
    return snprintf(buf, len, "?");
}

int vnet_route_format(const struct vnet_route *r, char *buf, size_t len)
{
    char src[32];
    char dst[32];
    char from[VNET_NAME_MAX + 8] = "";
    int n;

    format_spec(r->src_qual, r->src_mac, src, sizeof(src));
    format_spec(r->dst_qual, r->dst_mac, dst, sizeof(dst));
    if (r->from[0] != '\0') {
        snprintf(from, sizeof(from), " from %.*s", VNET_NAME_MAX - 1, r->from);
    }
    if (r->action == VNET_ACT_DROP) {
        n = snprintf(buf, len, "src %s dst %s%s drop", src, dst, from);
    } else {
        n = snprintf(buf, len, "src %s dst %s%s %s %.*s", src, dst, from,
                     r->to_link ? "link" : "port", VNET_NAME_MAX - 1, r->to);
    }
    return (n < 0 || (size_t)n >= len) ? -ENOSPC : n;
}

/* ---- links ------------------------------------------------------------------------------- */

static int parse_number(const struct tokens *tk, size_t *i, const char *word, uint64_t min,
                        uint64_t max, uint64_t *out, char *err, size_t errlen)
{
    uint64_t v;

    if (*i >= tk->n) {
        vnet_err(err, errlen, "%s: expected a number", word);
        return -EINVAL;
    }
    if (str_to_u64(tk->t[*i], &v) < 0 || v < min || v > max) {
        vnet_err(err, errlen, "%s: '%.40s' is not a number in %llu..%llu", word, tk->t[*i],
                 (unsigned long long)min, (unsigned long long)max);
        return -EINVAL;
    }
    (*i)++;
    *out = v;
    return 0;
}

static int parse_remotes(const struct tokens *tk, size_t *i, struct vnet_link_config *c, char *err,
                         size_t errlen)
{
    char list[TEXT_MAX];
    char *p;

    if (*i >= tk->n) {
        vnet_err(err, errlen, "remote: expected an IPv4 address");
        return -EINVAL;
    }
    str_copy(list, tk->t[(*i)++], sizeof(list));
    p = list;
    for (;;) {
        char *comma = strchr(p, ',');
        uint32_t ip;

        if (comma != NULL) {
            *comma = '\0';
        }
        if (vnet_ip4_parse(p, &ip) < 0) {
            vnet_err(err, errlen, "remote: '%.40s' is not an IPv4 address like 10.0.2.2", p);
            return -EINVAL;
        }
        if (c->nremotes == VNET_LINK_REMOTES_MAX) {
            vnet_err(err, errlen, "remote: at most %d remote VTEPs", VNET_LINK_REMOTES_MAX);
            return -EINVAL;
        }
        c->remotes[c->nremotes++] = ip;
        if (comma == NULL) {
            return 0;
        }
        p = comma + 1;
    }
}

int vnet_link_parse(const char *text, struct vnet_link_config *out, char *err, size_t errlen)
{
    struct tokens tk;
    struct vnet_link_config c;
    bool have_vni = false;
    size_t i = 1;
    uint64_t v;
    int rc;

    vnet_err(err, errlen, "%s", "");
    memset(&c, 0, sizeof(c));
    rc = tokenize(text, &tk, err, errlen);
    if (rc < 0) {
        return rc;
    }
    if (vnet_name_check(tk.t[0]) < 0) {
        vnet_err(err, errlen, "'%.40s' is not a link name (1..%d of A-Z a-z 0-9 . _ : -)", tk.t[0],
                 VNET_NAME_MAX - 1);
        return -EINVAL;
    }
    str_copy(c.name, tk.t[0], sizeof(c.name));
    while (i < tk.n) {
        const char *tok = tk.t[i++];

        rc = 0;
        if (is_word(tok, "vni")) {
            rc = parse_number(&tk, &i, "vni", 0, VNET_VXLAN_VNI_MAX, &v, err, errlen);
            c.vni = (uint32_t)v;
            have_vni = true;
        } else if (is_word(tok, "remote")) {
            rc = parse_remotes(&tk, &i, &c, err, errlen);
        } else if (is_word(tok, "network")) {
            rc = parse_number(&tk, &i, "network", 0, UINT32_MAX, &v, err, errlen);
            c.network = (uint32_t)v;
        } else if (is_word(tok, "dstport")) {
            rc = parse_number(&tk, &i, "dstport", 1, 65535, &v, err, errlen);
            c.dst_port = (uint16_t)v;
        } else if (is_word(tok, "mtu")) {
            rc = parse_number(&tk, &i, "mtu", VNET_MTU_MIN, VNET_MTU_MAX, &v, err, errlen);
            c.mtu = (uint16_t)v;
        } else if (is_word(tok, "outer-mtu")) {
            rc = parse_number(&tk, &i, "outer-mtu", 576, VNET_MTU_MAX, &v, err, errlen);
            c.outer_mtu = (uint16_t)v;
        } else if (is_word(tok, "nofrag")) {
            c.no_frag = true;
        } else if (is_word(tok, "accept-any")) {
            c.accept_any = true;
        } else {
            vnet_err(err, errlen,
                     "unexpected '%.40s' (expected vni, remote, network, dstport, mtu, "
                     "outer-mtu, nofrag or accept-any)",
                     tok);
            return -EINVAL;
        }
        if (rc < 0) {
            return rc;
        }
    }
    if (!have_vni) {
        vnet_err(err, errlen, "missing 'vni N'");
        return -EINVAL;
    }
    *out = c;
    return 0;
}

int vnet_link_format(const struct vnet_link_config *c, char *buf, size_t len)
{
    size_t off = 0;
    int n;

#define APPEND(...)                                                                                \
    do {                                                                                           \
        n = snprintf(buf + off, len - off, __VA_ARGS__);                                           \
        if (n < 0 || (size_t)n >= len - off) {                                                     \
            return -ENOSPC;                                                                        \
        }                                                                                          \
        off += (size_t)n;                                                                          \
    } while (0)

    if (buf == NULL || len == 0) {
        return -ENOSPC;
    }
    APPEND("%.*s vni %u", VNET_NAME_MAX - 1, c->name, c->vni);
    for (size_t i = 0; i < c->nremotes && i < VNET_LINK_REMOTES_MAX; i++) {
        char ip[16];

        vnet_ip4_format(c->remotes[i], ip, sizeof(ip));
        APPEND("%s%s", i == 0 ? " remote " : ",", ip);
    }
    APPEND(" network %u", c->network);
    if (c->dst_port != 0) {
        APPEND(" dstport %u", c->dst_port);
    }
    if (c->mtu != 0) {
        APPEND(" mtu %u", c->mtu);
    }
    if (c->outer_mtu != 0) {
        APPEND(" outer-mtu %u", c->outer_mtu);
    }
    if (c->no_frag) {
        APPEND(" nofrag");
    }
    if (c->accept_any) {
        APPEND(" accept-any");
    }
#undef APPEND
    return (int)off;
}

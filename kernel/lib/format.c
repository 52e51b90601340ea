/* fmt_vsnprintf: the kernel's printf engine (%d %i %u %x %X %o %p %s %c %%, flags - 0 + space #,
 * width and precision, also as *, length modifiers hh h l ll z j t). Always terminates the
 * buffer and returns the length the full output would have had, like C99 vsnprintf. */
#include "../lib.h"
#include "format.h"

struct out {
    char *buf;
    size_t size;
    size_t len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size) {
        o->buf[o->len] = c;
    }
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0) {
        put(o, c);
    }
}

struct spec {
    bool left;
    bool zero;
    bool plus;
    bool space;
    bool alt;
    int width;
    int prec;
};

static void put_str(struct out *o, const struct spec *sp, const char *s)
{
    int len = 0;

    if (s == NULL) {
        s = "(null)";
    }
    while (s[len] != '\0' && (sp->prec < 0 || len < sp->prec)) {
        len++;
    }
    if (!sp->left) {
        pad(o, ' ', sp->width - len);
    }
    for (int i = 0; i < len; i++) {
        put(o, s[i]);
    }
    if (sp->left) {
        pad(o, ' ', sp->width - len);
    }
}

static void put_num(struct out *o, const struct spec *sp, uint64_t v, bool neg, unsigned base,
                    bool upper, const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    int plen = 0;
    char sign = 0;
    int zeros;
    int total;

    if (v == 0 && sp->prec != 0) {
        tmp[n++] = '0';
    }
    while (v != 0) {
        tmp[n++] = digits[v % base];
        v /= base;
    }
    if (neg) {
        sign = '-';
    } else if (sp->plus) {
        sign = '+';
    } else if (sp->space) {
        sign = ' ';
    }
    if (prefix != NULL) {
        plen = (int)strlen(prefix);
    }
    zeros = sp->prec > n ? sp->prec - n : 0;
    /* %#o: the result must start with a 0 (C11 7.21.6.1). */
    if (sp->alt && base == 8 && zeros == 0 && (n == 0 || tmp[n - 1] != '0')) {
        zeros = 1;
    }
    total = n + zeros + plen + (sign != 0);
    if (sp->zero && !sp->left && sp->prec < 0 && sp->width > total) {
        zeros += sp->width - total;
        total = sp->width;
    }
    if (!sp->left) {
        pad(o, ' ', sp->width - total);
    }
    if (sign != 0) {
        put(o, sign);
    }
    for (int i = 0; i < plen; i++) {
        put(o, prefix[i]);
    }
    pad(o, '0', zeros);
    while (n > 0) {
        put(o, tmp[--n]);
    }
    if (sp->left) {
        pad(o, ' ', sp->width - total);
    }
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {buf, size, 0};

    for (; *fmt != '\0'; fmt++) {
        struct spec sp = {false, false, false, false, false, 0, -1};
        int lng = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long/size/intmax */
        uint64_t u;
        int64_t s;

        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        for (;; fmt++) {
            if (*fmt == '-') {
                sp.left = true;
            } else if (*fmt == '0') {
                sp.zero = true;
            } else if (*fmt == '+') {
                sp.plus = true;
            } else if (*fmt == ' ') {
                sp.space = true;
            } else if (*fmt == '#') {
                sp.alt = true;
            } else {
                break;
            }
        }
        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9') {
                sp.width = sp.width * 10 + (*fmt++ - '0');
            }
        }
        if (*fmt == '.') {
            fmt++;
            sp.prec = 0;
            if (*fmt == '*') {
                sp.prec = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9') {
                    sp.prec = sp.prec * 10 + (*fmt++ - '0');
                }
            }
        }
        for (;; fmt++) {
            if (*fmt == 'h') {
                lng--;
            } else if (*fmt == 'l') {
                lng++;
            } else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') {
                lng = 2;
            } else {
                break;
            }
        }
        switch (*fmt) {
        case 'd':
        case 'i':
            if (lng >= 1) {
                s = lng == 1 ? va_arg(ap, long) : va_arg(ap, long long);
            } else {
                s = va_arg(ap, int);
                if (lng == -1) {
                    s = (short)s;
                } else if (lng <= -2) {
                    s = (signed char)s;
                }
            }
            u = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
            put_num(&o, &sp, u, s < 0, 10, false, NULL);
            break;
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            if (lng >= 1) {
                u = lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
            } else {
                u = va_arg(ap, unsigned int);
                if (lng == -1) {
                    u = (unsigned short)u;
                } else if (lng <= -2) {
                    u = (unsigned char)u;
                }
            }
            {
                const char *prefix = NULL;

                sp.plus = false; /* '+' and ' ' apply to signed conversions only */
                sp.space = false;
                if (sp.alt && u != 0 && (*fmt == 'x' || *fmt == 'X')) {
                    prefix = *fmt == 'x' ? "0x" : "0X";
                }
                put_num(&o, &sp, u, false, *fmt == 'u' ? 10 : (*fmt == 'o' ? 8 : 16), *fmt == 'X',
                        prefix);
            }
            break;
        case 'p':
            put_num(&o, &sp, (uint64_t)(uintptr_t)va_arg(ap, void *), false, 16, false, "0x");
            break;
        case 's':
            put_str(&o, &sp, va_arg(ap, const char *));
            break;
        case 'c':
            /* Not through put_str: a NUL character is still one character of output. */
            if (!sp.left) {
                pad(&o, ' ', sp.width - 1);
            }
            put(&o, (char)va_arg(ap, int));
            if (sp.left) {
                pad(&o, ' ', sp.width - 1);
            }
            break;
        case '%':
            put(&o, '%');
            break;
        case '\0':
            fmt--; /* a lone '%' at the end: stop at the terminator */
            break;
        default:
            /* Unknown conversion: print it literally so the mistake is visible. */
            put(&o, '%');
            put(&o, *fmt);
            break;
        }
    }
    if (size > 0) {
        o.buf[o.len < size ? o.len : size - 1] = '\0';
    }
    return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

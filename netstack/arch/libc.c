/* The few C library functions lwIP calls that the kernel's lib does not provide. */
#include <limits.h>
#include <stdlib.h>

int atoi(const char *s)
{
    long v = 0;
    int neg = 0;

    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    /* Saturate: atoi's overflow is undefined in C; here it is simply clamped. */
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v < (long)INT_MAX + 1) {
            v = v * 10 + (*s - '0');
        }
    }
    if (neg) {
        v = -v;
        return v < INT_MIN ? INT_MIN : (int)v;
    }
    return v > INT_MAX ? INT_MAX : (int)v;
}

/* <string.h> for lwIP inside the kernel: the kernel's own string functions (kernel/lib.h). */
#ifndef PETREL_LWIP_STRING_H
#define PETREL_LWIP_STRING_H

#include "../../../kernel/lib.h"

#endif

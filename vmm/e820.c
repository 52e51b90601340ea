/* The guest's e820 memory map (e820.h). */
#include "e820.h"

int vmm_e820_build(uint64_t ram_size, struct vmm_e820_entry *out, size_t max)
{
    const struct vmm_e820_entry map[] = {
        {0, E820_LOW_END, E820_RAM},
        {E820_LOW_END, 0xA0000ull - E820_LOW_END, E820_RESERVED},
        {E820_BIOS_START, E820_HIGH_START - E820_BIOS_START, E820_RESERVED},
        {E820_HIGH_START, ram_size - E820_HIGH_START, E820_RAM},
    };

    if (ram_size < MiB(2) || max < ARRAY_SIZE(map)) {
        return -EINVAL;
    }
    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        out[i] = map[i];
    }
    return (int)ARRAY_SIZE(map);
}

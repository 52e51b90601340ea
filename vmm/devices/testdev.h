/* The test device: a 4 KiB MMIO window for test guests and the exit benchmark (not a device any
 * real hardware has; guests that do not know it never touch it). Default base 0xFEB00000, above
 * any guest RAM and below the IOAPIC. Every offset is byte addressable with accesses of 1, 2, 4
 * or 8 bytes at any alignment (bytes outside the window read 0xFF, their writes are dropped):
 *
 *   0x000  ID          read only, 32 bits: TESTDEV_ID ("PTST" in memory order)
 *   0x004  VERSION     read only, 32 bits: 1
 *   0x008  SCRATCH     read/write, 64 bits (two 32-bit halves at 0x008 and 0x00C)
 *   0x010  COUNT       read only, 64 bits: accesses handled before this one
 *   0x018  SINK        write only, 64 bits: dropped (reads 0); the benchmark's target
 *   0x020  RESET       a write of any size sets COUNT to 0 (the write itself is not counted)
 *   0x100  BUF         3840 bytes of plain memory, to 0xFFF (REP STOS/MOVS targets)
 * Other offsets below 0x100 read 0 and drop writes. Every access counts once in COUNT. */
#ifndef PETREL_VMM_DEV_TESTDEV_H
#define PETREL_VMM_DEV_TESTDEV_H

#include "../vmm_dev.h"

#define TESTDEV_BASE    0xFEB00000ULL
#define TESTDEV_SIZE    0x1000u
#define TESTDEV_ID      0x54535450u /* 'P' 'T' 'S' 'T' */
#define TESTDEV_VERSION 1u
#define TESTDEV_SCRATCH 0x008u
#define TESTDEV_COUNT   0x010u
#define TESTDEV_SINK    0x018u
#define TESTDEV_RESET   0x020u
#define TESTDEV_BUF     0x100u

struct vmm_testdev;

struct vmm_testdev_config {
    uint64_t base; /* 0: TESTDEV_BASE; must be 4 KiB aligned */
};

/* cfg may be NULL. -EINVAL for an unaligned base. */
int vmm_dev_testdev_create(struct vmm_vm *vm, const struct vmm_testdev_config *cfg,
                           struct vmm_testdev **out);

/* Accesses handled since creation or the last RESET write. */
uint64_t vmm_testdev_count(const struct vmm_testdev *t);

#endif

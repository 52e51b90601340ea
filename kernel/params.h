/* Boot parameters: the kernel command line keys Petrel knows and their parsed values. */
#ifndef PETREL_PARAMS_H
#define PETREL_PARAMS_H

#include "types.h"

enum test_fault {
    TEST_FAULT_NONE,
    TEST_FAULT_UD,    /* ud2 */
    TEST_FAULT_PF,    /* read of an unmapped address */
    TEST_FAULT_GP,    /* read of a non-canonical address */
    TEST_FAULT_DE,    /* divide by zero */
    TEST_FAULT_PANIC, /* panic() */
};

#define PARAM_STR_MAX     64
#define PARAM_VM_MAX      16  /* vm= keys kept */
#define PARAM_VM_SPEC_MAX 128 /* NAME:MODULE[:mem=MB][:flat=ADDR] */

struct params {
    enum test_fault test_fault;
    char nic[PARAM_STR_MAX]; /* nic=rtl8139|ne2k|virtio|BB:DD.F, empty = first found */
    char ip[PARAM_STR_MAX];  /* ip=dhcp|A.B.C.D/PREFIX, empty = dhcp */
    char gw[PARAM_STR_MAX];  /* gw=A.B.C.D */
    /* vm=NAME:MODULE[:mem=MB][:flat=ADDR] (one per guest, until petrel.conf): kernel/vms.c
     * parses them */
    char vm[PARAM_VM_MAX][PARAM_VM_SPEC_MAX];
    size_t nvms;
};

extern struct params g_params;

/* Applies the command line; problems are logged as warnings. Returns the number of problems. */
int params_apply(const char *cmdline);
/* The table of keys, shared by the command line and petrel.conf's [appliance] section so a key
 * means the same in both places. */
struct cmdline_key;
const struct cmdline_key *params_keys(size_t *n);

#endif

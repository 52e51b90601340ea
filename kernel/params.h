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

struct params {
    enum test_fault test_fault;
};

extern struct params g_params;

/* Applies the command line; problems are logged as warnings. Returns the number of problems. */
int params_apply(const char *cmdline);

#endif

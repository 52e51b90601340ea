/* Host CPU identification for the banner and the console's `cpu` command. */
#ifndef PETREL_CPUINFO_H
#define PETREL_CPUINFO_H

#include "types.h"

struct cpuinfo {
    char vendor[13];
    char brand[49];
    unsigned family;
    unsigned model;
    unsigned stepping;
    bool svm;          /* CPUID 8000_0001 ECX.SVM */
    bool svm_disabled; /* VM_CR.SVMDIS set by firmware */
    bool npt;
    bool nrips;
    bool decode_assists;
    bool vgif;
    unsigned svm_rev;
    unsigned asids;
};

void cpuinfo_read(struct cpuinfo *ci);

#endif

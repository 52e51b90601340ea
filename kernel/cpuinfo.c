/* Host CPU identification: vendor, brand, family/model, and what SVM offers. */
#include "cpuinfo.h"
#include "cpu.h"
#include "lib.h"

#define MSR_VM_CR    0xC0010114
#define VM_CR_SVMDIS (1u << 4)

void cpuinfo_read(struct cpuinfo *ci)
{
    uint32_t a;
    uint32_t b;
    uint32_t c;
    uint32_t d;
    uint32_t max_ext;

    memset(ci, 0, sizeof(*ci));
    cpuid(0, 0, &a, &b, &c, &d);
    memcpy(ci->vendor, &b, 4);
    memcpy(ci->vendor + 4, &d, 4);
    memcpy(ci->vendor + 8, &c, 4);
    ci->vendor[12] = '\0';

    cpuid(1, 0, &a, &b, &c, &d);
    ci->family = (a >> 8) & 0xF;
    ci->model = (a >> 4) & 0xF;
    ci->stepping = a & 0xF;
    if (ci->family == 0xF) {
        ci->family += (a >> 20) & 0xFF;
    }
    if (ci->family >= 0x6) {
        ci->model |= ((a >> 16) & 0xF) << 4;
    }

    cpuid(0x80000000, 0, &max_ext, &b, &c, &d);
    if (max_ext >= 0x80000004) {
        uint32_t *w = (uint32_t *)ci->brand;
        for (uint32_t leaf = 0x80000002; leaf <= 0x80000004; leaf++) {
            cpuid(leaf, 0, &w[0], &w[1], &w[2], &w[3]);
            w += 4;
        }
        ci->brand[48] = '\0';
    }
    if (max_ext >= 0x80000001) {
        cpuid(0x80000001, 0, &a, &b, &c, &d);
        ci->svm = (c & (1u << 2)) != 0;
    }
    if (ci->svm && max_ext >= 0x8000000A) {
        ci->svm_disabled = (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) != 0;
        cpuid(0x8000000A, 0, &a, &b, &c, &d);
        ci->svm_rev = a & 0xFF;
        ci->asids = b;
        ci->npt = (d & (1u << 0)) != 0;
        ci->nrips = (d & (1u << 3)) != 0;
        ci->decode_assists = (d & (1u << 7)) != 0;
        ci->vgif = (d & (1u << 16)) != 0;
    }
}

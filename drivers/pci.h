/* PCI enumeration through configuration mechanism #1 (ports 0xCF8/0xCFC). */
#ifndef PETREL_PCI_H
#define PETREL_PCI_H

#include "../kernel/types.h"

#define PCI_MAX_DEVICES 64
#define PCI_NUM_BARS    6

enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
    enum pci_bar_kind kind;
    uint64_t addr;
    uint64_t size;
    bool prefetchable;
};

struct pci_device {
    uint8_t bus;
    uint8_t dev;
    uint8_t fn;
    uint16_t vendor;
    uint16_t device;
    uint8_t class_code;
    uint8_t subclass;
    uint8_t prog_if;
    uint8_t revision;
    uint8_t header_type;
    uint8_t irq_line; /* as the BIOS programmed it; 0xFF = none */
    uint8_t irq_pin;  /* 1 = INTA ... 4 = INTD, 0 = none */
    struct pci_bar bars[PCI_NUM_BARS];
};

uint32_t drv_pci_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
uint16_t drv_pci_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
uint8_t drv_pci_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
void drv_pci_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v);
void drv_pci_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint16_t v);

/* Scans every bus, device and function; returns the number found (also kept for lookups). */
size_t drv_pci_enumerate(void);
size_t drv_pci_count(void);
const struct pci_device *drv_pci_get(size_t i);
const struct pci_device *drv_pci_find(uint16_t vendor, uint16_t device, size_t nth);
/* Sets the bus-master and IO/memory decode bits in the command register. */
void drv_pci_enable(const struct pci_device *d);
const char *drv_pci_class_name(uint8_t class_code, uint8_t subclass);
/* One line describing the device, as the boot log and `pci` print it. */
int drv_pci_describe(const struct pci_device *d, char *buf, size_t len);

#endif

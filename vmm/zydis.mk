# vmm/zydis.mk — Zydis (the x86 decoder behind the MMIO emulator) and the emulator's own build
# needs. Included by the top-level Makefile after KERNEL_OBJ, HOSTED_SRC/HOSTED_OBJ and
# FUZZ_TARGETS are defined and before the rules that use them.
#
# Zydis 4.0.0 comes from build/third_party/zydis (Debian source package, docs/deps.md) with
# Zycore 1.4.1's headers from build/third_party/zycore. It is configured small: decoder only (no
# encoder, formatter, segment API, AVX-512 or KNC tables), and only the five sources that the
# decoder and the mnemonic names need are compiled. Freestanding it needs nothing but memset.
#
# Defines:
#   ZYDIS_CPPFLAGS     defines and include paths for code that includes Zydis headers
#   ZYDIS_OBJ          kernel objects (appended to KERNEL_OBJ here)
#   ZYDIS_HOSTED_OBJ   hosted objects (archived into libpetrel.a here; linked into fuzz targets)

ZYDIS_DIR      := $(THIRD_PARTY)/zydis
ZYCORE_DIR     := $(THIRD_PARTY)/zycore
ZYDIS_DEFS     := -DZYAN_NO_LIBC -DZYDIS_STATIC_BUILD -DZYCORE_STATIC_BUILD \
                  -DZYDIS_DISABLE_AVX512 -DZYDIS_DISABLE_KNC -DZYDIS_DISABLE_ENCODER \
                  -DZYDIS_DISABLE_FORMATTER -DZYDIS_DISABLE_SEGMENT
# -isystem: Zydis's headers are not held to Petrel's warning flags; our own files still are.
ZYDIS_CPPFLAGS := $(ZYDIS_DEFS) -isystem $(ZYDIS_DIR)/include -isystem $(ZYCORE_DIR)/include
ZYDIS_NAMES    := Decoder DecoderData SharedData Register Mnemonic
ZYDIS_OBJ      := $(patsubst %,$(BUILD)/obj/zydis/%.o,$(ZYDIS_NAMES))
ZYDIS_HOSTED_OBJ := $(patsubst %,$(BUILD)/hosted/zydis/%.o,$(ZYDIS_NAMES))

# Kernel: the kernel's code-generation flags; no debug info (it would double the image file for
# tables nobody steps through); Zydis has functions without prototypes; warnings never fail it.
ZYDIS_KCFLAGS   = $(KCFLAGS) -g0 -Wno-missing-prototypes -Wno-error $(ZYDIS_CPPFLAGS) \
                  -I$(ZYDIS_DIR)/src
# Hosted: optimised, no sanitizers (it is third-party code; our callers are sanitized), so the
# same objects link into gcc unit tests and clang fuzz targets.
ZYDIS_HCFLAGS   = -std=gnu11 -O2 -w $(ZYDIS_CPPFLAGS) -I$(ZYDIS_DIR)/src

$(BUILD)/obj/zydis/%.o: $(ZYDIS_DIR)/src/%.c $(GEN)/build_config.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(ZYDIS_KCFLAGS) -c $< -o $@
	@$(if $(Q),echo "  CC      $<")

$(BUILD)/hosted/zydis/%.o: $(ZYDIS_DIR)/src/%.c
	@mkdir -p $(@D)
	$(HOSTCC) $(ZYDIS_HCFLAGS) -c $< -o $@

# The emulator and the walker, in the kernel (unless a vmm/ wildcard already put them there) and
# in the hosted library. Only emulate.c includes Zydis headers.
EMU_SRC        := vmm/emulate.c vmm/walk.c
EMU_KOBJ       := $(patsubst %.c,$(BUILD)/obj/%.o,$(EMU_SRC))
KERNEL_OBJ     += $(ZYDIS_OBJ) $(filter-out $(KERNEL_OBJ),$(EMU_KOBJ))
HOSTED_SRC     += $(filter-out $(HOSTED_SRC),$(EMU_SRC))
HOSTED_OBJ     := $(patsubst %.c,$(BUILD)/hosted/%.o,$(HOSTED_SRC))

# -g1: line tables and functions only; full -g would carry every Zydis enumerator name (~100 KiB).
$(BUILD)/obj/vmm/emulate.o: KCFLAGS += $(ZYDIS_CPPFLAGS) -g1
$(BUILD)/hosted/vmm/emulate.o: HCFLAGS += $(ZYDIS_CPPFLAGS)
$(BUILD)/hosted/libpetrel.a: $(ZYDIS_HOSTED_OBJ)

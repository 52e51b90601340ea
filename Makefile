# Petrel build. `make` builds build/petrel.iso; `make run` and `make test` install what is
# missing first (tools/deps.sh). See README.md and docs/build.md.

BUILD       ?= build
THIRD_PARTY ?= build/third_party
CMDLINE     ?=
CC          := gcc
LD          := ld
NASM        := nasm
PYTHON      := /usr/bin/python3
HOSTCC      := gcc
FUZZCC      := clang
FUZZ_SECONDS ?= 20
# V=1 prints full compiler command lines.
Q           := $(if $(filter 1,$(V)),,@)

# ---- configuration switches -------------------------------------------------------------
# DEBUG_<COMP>=1 starts that log component at debug level; DEBUG_ALL=1 does so for all.
LOG_COMPONENTS := boot mm irq timer pci net drv vmm svm npt exit io pic pit rtc uart kbd apic \
                  emu vnet console test
upper = $(shell echo $(1) | tr a-z A-Z)
comma := ,
space := $() $()
LOG_BUILD_SPEC := $(subst $(space),$(comma),$(strip $(if $(filter 1,$(DEBUG_ALL)),all:debug,) \
                  $(foreach c,$(LOG_COMPONENTS),$(if $(filter 1,$(DEBUG_$(call upper,$(c)))),$(c):debug,))))
PETREL_GIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# ---- kernel -----------------------------------------------------------------------------
KERNEL_DIRS := kernel kernel/lib drivers vmm vmm/devices vnet
KERNEL_C    := $(foreach d,$(KERNEL_DIRS),$(wildcard $(d)/*.c))
KERNEL_ASM  := $(wildcard boot/*.asm kernel/*.asm vmm/*.asm)
KERNEL_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(KERNEL_C)) \
               $(patsubst %.asm,$(BUILD)/obj/%.o,$(KERNEL_ASM))
include netstack/netstack.mk
KERNEL_OBJ  += $(NETSTACK_OBJ)
include console/console.mk
KERNEL      := $(BUILD)/petrel.elf
ISO         := $(BUILD)/petrel.iso
GEN         := $(BUILD)/gen

WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wpointer-arith -Wundef -Wno-unused-parameter
KCFLAGS     := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector -fno-pic -fno-pie \
               -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387 -mcmodel=small \
               -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-common \
               -I$(GEN) -MMD -MP
KLDFLAGS    := -nostdlib -n -T boot/linker.ld -z max-page-size=0x1000 -z noexecstack \
               --no-warn-rwx-segments

# ---- hosted (unit tests, fuzzing): the pure modules, compiled for Linux -----------------------
HOSTED_SRC  := kernel/pmm.c kernel/heap.c kernel/cmdline.c kernel/log.c kernel/bootinfo.c \
               kernel/config.c \
               kernel/lib/format.c kernel/lib/strutil.c kernel/lib/inet_csum.c \
               kernel/lib/netcsum.c kernel/lib/tcpseg.c kernel/lib/tcpgro.c kernel/lib/netoff.c \
               netstack/netaddr.c netstack/iperf_proto.c drivers/nic_ring.c
# The VMM is OS-independent: all of it but the SVM instructions (vmm/svm_hw.c) runs hosted.
HOSTED_SRC  += $(filter-out vmm/svm_hw.c,$(wildcard vmm/*.c)) $(wildcard vmm/devices/*.c)
HOSTED_SRC  += $(CONSOLE_HOSTED_SRC)
# The VNET switch is OS-independent too: all of it runs hosted.
HOSTED_SRC  += $(wildcard vnet/*.c)
SAN         := -fsanitize=address,undefined -fno-sanitize-recover=all
HCFLAGS     := -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes $(SAN) -fno-omit-frame-pointer \
               -MMD -MP
UNIT_TESTS  := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
HOSTED_OBJ  := $(patsubst %.c,$(BUILD)/hosted/%.o,$(HOSTED_SRC))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
include vmm/zydis.mk
include tests/guests/guests.mk


.PHONY: linux-guest
.PHONY: all kernel iso deps run test test-unit test-system bench fuzz clean distclean \
        format format-check FORCE

all: $(ISO)
kernel: $(KERNEL)
iso: $(ISO)

# Generated header, rewritten only when its content changes (so objects rebuild only then).
$(GEN)/build_config.h: FORCE
	@mkdir -p $(@D)
	@printf '#define PETREL_GIT "%s"\n#define LOG_BUILD_SPEC "%s"\n' '$(PETREL_GIT)' \
	    '$(LOG_BUILD_SPEC)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/obj/%.o: %.c $(GEN)/build_config.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@
	@$(if $(Q),echo "  CC      $<")

$(BUILD)/obj/%.o: %.asm
	@mkdir -p $(@D)
	$(Q)$(NASM) -f elf64 -g -F dwarf -w+all -o $@ $<
	@$(if $(Q),echo "  NASM    $<")

$(KERNEL): $(KERNEL_OBJ) boot/linker.ld
	$(Q)$(LD) $(KLDFLAGS) -o $@ $(KERNEL_OBJ)
	@size=$$(stat -c %s $@); echo "kernel: $@ $$size bytes"

$(ISO): $(KERNEL) tools/mkiso boot/grub.cfg.in
	tools/mkiso --kernel $(KERNEL) --cmdline '$(CMDLINE)' -o $@

deps:
	@tools/deps.sh --build-dir $(BUILD)

# The default guest of `make run`: Debian's Linux kernel and a busybox initramfs, built from
# Debian packages by tools/mkguest-linux (cached), on an ISO with its petrel.conf.
LINUX_GUEST := $(BUILD)/guests/linux
RUN_ISO     := $(BUILD)/petrel-linux.iso

linux-guest:
	tools/mkguest-linux --out $(LINUX_GUEST)

$(RUN_ISO): $(KERNEL) tools/mkiso boot/grub.cfg.in linux-guest
	tools/mkiso --kernel $(KERNEL) --cmdline '$(CMDLINE)' -c $(LINUX_GUEST)/linux.conf \
	    -m $(LINUX_GUEST)/vmlinuz -m $(LINUX_GUEST)/initrd.img -o $@

run: deps
	@$(MAKE) --no-print-directory all $(RUN_ISO)
	tools/run --iso $(RUN_ISO) $(if $(NET),--net $(NET)) $(if $(NIC),--nic $(NIC)) \
	    $(if $(SMP),--smp $(SMP)) $(if $(CAPTURE),--capture $(CAPTURE))

# ---- tests ------------------------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-system

$(BUILD)/hosted/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(HOSTCC) $(HCFLAGS) -c $< -o $@

$(BUILD)/hosted/libpetrel.a: $(HOSTED_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/hosted/libpetrel.a
	@mkdir -p $(@D)
	$(Q)$(HOSTCC) $(HCFLAGS) -Ikernel $< $(BUILD)/hosted/libpetrel.a -lcmocka -o $@

test-unit: $(addprefix $(BUILD)/unit/,$(UNIT_TESTS))
	@fail=0; for t in $^; do echo "== $$t"; \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t || fail=1; done; \
	    exit $$fail

test-system: $(ISO)
	$(PYTHON) -m pytest -v -p no:cacheprovider tests/system

bench: deps
	@$(MAKE) --no-print-directory all
	@for b in bench/*.sh; do echo "== $$b"; $$b || exit 1; done

# ---- fuzzing (libFuzzer, clang) -------------------------------------------------------------
# Some targets include the unit tests' fakes (tests/unit/fake_vmm.c and headers).
$(BUILD)/fuzz/%: tests/fuzz/%.c $(HOSTED_SRC) $(ZYDIS_HOSTED_OBJ) tests/unit/fake_vmm.c $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(FUZZCC) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Ikernel $< $(HOSTED_SRC) \
	    $(ZYDIS_CPPFLAGS) $(ZYDIS_HOSTED_OBJ) -o $@

fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	@for f in $^; do echo "== $$f ($(FUZZ_SECONDS) s)"; mkdir -p $(BUILD)/fuzz/corpus-$${f##*/}; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz/corpus-$${f##*/} \
	    || exit 1; done

# ---- style ------------------------------------------------------------------------------
FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run -Werror $(FORMAT_SRC)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/hosted $(BUILD)/unit $(BUILD)/fuzz $(BUILD)/gen $(BUILD)/iso \
	    $(KERNEL) $(ISO)

distclean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/hosted -name '*.d' 2>/dev/null)

# tests/guests/guests.mk — the small test guests (flat multiboot images made by NASM), included
# by the top-level Makefile. `make guests` builds them into $(BUILD)/guests/NAME.bin; the
# system tests put them on an ISO as GRUB modules (tools/mkiso -m, or -c with a petrel.conf
# naming them) and start them with vm=NAME:NAME.bin keys or [vm NAME] sections.

# NAME.asm is a flat image (nasm -f bin, with guest.inc and lib.inc); NAME_elf.asm an ELF
# multiboot kernel linked at 1 MiB.
GUEST_SRC := $(wildcard tests/guests/*.asm)
GUESTS    := $(patsubst tests/guests/%.asm,$(BUILD)/guests/%.bin,$(GUEST_SRC))

.PHONY: guests
guests: $(GUESTS)

$(BUILD)/guests/%_elf.bin: tests/guests/%_elf.asm
	@mkdir -p $(@D)
	$(Q)$(NASM) -f elf32 -w+all -o $(@:.bin=.o) $<
	$(Q)$(LD) -m elf_i386 -N -Ttext 0x100000 -e _start -z noexecstack --no-warn-rwx-segments -o $@ $(@:.bin=.o)
	@$(if $(Q),echo "  GUEST   $<")

$(BUILD)/guests/%.bin: tests/guests/%.asm tests/guests/guest.inc tests/guests/lib.inc
	@mkdir -p $(@D)
	$(Q)$(NASM) -f bin -w+all -i tests/guests/ -o $@ $<
	@$(if $(Q),echo "  GUEST   $<")

# The system tests need the guests next to the ISO.
test-system: $(GUESTS)

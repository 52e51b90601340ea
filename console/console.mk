# console/console.mk — the console's build rules, included by the top-level Makefile right
# after netstack/netstack.mk. Defines:
#   CONSOLE_OBJ         every console/*.c, linked into the kernel (added to KERNEL_OBJ here)
#   CONSOLE_HOSTED_SRC  the pure modules, also built hosted for unit tests and fuzzing
# The transport files (telnetd, logstream, syslog, the network commands) include lwIP's
# headers, so all console objects build with the netstack's include flags (NETSTACK_CFLAGS:
# freestanding headers, the lwIP port's shims, lwipopts.h). KCFLAGS and NETSTACK_CFLAGS appear
# only in the recipe, so they may be defined after this file is read.

CONSOLE_HOSTED_SRC := console/sha256.c console/telnet.c console/outq.c console/lineedit.c \
                      console/shell.c console/table.c console/auth.c console/acl.c \
                      console/config.c console/logfmt.c console/session.c
CONSOLE_C   := $(wildcard console/*.c)
CONSOLE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CONSOLE_C))
KERNEL_OBJ  += $(CONSOLE_OBJ)

$(CONSOLE_OBJ): $(BUILD)/obj/%.o: %.c $(BUILD)/gen/build_config.h | $(LWIP_PROOF)
	@mkdir -p $(@D)
	$(Q)$(CC) $(KCFLAGS) $(NETSTACK_CFLAGS) -c $< -o $@
	@$(if $(Q),echo "  CC      $<")

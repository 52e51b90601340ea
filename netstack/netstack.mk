# netstack/netstack.mk — the lwIP port's build rules, included by the top-level Makefile.
# Defines NETSTACK_OBJ (objects linked into the kernel): Petrel's own netstack/ files and the
# lwIP 2.1.3 sources from Debian's source package (build/third_party/lwip, fetched by
# `make deps`; docs/deps.md). Debian's lwip/port/ (a Unix port) is never on the include path.
#
# This file is read before the Makefile defines KCFLAGS and GEN, so those appear only in
# recipes (expanded late); prerequisites spell out $(BUILD)/gen.

LWIP_DIR      := $(THIRD_PARTY)/lwip
LWIP_PROOF    := $(LWIP_DIR)/src/include/lwip/init.h

# The lwIP files Petrel needs: core, IPv4 (ARP, DHCP, ICMP, fragments), Ethernet. (No lwIP apps:
# the iperf server is Petrel's own netstack/iperf.c.)
LWIP_SRC      := core/init.c core/def.c core/mem.c core/memp.c core/pbuf.c core/netif.c \
                 core/raw.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c core/tcp_out.c \
                 core/udp.c core/timeouts.c core/inet_chksum.c core/ip.c \
                 core/ipv4/etharp.c core/ipv4/dhcp.c core/ipv4/icmp.c core/ipv4/ip4.c \
                 core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c \
                 netif/ethernet.c
LWIP_OBJ      := $(patsubst %.c,$(BUILD)/obj/lwip/%.o,$(LWIP_SRC))

NETSTACK_C    := $(wildcard netstack/*.c netstack/arch/*.c)
NETSTACK_OWN_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(NETSTACK_C))
NETSTACK_OBJ  := $(NETSTACK_OWN_OBJ) $(LWIP_OBJ)

# No C library on the include path: GCC's freestanding headers (stddef, stdint, stdarg,
# stdbool), then the small shims in netstack/arch/include (string.h -> kernel/lib.h, stdlib.h,
# limits.h), lwipopts.h and arch/cc.h from netstack/, and lwIP's headers.
NETSTACK_GCC_INC := $(shell $(CC) -print-file-name=include)
# `make DEBUG_NET=1` (or DEBUG_ALL=1) also compiles lwIP's own debug messages (lwipopts.h).
NETSTACK_LWIP_DEBUG := $(if $(filter 1,$(DEBUG_NET) $(DEBUG_ALL)),1,0)
NETSTACK_CFLAGS := -nostdinc -isystem $(NETSTACK_GCC_INC) -Inetstack/arch/include -Inetstack \
                   -I$(LWIP_DIR)/src/include -DPETREL_LWIP_DEBUG=$(NETSTACK_LWIP_DEBUG)
# lwIP's own sources get the kernel's full warning set with -Werror: lwIP 2.1.3 compiles
# cleanly under it with this port. One exception: TCP_WND is a variable (the receive window is
# chosen per NIC, lwipopts.h), and core/init.c's `#if TCP_WND > 0xffff` reads it in the
# preprocessor, where it is 0 (harmless: net.c checks the bound with _Static_assert); so
# init.c alone goes without -Wundef.
LWIP_CFLAGS   :=
$(BUILD)/obj/lwip/core/init.o: LWIP_CFLAGS += -Wno-undef

$(LWIP_PROOF):
	@echo "netstack: lwIP sources not found at $(LWIP_DIR): run make deps" >&2
	@exit 1

$(LWIP_DIR)/src/%.c:
	@echo "netstack: $@ missing (incomplete lwIP tree): run make deps" >&2
	@exit 1

$(NETSTACK_OWN_OBJ): $(BUILD)/obj/%.o: %.c $(BUILD)/gen/build_config.h | $(LWIP_PROOF)
	@mkdir -p $(@D)
	$(Q)$(CC) $(KCFLAGS) $(NETSTACK_CFLAGS) -c $< -o $@
	@$(if $(Q),echo "  CC      $<")

$(LWIP_OBJ): $(BUILD)/obj/lwip/%.o: $(LWIP_DIR)/src/%.c $(BUILD)/gen/build_config.h | $(LWIP_PROOF)
	@mkdir -p $(@D)
	$(Q)$(CC) $(KCFLAGS) $(NETSTACK_CFLAGS) $(LWIP_CFLAGS) -c $< -o $@
	@$(if $(Q),echo "  CC      lwip/$*.c")

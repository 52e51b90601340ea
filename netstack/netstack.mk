# netstack/netstack.mk — the lwIP port's build rules, included by the top-level Makefile.
# Defines NETSTACK_OBJ (objects linked into the kernel).
NETSTACK_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard netstack/*.c))

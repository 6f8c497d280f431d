# relay-server: rd-relay. Everything except main.c goes into an archive so the
# unit tests and the fuzzer link single modules.
RELAY_SRC := $(filter-out relay-server/main.c,$(wildcard relay-server/*.c))
RELAY_OBJ := $(RELAY_SRC:%.c=$(B)/%.o)
LIBRELAY := $(B)/librdrelay.a

$(LIBRELAY): $(RELAY_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/rd-relay: $(B)/relay-server/main.o $(LIBRELAY) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(COMMON_LIBS)

PROGRAMS += $(B)/rd-relay
INSTALL_UNITS += systemd/rd-relay.service

# Test tools: the relay's peer (pairs, streams, half-close, garbage, load) and
# the benchmark's traffic generator.
$(B)/test/tools/relay-peer: $(B)/test/tools/relay-peer.o $(B)/test/tools/relay-peer-pairs.o $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(COMMON_LIBS)
$(B)/test/tools/relay-bench: $(B)/test/tools/relay-bench.o $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(COMMON_LIBS)
TEST_PROGRAMS += $(B)/test/tools/relay-peer $(B)/test/tools/relay-bench

test_relay_pairing_OBJS := $(LIBRELAY)
test_relay_limits_OBJS := $(LIBRELAY)
fuzz_relay_pairing_OBJS := $(LIBRELAY)
test_relay_pump_OBJS := $(LIBRELAY)

# rendezvous-server: rd-rendezvous. Every .c except main.c goes into an archive
# so unit tests, fuzzers and test tools link single modules.
RV_SRC := $(filter-out rendezvous-server/main.c,$(wildcard rendezvous-server/*.c))
RV_OBJ := $(RV_SRC:%.c=$(B)/%.o)
LIBRV := $(B)/librdrv.a
RV_LIBS := $(call pc_libs,sqlite3)
EXTRA_CFLAGS_rendezvous-server := -Irendezvous-server $(call pc_cflags,sqlite3)

$(LIBRV): $(RV_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/rd-rendezvous: $(B)/rendezvous-server/main.o $(LIBRV) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(RV_LIBS) $(COMMON_LIBS)

PROGRAMS += $(B)/rd-rendezvous
INSTALL_UNITS += systemd/rd-rendezvous.service

# Test peer and load generator: speak the wire protocol through common/ and proto/.
RV_PEER_OBJ := $(patsubst %.c,$(B)/%.o,test/tools/rv-peer.c test/tools/rv-peer-wire.c test/tools/rv-peer-hostile.c \
	test/tools/rv-peer-ids.c)
$(B)/test/tools/rv-peer: $(RV_PEER_OBJ) $(LIBRV) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(RV_LIBS) $(COMMON_LIBS)
$(B)/test/bench/rv-load: $(B)/test/bench/rv-load.o $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(COMMON_LIBS)
TEST_PROGRAMS += $(B)/test/tools/rv-peer $(B)/test/bench/rv-load

# Unit tests and fuzzers of the I/O-free core.
test_rv_server_OBJS := $(LIBRV)
test_rv_server_LIBS := $(RV_LIBS)
test_rv_server_tcp_OBJS := $(LIBRV)
test_rv_server_tcp_LIBS := $(RV_LIBS)
test_rv_ids_OBJS := $(LIBRV)
test_rv_ids_LIBS := $(RV_LIBS)
test_rv_registry_OBJS := $(LIBRV)
test_rv_registry_LIBS := $(RV_LIBS)
fuzz_rv_udp_OBJS := $(LIBRV)
fuzz_rv_udp_LIBS := $(RV_LIBS)
fuzz_rv_tcp_OBJS := $(LIBRV)
fuzz_rv_tcp_LIBS := $(RV_LIBS)

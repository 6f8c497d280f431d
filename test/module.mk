# test: cmocka unit tests (test/unit/test_*.c -> $(B)/test/unit/test_*) and
# libFuzzer targets (test/fuzz/fuzz_*.c -> build/fuzz/fuzz_*).
#
# A unit test links librdcommon.a; a program folder may add objects and
# libraries for one test with   test_NAME_OBJS := ...   test_NAME_LIBS := ...
# in its own module.mk (same for fuzz_NAME_OBJS / fuzz_NAME_LIBS).

# Tests include program headers by path from the top ("agent/session.h").
EXTRA_CFLAGS_test = -I. $(EXTRA_CFLAGS_agent) $(EXTRA_CFLAGS_ctl)

# The descriptor-set conformance test reads descriptor.proto through protobuf-c.
# (Defined before the unit rules: their prerequisites expand when evaluated.)
DESCRIPTOR_PROTO := /usr/include/google/protobuf/descriptor.proto
$(B)/gen/google/protobuf/descriptor.pb-c.c $(B)/gen/google/protobuf/descriptor.pb-c.h &: $(DESCRIPTOR_PROTO)
	$(call msg,PROTOC,$<)
	@mkdir -p $(@D)
	$(Q)protoc-c -I/usr/include --c_out=$(B)/gen google/protobuf/descriptor.proto
$(B)/proto/descriptor.binpb: $(PROTO_SRC)
	$(call msg,PROTOC,$@)
	@mkdir -p $(@D)
	$(Q)protoc -Iproto --include_imports --descriptor_set_out=$@ $(notdir $(PROTO_SRC))
$(B)/test/unit/test_proto_conformance.o: $(B)/gen/google/protobuf/descriptor.pb-c.h
test_proto_conformance_OBJS := $(B)/gen/google/protobuf/descriptor.pb-c.o

UNIT_SRC := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(patsubst test/unit/%.c,$(B)/test/unit/%,$(UNIT_SRC))

define unit_rule
$(B)/test/unit/$(1): $(B)/test/unit/$(1).o $$($(1)_OBJS) $(LIBCOMMON)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(RD_LDFLAGS) -o $$@ $$^ $$($(1)_LIBS) $$(COMMON_LIBS) -lcmocka
endef
$(foreach t,$(patsubst test/unit/%.c,%,$(UNIT_SRC)),$(eval $(call unit_rule,$(t))))

# Portal lab: a ScreenCast backend for xdg-desktop-portal that grants a given node.
$(B)/test/tools/portal-screencast: $(B)/test/tools/portal-screencast.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(call pc_libs,libsystemd)
TEST_PROGRAMS += $(B)/test/tools/portal-screencast
# PipeWire dma-buf lab: a video source whose buffers are PRIME-exported dumb buffers.
# It and pipewire-pattern (linked in agent/module.mk) share their stream code.
$(B)/test/tools/pw-dmabuf-src: $(B)/test/tools/pw-dmabuf-src.o $(B)/test/tools/pw-src-common.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(call pc_libs,libpipewire-0.3 libdrm)
TEST_PROGRAMS += $(B)/test/tools/pw-dmabuf-src
$(B)/test/tools/pipewire-pattern: $(B)/test/tools/pw-src-common.o
# Test tools that link only librdcommon: a raw controller on an agent's
# session socket (handshake, then a script), and many slow connections from
# one source (the servers' per-source limits). NAME_OBJS: more objects of a tool.
session-peer_OBJS := $(B)/test/tools/session-peer-wire.o
define common_tool
$(B)/test/tools/$(1): $(B)/test/tools/$(1).o $$($(1)_OBJS) $(LIBCOMMON)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(RD_LDFLAGS) -o $$@ $$^ $$(COMMON_LIBS)
TEST_PROGRAMS += $(B)/test/tools/$(1)
endef
$(foreach t,session-peer conn-hold,$(eval $(call common_tool,$(t))))

test-programs: $(UNIT_BINS) $(B)/proto/descriptor.binpb $(TEST_PROGRAMS)

FUZZ_SRC := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst test/fuzz/%.c,$(B)/%,$(FUZZ_SRC))
define fuzz_rule
$(B)/$(1): $(B)/test/fuzz/$(1).o $$($(1)_OBJS) $(LIBCOMMON)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(RD_LDFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$($(1)_LIBS) $$(COMMON_LIBS)
endef
$(foreach t,$(patsubst test/fuzz/%.c,%,$(FUZZ_SRC)),$(eval $(call fuzz_rule,$(t))))
fuzzers: $(FUZZ_BINS)

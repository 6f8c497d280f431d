# agent: rd-agent. Every .c under agent/ (capture/, encode/, input/ included)
# except main.c goes into an archive, so unit tests can link single modules.
# Of helper/ (rd-agent-helper) only the message format, shared with the
# client (privsep.c), is in the agent's archive.
HELPER_SRC := $(filter-out agent/helper/privsep_proto.c,$(wildcard agent/helper/*.c))
AGENT_SRC := $(filter-out agent/main.c $(HELPER_SRC),$(wildcard agent/*.c agent/*/*.c))
AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/%.o)
LIBAGENT := $(B)/librdagent.a
AGENT_PKGS := vpx x264 libavutil xcb xcb-shm xcb-damage xcb-xfixes xcb-xtest x11 libpipewire-0.3 libdrm libseccomp opus
EXTRA_CFLAGS_agent := -Iagent $(call pc_cflags,$(AGENT_PKGS))
AGENT_LIBS := $(call pc_libs,$(AGENT_PKGS)) -lyuv -lxdo -lpthread

$(LIBAGENT): $(AGENT_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/rd-agent: $(B)/agent/main.o $(LIBAGENT) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(AGENT_LIBS) $(COMMON_LIBS)

PROGRAMS += $(B)/rd-agent
INSTALL_UNITS += systemd/rd-agent.service

# rd-agent-helper, the privileged half: its own files, the message format, and
# the few agent modules that open devices (no network, no encoders, no X).
HELPER_OBJ := $(HELPER_SRC:%.c=$(B)/%.o)
HELPER_SHARED_OBJ := $(addprefix $(B)/agent/,helper/privsep_proto.o capture/drm_node.o \
	input/uinput_dev.o)
HELPER_LIBS := $(call pc_libs,libdrm libsystemd) -lsodium -lev -linih
$(B)/rd-agent-helper: $(HELPER_OBJ) $(HELPER_SHARED_OBJ) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(HELPER_LIBS)
PROGRAMS += $(B)/rd-agent-helper

# Unit tests of the session core link only the I/O-free modules.
test_agent_session_OBJS := $(B)/agent/session.o $(B)/agent/session_msg.o $(B)/agent/login.o \
	$(B)/agent/video_qos.o
# The registration state machine alone (time and answers are given to it).
test_agent_registration_OBJS := $(B)/agent/registration.o
# The login guard alone (time is given to it).
test_agent_login_OBJS := $(B)/agent/login.o
# The rate decisions (options, acknowledgements, adaptation) alone.
test_video_qos_OBJS := $(B)/agent/video_qos.o
test_agent_session_qos_OBJS := $(test_agent_session_OBJS)
test_agent_session_prelogin_OBJS := $(test_agent_session_OBJS)
# Sound: the Opus frame gatherer, its messages and the session's audio option.
test_agent_audio_OBJS := $(test_agent_session_OBJS) $(B)/agent/audio/audio_enc.o \
	$(B)/agent/audio/audio_msg.o
test_agent_audio_LIBS := $(call pc_libs,opus) -lm
# Sound benchmark: the capture and encoder alone, as the agent runs them.
$(B)/test/tools/audio-bench: $(B)/test/tools/audio-bench.o $(LIBAGENT) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(AGENT_LIBS) $(COMMON_LIBS)
TEST_PROGRAMS += $(B)/test/tools/audio-bench

# Video: capture, encoders and the pipeline. The encoder test decodes with libavcodec.
test_capture_testsrc_OBJS := $(LIBAGENT)
test_capture_testsrc_LIBS := $(AGENT_LIBS)
test_encoder_OBJS := $(LIBAGENT)
test_encoder_LIBS := $(AGENT_LIBS) $(call pc_libs,libavcodec libavutil)
test_video_OBJS := $(LIBAGENT)
test_video_LIBS := $(AGENT_LIBS) $(call pc_libs,libavcodec libavutil)
$(B)/test/tools/capture-dump: $(B)/test/tools/capture-dump.o $(LIBAGENT) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(AGENT_LIBS) $(COMMON_LIBS)
TEST_PROGRAMS += $(B)/test/tools/capture-dump
# The privsep client alone, driving rd-agent-helper (or direct mode).
$(B)/test/tools/privsep-probe: $(B)/test/tools/privsep-probe.o $(LIBAGENT) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(AGENT_LIBS) $(COMMON_LIBS)
TEST_PROGRAMS += $(B)/test/tools/privsep-probe
# DRM/KMS lab: a program that shows known pictures and changes modes in the VM;
# the unit test of the tile compare and format conversion.
$(B)/test/tools/drm-pattern: $(B)/test/tools/drm-pattern.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(call pc_libs,libdrm)
TEST_PROGRAMS += $(B)/test/tools/drm-pattern
test_capture_drm_OBJS := $(LIBAGENT)
test_capture_drm_LIBS := $(AGENT_LIBS)
# PipeWire lab: a video source that changes size on request.
$(B)/test/tools/pipewire-pattern: $(B)/test/tools/pipewire-pattern.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(call pc_libs,libpipewire-0.3)
TEST_PROGRAMS += $(B)/test/tools/pipewire-pattern
fuzz_agent_session_OBJS := $(B)/agent/session.o $(B)/agent/session_msg.o $(B)/agent/login.o \
	$(B)/agent/video_qos.o
# A getaddrinfo() that is slow for *.slow.rdesk.test (LD_PRELOAD): the relay
# test shows with it that the agent resolves relay names off its loop. Built
# without sanitizers, as it is preloaded into sanitized programs too.
$(B)/test/tools/slow-resolve.so: test/tools/slow-resolve.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu17 $(WARNINGS) $(CFLAGS) -fPIC -shared -o $@ $< -ldl
TEST_PROGRAMS += $(B)/test/tools/slow-resolve.so
# A thread preloaded into the agent that makes forbidden calls on request
# (test_agent_sandbox.sh); without sanitizers, for the same reason.
$(B)/test/tools/sandbox-trigger.so: test/tools/sandbox-trigger.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu17 $(WARNINGS) $(CFLAGS) -fPIC -shared -o $@ $< -lpthread
TEST_PROGRAMS += $(B)/test/tools/sandbox-trigger.so
# Input: the display-free parts of the input layer.
test_input_util_OBJS := $(LIBAGENT)
test_input_util_LIBS := $(AGENT_LIBS)
# rd-agent-helper: the message format, the Xauthority parser, the request
# table on test folders, and the client against a scripted fake helper.
test_privsep_proto_OBJS := $(B)/agent/helper/privsep_proto.o
test_xauth_OBJS := $(B)/agent/helper/xauth.o
fuzz_helper_req_OBJS := $(B)/agent/helper/privsep_proto.o
fuzz_xauth_OBJS := $(B)/agent/helper/xauth.o
test_helper_req_OBJS := $(addprefix $(B)/agent/helper/,helper_req.o xauth.o) $(HELPER_SHARED_OBJ)
test_helper_req_LIBS := $(call pc_libs,libdrm)
test_privsep_client_OBJS := $(LIBAGENT)
test_privsep_client_LIBS := $(AGENT_LIBS)

# ctl: rdctl. Every .c except main.c goes into an archive so unit tests and
# fuzz targets can link single modules.
CTL_SRC := $(filter-out ctl/main.c,$(wildcard ctl/*.c))
CTL_OBJ := $(CTL_SRC:%.c=$(B)/%.o)
LIBCTL := $(B)/librdctl.a
CTL_PKGS := libavcodec libavformat libavutil libswscale opus
EXTRA_CFLAGS_ctl := -Ictl $(call pc_cflags,$(CTL_PKGS))
CTL_LIBS := $(call pc_libs,$(CTL_PKGS)) -lpthread

$(LIBCTL): $(CTL_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/rdctl: $(B)/ctl/main.o $(LIBCTL) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(CTL_LIBS) $(COMMON_LIBS)

PROGRAMS += $(B)/rdctl

# The mpv input script is built into rdctl as a C string (works from a clone
# and after make install without a data folder).
$(B)/gen/rdesk_input_lua.h: ctl/rdesk-input.lua
	$(call msg,GEN,$@)
	@mkdir -p $(@D)
	$(Q)sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@
$(B)/ctl/mpv_input.o: $(B)/gen/rdesk_input_lua.h
# Input: key names, the mpv event reader and coordinate mapping, the messages.
test_ctl_keymap_OBJS := $(B)/ctl/keymap.o
test_ctl_mpv_input_OBJS := $(B)/ctl/mpv_event.o
test_ctl_input_OBJS := $(B)/ctl/input.o $(B)/ctl/keymap.o
fuzz_ctl_keymap_OBJS := $(B)/ctl/keymap.o
fuzz_ctl_mpv_event_OBJS := $(B)/ctl/mpv_event.o
# Input benchmark tools: a window that flips on each key, and the latency meter.
$(B)/test/tools/xflip: $(B)/test/tools/xflip.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(call pc_libs,xcb)
$(B)/test/tools/input-latency: $(B)/test/tools/input-latency.o $(LIBCTL) $(LIBCOMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(RD_LDFLAGS) -o $@ $^ $(CTL_LIBS) $(COMMON_LIBS)
TEST_PROGRAMS += $(B)/test/tools/xflip $(B)/test/tools/input-latency

test_ctl_known_peers_OBJS := $(B)/ctl/known_peers.o
test_ctl_args_OBJS := $(B)/ctl/args.o
test_ctl_media_OBJS := $(B)/ctl/record.o $(B)/ctl/png.o $(B)/ctl/decode.o $(B)/ctl/result.o \
	$(B)/ctl/audio_file.o
test_ctl_media_LIBS := $(CTL_LIBS) -lev
fuzz_ctl_known_peers_OBJS := $(B)/ctl/known_peers.o
fuzz_ctl_record_OBJS := $(B)/ctl/record.o $(B)/ctl/result.o $(B)/ctl/audio_file.o
fuzz_ctl_record_LIBS := $(CTL_LIBS)
# Sound: the receiver's time line and the files it writes.
fuzz_ctl_audio_OBJS := $(B)/ctl/audio_rx.o $(B)/ctl/audio_file.o
fuzz_ctl_audio_LIBS := $(CTL_LIBS)
# The sinks and the viewer, each alone: the run and the session are fakes in the tests.
test_ctl_sink_OBJS := $(B)/ctl/sink_shot.o $(B)/ctl/sink_record.o $(B)/ctl/record.o \
	$(B)/ctl/png.o $(B)/ctl/decode.o $(B)/ctl/result.o $(B)/ctl/audio_file.o $(B)/ctl/audio_rx.o
test_ctl_sink_LIBS := $(CTL_LIBS)
test_ctl_viewer_OBJS := $(B)/ctl/sink_view.o $(B)/ctl/viewer.o $(B)/ctl/mpv_input.o \
	$(B)/ctl/mpv_event.o $(B)/ctl/input.o $(B)/ctl/keymap.o $(B)/ctl/result.o \
	$(B)/ctl/avmux.o $(B)/ctl/audio_rx.o $(B)/ctl/audio_file.o
test_ctl_viewer_LIBS := $(CTL_LIBS)

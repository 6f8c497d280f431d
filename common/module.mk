# common: librdcommon.a, linked by every program and test.
COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o) $(PROTO_OBJ)
LIBCOMMON := $(B)/librdcommon.a
COMMON_LIBS := -lsodium -lprotobuf-c -lev -linih $(call pc_libs,libsystemd) -lm

$(LIBCOMMON): $(COMMON_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

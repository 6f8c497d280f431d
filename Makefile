# rdesk: one non-recursive make. Each folder adds its own rules in module.mk.
#   make            build the four programs (into build/)
#   make test       install missing deps, build, run every test
#   make asan       the whole test suite under AddressSanitizer + UBSan (build/asan)
#   make fuzz       build the libFuzzer targets (clang) and run each FUZZ_SECS seconds
#   make bench      benchmarks against reference tools (not part of test)
#   make demo       servers, an agent on a virtual display and rdctl, on this machine
#   make deps       apt-get install what building, tests and the demo need
#   make install    PREFIX=/usr/local DESTDIR= (programs, systemd units, sysusers.d)
#   V=1 shows the commands; WERROR=0 turns warnings back into warnings.

.DEFAULT_GOAL := all
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SUFFIXES:

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
VERSION := 0.1.0
V ?= 0
WERROR ?= 1
ASAN ?= 0
FUZZ ?= 0
FUZZ_SECS ?= 30

# BUILD names the output folder (several builds may sit side by side).
BUILD ?= build
ifeq ($(FUZZ),1)
CC := clang
B := $(BUILD)/fuzz
SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else ifeq ($(ASAN),1)
B := $(BUILD)/asan
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := $(BUILD)
SAN :=
endif

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Werror=format-security
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
RD_CPPFLAGS := -D_GNU_SOURCE -DRD_VERSION='"$(VERSION)"' -Icommon -I$(B)/gen
RD_CFLAGS := -std=gnu17 $(WARNINGS) -MMD -MP -pthread $(SAN)
RD_LDFLAGS := -pthread -Wl,--as-needed -Wl,-O1 $(SAN)

# Libraries without pkg-config files on Debian 12 are named directly.
# pkg-config is asked when make reads the makefiles, which may be before `make
# deps` has installed the -dev packages: a package it cannot find is noted in
# PC_MISSING and becomes an error when anything is compiled (pc-check), never an
# empty flag. Targets that run `deps` first build in a second make, which reads
# the makefiles again once the packages are there.
PC_MISSING :=
pc__query = $(if $(shell pkg-config --exists $(1) 2>/dev/null && echo y),$(shell pkg-config --$(2) $(1)),$(eval PC_MISSING += $(1)))
pc_cflags = $(call pc__query,$(1),cflags)
pc_libs = $(call pc__query,$(1),libs)

# Per-folder extra flags: EXTRA_CFLAGS_<folder> is added for objects under it.
$(B)/%.o: %.c | pc-check $(B)/gen/.stamp
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(RD_CPPFLAGS) $(RD_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS_$(firstword $(subst /, ,$<))) -c $< -o $@

$(B)/%.o: $(B)/%.c | pc-check $(B)/gen/.stamp
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(RD_CPPFLAGS) $(RD_CFLAGS) $(CFLAGS) -Wno-shadow -c $< -o $@

PROGRAMS :=
UNIT_TESTS :=
FUZZERS :=
INSTALL_UNITS :=
# systemd/NAME.sysusers files, installed as SYSUSERSDIR/NAME.conf.
INSTALL_SYSUSERS :=

include proto/module.mk
include common/module.mk
include rendezvous-server/module.mk
include relay-server/module.mk
include agent/module.mk
include ctl/module.mk
include packaging/module.mk
include test/module.mk

all: $(PROGRAMS)

deps:
	$(Q)packaging/deps.sh

pc-check:
ifneq ($(strip $(PC_MISSING)),)
	@echo "error: pkg-config finds no $(sort $(PC_MISSING)); 'make deps' installs them" >&2
	@exit 1
endif

test: deps
	$(Q)$(MAKE) --no-print-directory all test-programs
	$(Q)RD_BUILD=$(B) test/run.sh

asan: deps
	$(Q)$(MAKE) --no-print-directory ASAN=1 all test-programs
	$(Q)RD_BUILD=$(BUILD)/asan RD_ASAN=1 test/run.sh

fuzz: deps
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzzers
	$(Q)test/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECS)

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(TEST_PROGRAMS)
	$(Q)RD_BUILD=$(B) test/bench/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)RD_BUILD=$(B) test/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	$(if $(INSTALL_UNITS),install -m 0644 $(INSTALL_UNITS) $(DESTDIR)$(UNITDIR)/)
	$(foreach f,$(INSTALL_SYSUSERS),install -D -m 0644 $(f) $(DESTDIR)$(SYSUSERSDIR)/$(basename $(notdir $(f))).conf;)

clean:
	rm -rf build

.PHONY: all deps pc-check test asan fuzz bench demo install clean test-programs fuzzers

-include $(shell find $(B) -path '$(B)/asan' -prune -o -path '$(B)/fuzz' -prune -o -name '*.d' -type f -print 2>/dev/null)

# packaging: man pages (scdoc; rdctl prints its own from its verb table),
# bash completion, and the Debian packages.
#   make man          build the man pages into $(B)/man/
#   make install-doc  install man pages and completion (DESTDIR, PREFIX)
#   make deb          build the four .deb files into $(BUILD)/deb/
# The units of rd-agent's privileged helper (the socket rd-agent.service
# requires, and the service it starts) and the agent's system user; `make
# install` puts them beside rd-agent.service.
INSTALL_UNITS += systemd/rd-agent-helper.socket systemd/rd-agent-helper.service
INSTALL_SYSUSERS += systemd/rd-agent.sysusers

MAN_SCD := $(wildcard packaging/man/*.scd)
MANPAGES := $(patsubst packaging/man/%.scd,$(B)/man/%,$(MAN_SCD)) $(B)/man/rdctl.1
COMPLETIONS := packaging/completion/rdctl packaging/completion/rd-agent
MANDIR ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

$(B)/man/%: packaging/man/%.scd
	$(call msg,SCDOC,$@)
	@mkdir -p $(@D)
	$(Q)scdoc <$< >$@.tmp && mv $@.tmp $@

$(B)/man/rdctl.1: $(B)/rdctl
	$(call msg,MAN,$@)
	@mkdir -p $(@D)
	$(Q)$< --man >$@.tmp && mv $@.tmp $@

man: $(MANPAGES)

install-doc: man
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 $(filter %.1,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.8,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(COMPLETIONS) $(DESTDIR)$(COMPLETIONDIR)/

# The packages are built from a clean copy of the working tree: the files git
# tracks plus new ones it does not ignore (no build folders, no objects), with
# packaging/debian as debian/.
DEB_DIR := $(BUILD)/deb
deb:
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		while IFS= read -r -d '' f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done | \
		tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/src
	$(Q)cp -a packaging/debian $(DEB_DIR)/src/debian
	$(Q)cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc -Jauto >../build.log 2>&1 || \
		{ tail -n 40 ../build.log; echo "deb: dpkg-buildpackage failed, log in $(DEB_DIR)/build.log"; exit 1; }
	$(Q)ls -1 $(DEB_DIR)/*.deb

.PHONY: man install-doc deb

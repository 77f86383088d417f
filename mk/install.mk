# mk/install.mk - `make install` and `make uninstall` (included by the Makefile).
#
#   make install [PREFIX=/usr/local] [DESTDIR=]     after `make` (it builds first)
#
#   $(PREFIX)/sbin/portald                 the server
#   $(PREFIX)/bin/portalctl                the admin tool
#   $(PREFIX)/lib/portal/plugins/*.so      every plugin built in $(B)/plugins
#   $(PREFIX)/share/portal/portal.conf.example   plugin_dir set to the directory above
#   $(PREFIX)/share/portal/nginx.conf.example
#   $(PREFIX)/share/portal/portald.service       a copy of the unit, for reference
#   $(PREFIX)/lib/systemd/system/portald.service paths set to $(PREFIX)
#   $(PREFIX)/share/doc/portal/README.md
#   $(PREFIX)/include/portal/portal.h      the plugin API, for plugins built out of tree
#   $(PREFIX)/lib/pkgconfig/portal-plugin.pc   its flags (the header's and json-c's) and
#                                          the variable plugindir:
#       cc $$(pkg-config --cflags portal-plugin) -fPIC -shared -o hello.so hello.c
#       install hello.so $$(pkg-config --variable=plugindir portal-plugin)
#     (installed into a DESTDIR: pkg-config --define-prefix with PKG_CONFIG_PATH
#     pointing at DESTDIR$(PREFIX)/lib/pkgconfig finds the header there)
#
# Nothing is written to /etc: copy the examples there yourself (see the
# README, "Operations").  Files are replaced, not rewritten in place
# (install(1) unlinks the old file first), so a running portald keeps the
# binaries and plugins it has mapped until it is restarted or reloaded.

PREFIX     ?= /usr/local
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
PLUGINDIR  ?= $(PREFIX)/lib/portal/plugins
SHAREDIR   ?= $(PREFIX)/share/portal
DOCDIR     ?= $(PREFIX)/share/doc/portal
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INCLUDEDIR ?= $(PREFIX)/include/portal
PKGCONFIGDIR ?= $(PREFIX)/lib/pkgconfig
INSTALL    ?= install

# The examples name the default locations (/usr/local/...); installed
# copies name the ones of this installation.
INSTALL_SED := sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' \
                   -e 's|/usr/local/lib/portal/plugins|$(PLUGINDIR)|g' \
                   -e 's|/usr/local/share/portal/|$(SHAREDIR)/|g' \
                   -e 's|/usr/local/share/doc/portal/|$(DOCDIR)/|g' \
                   -e 's|\$$(PREFIX)/share/portal/|$(SHAREDIR)/|g'

# portal-plugin.pc: paths under ${prefix}, so that pkg-config --define-prefix
# can relocate a DESTDIR installation; the version is the plugin ABI's.
PORTAL_ABI = $(shell sed -n 's/^\#define PORTAL_ABI_VERSION \([0-9]*\)u.*/\1/p' core/portal.h)
define PORTAL_PLUGIN_PC
prefix=$(PREFIX)
includedir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))
plugindir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(PLUGINDIR))

Name: portal-plugin
Description: Build a plugin for portald (core/portal.h; load it from plugindir)
Version: $(PORTAL_ABI)
Requires: json-c
Cflags: -I$${includedir}
endef
export PORTAL_PLUGIN_PC

install: all
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) \
		$(DESTDIR)$(SHAREDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 0755 $(B)/portald $(DESTDIR)$(SBINDIR)/portald
	$(INSTALL) -m 0755 $(B)/portalctl $(DESTDIR)$(BINDIR)/portalctl
	$(INSTALL) -m 0644 $(PLUGIN_SO) $(DESTDIR)$(PLUGINDIR)/
	$(INSTALL_SED) conf/portal.conf.example > $(DESTDIR)$(SHAREDIR)/portal.conf.example.tmp
	$(INSTALL) -m 0644 $(DESTDIR)$(SHAREDIR)/portal.conf.example.tmp $(DESTDIR)$(SHAREDIR)/portal.conf.example
	rm -f $(DESTDIR)$(SHAREDIR)/portal.conf.example.tmp
	$(INSTALL) -m 0644 nginx.conf.example $(DESTDIR)$(SHAREDIR)/nginx.conf.example
	$(INSTALL_SED) conf/portald.service > $(DESTDIR)$(UNITDIR)/portald.service.tmp
	$(INSTALL) -m 0644 $(DESTDIR)$(UNITDIR)/portald.service.tmp $(DESTDIR)$(UNITDIR)/portald.service
	$(INSTALL) -m 0644 $(DESTDIR)$(UNITDIR)/portald.service.tmp $(DESTDIR)$(SHAREDIR)/portald.service
	rm -f $(DESTDIR)$(UNITDIR)/portald.service.tmp
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(INSTALL) -m 0644 core/portal.h $(DESTDIR)$(INCLUDEDIR)/portal.h
	printf '%s\n' "$$PORTAL_PLUGIN_PC" > $(DESTDIR)$(PKGCONFIGDIR)/portal-plugin.pc.tmp
	$(INSTALL) -m 0644 $(DESTDIR)$(PKGCONFIGDIR)/portal-plugin.pc.tmp $(DESTDIR)$(PKGCONFIGDIR)/portal-plugin.pc
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/portal-plugin.pc.tmp
	@echo "installed under $(DESTDIR)$(PREFIX); nothing in /etc was touched."
	@echo "next: $(SHAREDIR)/portal.conf.example -> /etc/portal/portal.conf, portalctl migrate,"
	@echo "      systemctl daemon-reload && systemctl enable --now portald (README: Operations)"

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/portald $(DESTDIR)$(BINDIR)/portalctl
	rm -f $(PLUGIN_SO:$(B)/plugins/%=$(DESTDIR)$(PLUGINDIR)/%)
	rm -f $(DESTDIR)$(SHAREDIR)/portal.conf.example $(DESTDIR)$(SHAREDIR)/nginx.conf.example \
		$(DESTDIR)$(SHAREDIR)/portald.service $(DESTDIR)$(UNITDIR)/portald.service \
		$(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(INCLUDEDIR)/portal.h \
		$(DESTDIR)$(PKGCONFIGDIR)/portal-plugin.pc
	-rmdir $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(PREFIX)/lib/portal $(DESTDIR)$(SHAREDIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(INCLUDEDIR) 2>/dev/null

.PHONY: install uninstall

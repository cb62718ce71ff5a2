# runit-rs: build, install, package. The work is done by scripts/ (see each script's header).
#
#   make                          release binaries into target/dist/bin (scripts/build-dist)
#   make multicall                the static multicall binary, target/dist/multicall/runit-rs
#   make install [DESTDIR=...] [PREFIX=/usr] [MULTICALL=1]
#   make uninstall [DESTDIR=...] [PREFIX=/usr]
#   make deb                      Debian packages into target/deb (scripts/build-deb)
#   make check                    the whole test suite (scripts/test)
#
# PREFIX=/usr gives the layout of Debian's packages: /usr/bin/{chpst,runsv,runsvdir,sv,svlogd}
# and chpst's personalities, /sbin/{runit,runit-init}, /usr/sbin/{runsvchdir,utmpset}, pages
# in /usr/share/man/man8, completions for bash, zsh and fish. Other directories:
# BINDIR SBINDIR ROOTSBINDIR MANDIR BASHCOMPDIR ZSHCOMPDIR FISHCOMPDIR (scripts/install).
# `make install` builds first only what is missing; it never runs cargo when the binaries
# exist, so `sudo make install` after `make` touches nothing in target/.

PREFIX ?= /usr/local
DESTDIR ?=
DIST ?= target/dist
MULTICALL ?=
export PREFIX DESTDIR DIST MULTICALL BINDIR SBINDIR ROOTSBINDIR MANDIR BASHCOMPDIR ZSHCOMPDIR FISHCOMPDIR

.PHONY: all multicall install uninstall deb check clean

all:
	scripts/build-dist

multicall:
	scripts/build-dist multicall

# The binaries install needs; built only when absent (see above). build-dist makes all of
# them at once, so one of them stands for the set.
$(DIST)/bin/runsv:
	scripts/build-dist

$(DIST)/multicall/runit-rs:
	scripts/build-dist multicall

ifeq ($(MULTICALL),1)
install: $(DIST)/multicall/runit-rs
else
install: $(DIST)/bin/runsv
endif
	scripts/install

uninstall:
	scripts/install -u

deb:
	scripts/build-deb

check:
	scripts/test

clean:
	cargo clean

# runit-rs: build, install, package. The work is done by scripts/ (see each script's header).
#
#   make                          the static multicall binary target/dist/bin/runit-rs, every
#                                 program a link to it (scripts/build-dist)
#   make PER_PROGRAM=1            separate programs into target/dist/per-program instead
#                                 (also: make per-program)
#   make install [DESTDIR=...] [PREFIX=/usr] [PER_PROGRAM=1]
#   make uninstall [DESTDIR=...] [PREFIX=/usr]
#   make deb                      Debian packages into target/deb (scripts/build-deb)
#   make check                    the whole test suite (scripts/test)
#
# PREFIX=/usr gives the layout of Debian's packages: /usr/bin/runit-rs, and as links to it
# /usr/bin/{chpst,runsv,runsvdir,sv,svlogd} and chpst's personalities,
# /sbin/{runit,runit-init}, /usr/sbin/{runsvchdir,utmpset} (with PER_PROGRAM=1 the same
# paths hold separate programs, the personalities linked to chpst); pages
# in /usr/share/man/man8, completions for bash, zsh and fish. Other directories:
# BINDIR SBINDIR ROOTSBINDIR MANDIR BASHCOMPDIR ZSHCOMPDIR FISHCOMPDIR (scripts/install).
# `make install` builds first only what is missing; it never runs cargo when the binaries
# exist, so `sudo make install` after `make` touches nothing in target/.

PREFIX ?= /usr/local
DESTDIR ?=
DIST ?= target/dist
PER_PROGRAM ?=
export PREFIX DESTDIR DIST PER_PROGRAM BINDIR SBINDIR ROOTSBINDIR MANDIR BASHCOMPDIR ZSHCOMPDIR FISHCOMPDIR

.PHONY: all multicall per-program install uninstall deb check clean

ifeq ($(PER_PROGRAM),1)
all: per-program
else
all: multicall
endif

multicall:
	scripts/build-dist

per-program:
	scripts/build-dist per-program

# The binaries install needs; built only when absent (see above). build-dist makes all of
# them at once, so one of them stands for the set.
$(DIST)/bin/runit-rs:
	scripts/build-dist

$(DIST)/per-program/runsv:
	scripts/build-dist per-program

ifeq ($(PER_PROGRAM),1)
install: $(DIST)/per-program/runsv
else
install: $(DIST)/bin/runit-rs
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

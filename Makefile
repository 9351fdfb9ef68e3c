# SPDX-License-Identifier: GPL-2.0
#
# sysgenid: top-level targets. docs/HACKING.md explains the layout.
#
#   make            build the module for the running kernel's headers, the
#                   library, the command and the examples
#   make check      boot each kernel of $(KERNELS) in QEMU and run every test
#   make check-arm64  the same for Debian's arm64 kernels, cross-built
#   make check-debug  the same under a KASAN/UBSAN/lockdep/kmemleak kernel
#   make check-debug-arm64  the arm64 suites and the device-tree vmgenid
#                     path under that kernel built for arm64
#   make demo       clone a VM and watch sysgenid tell each clone
#   make bindings   build the Python, Rust and Go bindings, run their unit
#                   tests (make check does, when it stages)
#   make bench      print the figures
#   make patches    the patch series for linux-source-6.12, build/patches/
#   make style      checkpatch.pl --strict on the kernel code
#   make sparse     sparse (C=2) on the kernel code

KERNELS ?= 6.1 6.12
# A series (6.1) or a release. Turned into the installed release only in
# the recipes that need one ($(KREL)), never when make reads this file: on
# a fresh machine `make demo` and `make bench` install the kernels first.
KVER ?= $(firstword $(KERNELS))
# A full release (it has a "-") is taken as it is: the debug kernel is not
# installed in /boot.
KREL = $(if $(findstring -,$(KVER)),$(KVER),$(shell tests/vm/kver $(KVER)))
# The harness passes its own (BUILD=DIR tests/vm/check, the debug check).
BUILD ?= $(CURDIR)/build
export BUILD

# Parts that stage files into the guest (each has a `stage` target).
STAGE_DIRS := tests/module tests/lib tests/clone tests/stress bindings

.PHONY: all module lib cli examples install stage check check-arm64 \
	check-debug check-debug-arm64 demo \
	bench style sparse clean bindings patches

all: module lib cli examples

module:
	$(MAKE) -C module KVER=$(KREL)

lib cli examples bindings:
	$(MAKE) -C $@

# Library, header, pkg-config file, command, man pages, unit, hooks:
# PREFIX (default /usr/local) and DESTDIR as usual.
install: lib cli
	$(MAKE) -C lib install
	$(MAKE) -C cli install
	$(MAKE) -C system install

# Everything the guest of kernel $(KVER) needs, under build/guest*/.
stage:
	set -e; krel='$(KREL)'; [ -n "$$krel" ]; \
	$(MAKE) -C module stage KVER=$$krel; \
	for d in $(STAGE_DIRS); do $(MAKE) -C $$d stage KVER=$$krel; done

check:
	tests/vm/check $(KERNELS)

# The arm64 legs, cross-built, under qemu-system-aarch64 (docs/HACKING.md).
check-arm64:
	tests/vm/check 6.1-arm64 6.12-arm64

# The whole VM suite under a debug kernel (KASAN, UBSAN, lockdep, kmemleak)
# built once from linux-source-6.12 and cached: tests/debug-kernel/.
check-debug:
	tests/debug-kernel/check

# The same kernel for arm64, cross-built: the arm64 suites, then the
# device-tree vmgenid path with the patched and the stock vmgenid.ko.
check-debug-arm64:
	tests/debug-kernel/check arm64

# Installs what is missing, builds, boots $(KVER): bench/Makefile.
bench:
	$(MAKE) -C bench KVER=$(KVER)

# Installs what is missing, builds, clones a VM twice, then a VM whose
# notification is masked (the ID page check, sysgenid sync): demo/demo.
demo:
	demo/demo $(KVER)

# A git format-patch series with its cover letter (upstream/make-series).
patches:
	upstream/make-series $(BUILD)/patches

style sparse:
	$(MAKE) -C module $@ KVER=$(KREL)

clean:
	rm -rf $(BUILD)
	$(MAKE) -C module clean

# Packaging and other kernels, on the host (docs/INSTALL.md):
#   make check-flavours  build the modules with W=1 against every amd64
#                        and arm64 (cross-built) flavour of the Debian 12
#                        kernels of $(KERNELS)
#   make dkms-source     the DKMS source tree, $(DESTDIR)/usr/src/sysgenid-VER
#   make deb             Debian packages into build/deb/ (installs the
#                        build dependencies with apt-get)
VERSION := $(shell cat $(CURDIR)/VERSION)
DKMS_SRC = $(DESTDIR)/usr/src/sysgenid-$(VERSION)
DEB_SRC = $(BUILD)/deb/sysgenid-$(VERSION)

.PHONY: check-flavours dkms-source deb

check-flavours:
	SYSGENID_ARM64=1 tests/build/host-flavours.t $(KERNELS)

dkms-source:
	! dpkg -S $(DKMS_SRC) >/dev/null 2>&1 || \
		{ echo "$(DKMS_SRC) belongs to a package" >&2; exit 1; }
	install -d $(DKMS_SRC)/module $(DKMS_SRC)/include/uapi/linux
	install -m 0644 module/Kbuild module/*.[ch] $(DKMS_SRC)/module/
	install -m 0644 include/uapi/linux/sysgenid.h \
		$(DKMS_SRC)/include/uapi/linux/
	sed 's/#MODULE_VERSION#/$(VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf

# Built in a copy of the working tree (less what git ignores, or build/
# outside git): the debs land in build/deb/, no leftover in the tree.
deb:
	test "$$(dpkg-parsechangelog -S Version)" = "$(VERSION)" || \
		{ echo "debian/changelog: not version $(VERSION)" >&2; exit 1; }
	dpkg-checkbuilddeps 2>/dev/null || \
		apt-get -q -y -o DPkg::Lock::Timeout=600 build-dep ./
	rm -rf $(BUILD)/deb
	mkdir -p $(DEB_SRC)
	{ git ls-files -z -co --exclude-standard 2>/dev/null || \
		find . -path ./build -prune -o -path ./.git -prune -o \
			-type f -print0; } | xargs -0 cp -a --parents -t $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc
	ls -l $(BUILD)/deb/*.deb

# SPDX-License-Identifier: GPL-2.0
#
# sysgenid: top-level targets. docs/HACKING.md explains the layout.
#
#   make            build the module for the running kernel's headers, the
#                   library, the command and the examples
#   make check      boot each kernel of $(KERNELS) in QEMU and run every test
#   make demo       clone a VM and watch sysgenid tell each clone
#   make bench      print the figures
#   make style      checkpatch.pl --strict on the kernel code
#   make sparse     sparse (C=2) on the kernel code

KERNELS ?= 6.1 6.12
KVER ?= $(shell tests/vm/kver $(firstword $(KERNELS)))
BUILD := $(CURDIR)/build
export BUILD

# Parts that stage files into the guest (each has a `stage` target).
STAGE_DIRS := tests/module tests/lib tests/clone

.PHONY: all module lib cli examples install stage check demo bench style \
	sparse clean

all: module lib cli examples

module:
	$(MAKE) -C module KVER=$(KVER)

lib cli examples:
	$(MAKE) -C $@

# Library, header, pkg-config file, command, man pages, unit, hooks:
# PREFIX (default /usr/local) and DESTDIR as usual.
install: lib cli
	$(MAKE) -C lib install
	$(MAKE) -C cli install
	$(MAKE) -C system install

# Everything the guest of kernel $(KVER) needs, under build/guest*/.
stage:
	$(MAKE) -C module stage KVER=$(KVER)
	set -e; for d in $(STAGE_DIRS); do $(MAKE) -C $$d stage KVER=$(KVER); done

check:
	tests/vm/check $(KERNELS)

# Installs what is missing, builds, clones a VM twice: demo/demo.
demo:
	demo/demo $(KVER)

style sparse:
	$(MAKE) -C module $@ KVER=$(KVER)

clean:
	rm -rf $(BUILD)
	$(MAKE) -C module clean

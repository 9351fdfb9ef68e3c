# SPDX-License-Identifier: GPL-2.0
#
# What lib/, cli/, examples/ and system/ share: version, tools, flags and
# installation directories. PREFIX and DESTDIR as usual; SYSCONFDIR stays
# /etc whatever the prefix, as systemd and the hooks expect.

TOP ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)

# The project's version, as the packages have it.
VERSION := $(shell cat $(TOP)/VERSION)
BUILD ?= $(TOP)/build

CC ?= cc
AR ?= ar
INSTALL ?= install
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra
CPPFLAGS += -I$(TOP)/lib -I$(TOP)/include/uapi -D_GNU_SOURCE

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d

LIBA := $(BUILD)/lib/libsysgenid.a
LIBSO := $(BUILD)/lib/libsysgenid.so

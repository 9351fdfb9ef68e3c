#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tests/lib/host-install.t [KVER]: on the host, no VM and no module needed.
# make install into a DESTDIR, with the default prefix and with PREFIX=/usr;
# check the layout, the library's soname, symlinks and exported symbols,
# the generated files, the man pages; then build a program against the
# installed library through pkg-config, shared and static, and run it.
# KVER is ignored: make check passes one.

set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
failed=0

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		echo "# $3: got '$1', want '$2'"
		fail "$3"
	fi
}

D=$T/d
if make -C "$top" --no-print-directory install DESTDIR="$D" >"$T/log" 2>&1; then
	pass "make install DESTDIR=..."
else
	sed 's/^/# /' "$T/log" | tail -n 20
	fail "make install DESTDIR=..."
fi

V=$(cat "$top/VERSION")
P=$D/usr/local
for f in bin/sysgenid lib/libsysgenid.so.$V lib/libsysgenid.a \
	 include/libsysgenid.h lib/pkgconfig/libsysgenid.pc \
	 share/man/man1/sysgenid.1 share/man/man3/libsysgenid.3 \
	 share/man/man4/sysgenid.4 lib/systemd/system/sysgenid-hooks.service \
	 lib/systemd/system/sysgenid-ready.service \
	 lib/modules-load.d/sysgenid.conf libexec/sysgenid/sysgenid-action.sh \
	 share/sysgenid/hooks.d-examples/README \
	 share/sysgenid/60-sysgenid-watchers.rules.example; do
	check "installed: /usr/local/$f" test -f "$P/$f"
done
for f in sysgenid_open sysgenid_wait sysgenid_peek sysgenid_changed; do
	is "$(cat "$P/share/man/man3/$f.3" 2>&1)" ".so man3/libsysgenid.3" \
		"man page $f(3) leads to libsysgenid(3)"
done
for h in 10-random-seed 20-mix-entropy 30-boot-id 40-clock; do
	check "installed, executable: example hook $h" \
		test -x "$P/share/sysgenid/hooks.d-examples/$h"
done
check "created: /etc/sysgenid/hooks.d, empty" \
	sh -c "[ -d '$D/etc/sysgenid/hooks.d' ] && \
		[ -z \"\$(ls -A '$D/etc/sysgenid/hooks.d')\" ]"
if [ -f /usr/include/criu/criu-plugin.h ]; then
	check "installed: the CRIU plugin" test -f "$P/lib/criu/sysgenid_plugin.so"
else
	skip "installed: the CRIU plugin" "no criu-plugin.h (apt-get install criu)"
fi

is "$(readlink "$P/lib/libsysgenid.so.1")" libsysgenid.so.$V \
	"symlink libsysgenid.so.1 -> libsysgenid.so.$V"
is "$(readlink "$P/lib/libsysgenid.so")" libsysgenid.so.1 \
	"symlink libsysgenid.so -> libsysgenid.so.1"
is "$(readelf -d "$P/lib/libsysgenid.so.$V" |
	sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" libsysgenid.so.1 \
	"soname libsysgenid.so.1"
nm -D --defined-only "$P/lib/libsysgenid.so.$V" |
	awk '$2 == "T" { print $3 }' | sort >"$T/exported"
# Each symbol at the version nodes that list it: @@ at the last (the
# default for new links), @ at the earlier ones (kept for old programs).
awk '/^LIBSYSGENID_[0-9.]* \{/ { node = $1 }
	/^[[:space:]]*sysgenid_[a-z_]*;/ {
		sub(/;.*/, "", $1)
		if ($1 in last) print $1 "@" last[$1]
		last[$1] = node
	}
	END { for (s in last) print s "@@" last[s] }' \
	"$top/lib/libsysgenid.sym" | sort >"$T/listed"
check "exports exactly the symbols of libsysgenid.sym, at their versions" \
	cmp -s "$T/exported" "$T/listed"
check "every exported function is declared in libsysgenid.h" \
	sh -c "for s in \$(sed 's/@.*//' '$T/exported'); do
		grep -q \"^[a-z].* \\**\$s(\" '$top/lib/libsysgenid.h' || exit 1
	done"

check "libsysgenid.pc names the prefix" \
	grep -qx 'prefix=/usr/local' "$P/lib/pkgconfig/libsysgenid.pc"
check "the unit runs /usr/local/bin/sysgenid on /etc/sysgenid/hooks.d" \
	grep -qx 'ExecStart=/usr/local/bin/sysgenid watch --verbose --hooks /etc/sysgenid/hooks.d' \
	"$P/lib/systemd/system/sysgenid-hooks.service"
check "the ready unit runs /usr/local/bin/sysgenid ready" \
	grep -qx 'ExecStart=/usr/local/bin/sysgenid ready' \
	"$P/lib/systemd/system/sysgenid-ready.service"

# A program on the installed library, as a user would build it.
cat >"$T/prog.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <libsysgenid.h>

int main(void)
{
	struct sysgenid *h = NULL;
	int sup = sysgenid_supported();
	int err = sysgenid_open_probe(&h);

	if (!err) {
		printf("generation %u\n", sysgenid_peek(sysgenid_map(h)));
		sysgenid_close(h);
	}
	printf("supported %d open %d\n", sup, err);
	/* The host never has the module: the device is missing. */
	return sup == 0 && err == -ENOENT ? 0 : 1;
}
EOF
export PKG_CONFIG_PATH="$P/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
if flags=$(pkg-config --cflags --libs libsysgenid); then
	pass "pkg-config --cflags --libs libsysgenid ($flags)"
else
	fail "pkg-config --cflags --libs libsysgenid"
fi
check "a program builds on it: -std=c99 -pedantic -Wall -Wextra -Werror" \
	cc -std=c99 -pedantic -Wall -Wextra -Werror -o "$T/prog" "$T/prog.c" \
	$flags
out=$(LD_LIBRARY_PATH="$P/lib" "$T/prog" 2>&1)
is "$?:$out" "0:supported 0 open -2" \
	"it runs on libsysgenid.so.1: no device is 0 and -ENOENT, no crash"
check "it is linked to libsysgenid.so.1" \
	sh -c "LD_LIBRARY_PATH='$P/lib' ldd '$T/prog' | grep -q 'libsysgenid.so.1 => $P/lib/'"
check "a static build links: -static \$(pkg-config --static ...)" \
	cc -static -o "$T/prog-static" "$T/prog.c" \
	$(pkg-config --cflags --libs --static libsysgenid)
out=$("$T/prog-static" 2>&1)
is "$?:$out" "0:supported 0 open -2" "the static program runs"
check "the static program needs no shared library" \
	sh -c "! ldd '$T/prog-static' >/dev/null 2>&1"
if command -v c++ >/dev/null; then
	check "libsysgenid.h compiles as C++" \
		sh -c "echo '#include <libsysgenid.h>' |
			c++ -fsyntax-only -Wall -Wextra -Werror -x c++ $(pkg-config --cflags libsysgenid) -"
else
	skip "libsysgenid.h compiles as C++" "no c++"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# PREFIX=/usr
U=$T/u
if make -C "$top" --no-print-directory install PREFIX=/usr DESTDIR="$U" \
	>"$T/log" 2>&1; then
	pass "make install PREFIX=/usr DESTDIR=..."
else
	sed 's/^/# /' "$T/log" | tail -n 20
	fail "make install PREFIX=/usr DESTDIR=..."
fi
check "PREFIX=/usr: library, header, command, pc under /usr" \
	sh -c "[ -f '$U/usr/lib/libsysgenid.so.$V' ] && \
		[ -f '$U/usr/include/libsysgenid.h' ] && \
		[ -x '$U/usr/bin/sysgenid' ] && \
		grep -qx 'prefix=/usr' '$U/usr/lib/pkgconfig/libsysgenid.pc'"
check "PREFIX=/usr: the unit runs /usr/bin/sysgenid" \
	grep -q '^ExecStart=/usr/bin/sysgenid ' \
	"$U/usr/lib/systemd/system/sysgenid-hooks.service"
check "PREFIX=/usr: nothing under /usr/local" test ! -e "$U/usr/local"

# The man pages format without a warning.
if command -v man >/dev/null; then
	for m in "$top/docs/sysgenid.1" "$top/docs/libsysgenid.3" \
		 "$top/docs/sysgenid.4"; do
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
		is "$w" "" "man page $(basename "$m") formats cleanly"
	done
else
	for m in sysgenid.1 libsysgenid.3 sysgenid.4; do
		skip "man page $m formats cleanly" "no man (apt-get install man-db)"
	done
fi

echo "1..$n"
[ $failed -eq 0 ]

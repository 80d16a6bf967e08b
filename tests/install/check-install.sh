#!/bin/sh
# Installs tarn into a scratch DESTDIR and uses it as a site would: builds a
# program and a third-party backend plugin out of tree with pkg-config,
# selects the plugin by path and by UNIDIST_PLUGIN_PATH, and runs the
# installed tarn command.
# Usage: check-install.sh SOURCE_ROOT BUILD_ROOT
set -eu
src=$1
build=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null

pc=$(find "$dest" -name tarn.pc | head -n 1)
[ -n "$pc" ] || { echo "tarn.pc was not installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$dest"
libdir=$(pkg-config --variable=libdir tarn)
plugindir=$(pkg-config --variable=plugindir tarn)
cflags=$(pkg-config --cflags tarn)
libs=$(pkg-config --libs tarn)

for f in tarn.h backend.h errors.h export.h version.h; do
	find "$dest" -path "*/include/tarn/$f" | grep -q . || { echo "header tarn/$f not installed" >&2; exit 1; }
done
[ -f "$plugindir/seq.so" ] ||
	{ echo "seq.so not installed under the plugin dir ($plugindir)" >&2; exit 1; }
tarn_bin=$(find "$dest" -type f -name tarn -perm -u+x | head -n 1)
[ -n "$tarn_bin" ] || { echo "the tarn command was not installed" >&2; exit 1; }
find "$dest" -name quickstart.c | grep -q . || { echo "example sources not installed" >&2; exit 1; }

work="$dest/site"
mkdir -p "$work"
# A program, built only from what was installed.
cc -std=c11 -Wall -Wextra -Werror -o "$work/quickstart" "$src/examples/quickstart.c" $cflags $libs -lm
# A third-party backend: the seq source under another name, built out of tree
# against the SDK header alone (it must not link libtarn), with the ref table
# it shares with procpool, which a copy of seq takes along (plain C on glib).
sed 's/\.name = "seq"/.name = "sitebackend"/' "$src/plugins/seq/seq.c" >"$work/sitebackend.c"
cp "$src/plugins/procpool/reftab.c" "$src/plugins/procpool/reftab.h" "$work/"
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
	-o "$work/sitebackend.so" "$work/sitebackend.c" "$work/reftab.c" $cflags \
	$(env -u PKG_CONFIG_SYSROOT_DIR -u PKG_CONFIG_PATH pkg-config --cflags --libs glib-2.0)
if nm -D "$work/sitebackend.so" | grep -q ' U tarn_'; then
	echo "the plugin needs libtarn symbols; it must see only the SDK header" >&2
	exit 1
fi

export LD_LIBRARY_PATH="$libdir"
expected='[0, 1, 4, 9]
[0.0, 1.0, 8.0, 27.0]'
out=$(UNIDIST_BACKEND="$work/sitebackend.so" "$work/quickstart")
[ "$out" = "$expected" ] || { echo "by path: got: $out" >&2; exit 1; }
out=$(UNIDIST_PLUGIN_PATH="$work" UNIDIST_BACKEND=sitebackend "$work/quickstart")
[ "$out" = "$expected" ] || { echo "by UNIDIST_PLUGIN_PATH: got: $out" >&2; exit 1; }
out=$(UNIDIST_PLUGIN_PATH="$plugindir" UNIDIST_BACKEND=seq "$work/quickstart")
[ "$out" = "$expected" ] || { echo "installed seq: got: $out" >&2; exit 1; }
UNIDIST_PLUGIN_PATH="$work" "$tarn_bin" plugins | grep -q sitebackend ||
	{ echo "installed 'tarn plugins' does not list the site plugin" >&2; exit 1; }
echo "install ok: headers, tarn.pc, libtarn, plugins, tarn, examples; out-of-tree program and plugin work"

#!/usr/bin/env bash
# runtime-packages.sh BINARY — prints, one a line, the Debian packages that
# hold the shared libraries BINARY links against. The images' build stage
# runs it on the plue it built, so the slim runtime stage installs exactly
# the runtime half of scripts/deps.sh's -dev packages, with no second list
# to keep in step.
set -euo pipefail
[ $# -eq 1 ] && [ -x "$1" ] || { echo "usage: runtime-packages.sh BINARY" >&2; exit 2; }
ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u | while read -r lib; do
	real=$(readlink -f "$lib")
	# merged /usr: dpkg may have recorded either spelling of the path
	for p in "$lib" "$real" "${real#/usr}" "/usr$lib"; do
		if pkg=$(dpkg-query -S "$p" 2>/dev/null); then
			echo "${pkg%%:*}"
			continue 2
		fi
	done
	echo "runtime-packages: no package holds '$lib'" >&2
	exit 1
done | sort -u

#!/bin/sh
# Apply (fix) or verify (check) the project's .clang-format on every C source it owns.
set -eu
clang_format=$1
mode=$2
cd "${MESON_SOURCE_ROOT:-$(dirname "$0")/..}"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
[ -n "$files" ] || exit 0
if [ "$mode" = fix ]; then
	exec "$clang_format" -i $files
fi
exec "$clang_format" --dry-run --Werror $files

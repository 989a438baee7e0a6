#!/bin/sh
# Build the libFuzzer harnesses with clang straight from the daemon's
# sources (libFuzzer needs clang's coverage instrumentation, which the
# gcc-built libaftersale.a lacks), then run each for FUZZ_SECONDS.
# Exits non-zero on any finding: a crash, a sanitizer report, a leak, a
# hang, or a failed property check.  `make fuzz` passes the settings below;
# each harness prints one summary line and its full log stays in
# tests/fuzz/build/NAME.log, a finding in tests/fuzz/build/findings/NAME/.
#
#   SRCDIR BUILDDIR      the source and build trees (default: .)
#   FUZZ_SECONDS         how long each harness runs (default 60)
#   FUZZ_HARNESSES       which to run (default: all)
#   FUZZ_VERSION FUZZ_SYSCONFDIR FUZZ_LOCALSTATEDIR   from configure
#   FUZZ_DEPS_CFLAGS     the libraries' compile flags, from configure
#   FUZZ_DEPS_LIBS       and their link flags
#   CLANG                the compiler (default clang)
set -u

SRCDIR=${SRCDIR:-.}
BUILDDIR=${BUILDDIR:-.}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_HARNESSES=${FUZZ_HARNESSES:-csv_import config template message parsers platform}
CLANG=${CLANG:-clang}
out=$BUILDDIR/tests/fuzz/build

# The longest input each harness is given: csv_import's reaches past
# csvread's 64 KiB chunk, so a record split across reads is tried too.
max_len() {
	case $1 in
	csv_import)	echo 131072 ;;
	config)		echo 16384 ;;
	*)		echo 4096 ;;
	esac
}

# Seeds kept elsewhere in the tree, not copied: the sample templates.
extra_seeds() {
	case $1 in
	template)	echo "$SRCDIR/conf/templates" ;;
	esac
}

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer $SAN -Wall -Wextra \
	-D_GNU_SOURCE -I$SRCDIR/daemon -I$SRCDIR/tests/fuzz \
	-DPACKAGE_VERSION=\"${FUZZ_VERSION:-fuzz}\" \
	-DSYSCONFDIR=\"${FUZZ_SYSCONFDIR:-/etc}\" \
	-DLOCALSTATEDIR=\"${FUZZ_LOCALSTATEDIR:-/var}\" \
	-DFUZZ_SRCDIR=\"$(cd "$SRCDIR" && pwd)\" ${FUZZ_DEPS_CFLAGS:-}"

mkdir -p "$out/obj" || exit 1

# Objects are rebuilt when their source, or any header, is newer.
newest_header=$(ls -t "$SRCDIR"/daemon/*.h "$SRCDIR"/tests/fuzz/fuzz.h | head -1)
objs=
for src in "$SRCDIR"/daemon/*.c "$BUILDDIR"/daemon/migrations.c; do
	name=$(basename "$src" .c)
	[ "$name" = main ] && continue
	obj=$out/obj/$name.o
	objs="$objs $obj"
	if [ ! "$obj" -nt "$src" ] || [ ! "$obj" -nt "$newest_header" ]; then
		echo "  CC (fuzz) $name.c"
		# shellcheck disable=SC2086
		$CLANG $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj" \
		    || exit 1
	fi
done
rm -f "$out/libfuzzdaemon.a"
# shellcheck disable=SC2086
ar rcs "$out/libfuzzdaemon.a" $objs || exit 1

status=0
for h in $FUZZ_HARNESSES; do
	bin=$out/fuzz_$h
	echo "  CCLD (fuzz) fuzz_$h"
	# shellcheck disable=SC2086
	$CLANG $CFLAGS -fsanitize=fuzzer "$SRCDIR/tests/fuzz/fuzz_$h.c" \
	    "$out/libfuzzdaemon.a" ${FUZZ_DEPS_LIBS:-} -o "$bin" || exit 1
done

for h in $FUZZ_HARNESSES; do
	bin=$out/fuzz_$h
	corpus=$out/corpus/$h
	findings=$out/findings/$h
	log=$out/$h.log
	mkdir -p "$corpus" "$findings"
	# The daemon's own error messages go to stderr for every bad input:
	# close_fd_mask=3 keeps them out of the log; libFuzzer's and the
	# sanitizers' reports still reach it.  The leak suppressions are
	# libconfig's, see lsan.supp.
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	LSAN_OPTIONS=suppressions=$SRCDIR/tests/fuzz/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1 \
	"$bin" -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len "$h")" \
	    -timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 \
	    -artifact_prefix="$findings/" "$corpus" "$SRCDIR/tests/fuzz/seeds/$h" \
	    $(extra_seeds "$h") >"$log" 2>&1
	rc=$?
	# "#1234 DONE cov: 812 ft: 3456 corp: ... exec/s: 41000 rss: 60Mb"
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
	runs=$(echo "$done_line" | sed -n 's/^#\([0-9]*\).*/\1/p')
	cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	rate=$(echo "$done_line" | sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p')
	if [ "$rc" -eq 0 ]; then
		echo "fuzz_$h: ${runs:-?} runs in ${FUZZ_SECONDS}s (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}: no findings"
		continue
	fi
	status=1
	echo "fuzz_$h: FINDING (exit $rc); log $log, input in $findings/"
	# What went wrong, and where in our code; a failed property says
	# which when the input is run again with stderr open.
	grep -E '(ERROR|SUMMARY): |#[0-9]+ 0x[0-9a-f]+ in [A-Za-z_0-9]+ .*/(daemon|tests/fuzz)/[a-z_]+\.c:' \
	    "$log" | head -8 | sed 's/ (BuildId: [0-9a-f]*)//; s/^/    /'
	for input in "$findings"/*; do
		[ -f "$input" ] || continue
		"$bin" "$input" 2>&1 | grep 'property failed' | sed 's/^/    /'
	done
done
exit $status

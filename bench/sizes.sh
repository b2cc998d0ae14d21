#!/usr/bin/env bash
# Release binary sizes with opt-level "z" and "s" (everything else as in Cargo.toml's release
# profile), for every release target, plus x86_64 without PIE. Builds into target/sizes/ so
# that target/<triple>/release stays as `make release` left it; prints a Markdown table.
#   bench/sizes.sh            # all targets, z and s
#   LEVELS=s bench/sizes.sh   # one level
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=${TARGETS:-"x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf"}
LEVELS=${LEVELS:-"z s"}
declare -A size
for level in $LEVELS; do
	for t in $TARGETS; do
		echo "sizes: opt-level=$level $t" >&2
		CARGO_PROFILE_RELEASE_OPT_LEVEL=$level CARGO_TARGET_DIR=target/sizes/$level \
			cargo build --release --quiet --target "$t" >&2
		size[$level/$t]=$(stat -c %s "target/sizes/$level/$t/release/offlinetube")
	done
done
# Non-PIE x86_64 (no ASLR for the binary itself): what PIE costs.
if [[ " $TARGETS " == *" x86_64-unknown-linux-musl "* ]]; then
	echo "sizes: opt-level=z x86_64-unknown-linux-musl, relocation-model=static" >&2
	CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_TARGET_DIR=target/sizes/z-nopie \
		RUSTFLAGS="-C relocation-model=static" \
		cargo build --release --quiet --target x86_64-unknown-linux-musl >&2
	nopie=$(stat -c %s target/sizes/z-nopie/x86_64-unknown-linux-musl/release/offlinetube)
fi
printf '| target |'; for level in $LEVELS; do printf ' opt-level "%s" |' "$level"; done; echo
printf '|---|'; for level in $LEVELS; do printf -- '---:|'; done; echo
for t in $TARGETS; do
	printf '| %s |' "$t"
	for level in $LEVELS; do printf ' %s B |' "${size[$level/$t]}"; done
	echo
done
[[ -n "${nopie:-}" ]] && printf '| x86_64-unknown-linux-musl, non-PIE (z) | %s B |\n' "$nopie"
exit 0

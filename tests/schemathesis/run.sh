#!/usr/bin/env bash
# Schema-driven fuzzing: runs Schemathesis against a real offlinetube server, using the OpenAPI
# document the server itself serves (GET /api/openapi.json, which is openapi.json embedded in
# the binary). Fails when the server answers 5xx, or a status, Content-Type or body that the
# document does not describe.
#
# Usage: tests/schemathesis/run.sh [SERVER_BINARY [SCHEMATHESIS_OPTION...]]
# SERVER_BINARY defaults to target/debug/offlinetube (this script builds nothing); further
# arguments go to `schemathesis run` (e.g. --report har --report-dir /tmp/st). `cargo test`
# runs it through tests/schema.rs.
#
# The server gets a temporary data dir holding a few finished files, and a fake yt-dlp that
# answers --version, gives canned metadata to lookups and fails every download at once, so
# fuzzing never downloads anything nor reaches the network.
#
# Tunables (environment): SCHEMATHESIS_MAX_EXAMPLES (30), SCHEMATHESIS_TIME_LIMIT (seconds for
# the whole schemathesis run, 150), SCHEMATHESIS_SEED (random by default; the summary prints
# the seed of a run so that a failure can be replayed).
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
BIN=${1:-target/debug/offlinetube}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-30}
TIME_LIMIT=${SCHEMATHESIS_TIME_LIMIT:-150}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { echo "schemathesis-run: $*"; }

if [ ! -x "$BIN" ]; then
	log "server binary '$BIN' not found or not executable (build it first: cargo build)"
	exit 2
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# --- schemathesis: the one on PATH if it is a 4.x, else the pinned version from PyPI ---------
st_version() { "$1" --version 2>/dev/null | sed -n 's/^schemathesis, version \([0-9][0-9.]*\).*/\1/p'; }
ST=
VENV="$HERE/../../target/schemathesis-venv" # used only when pip refuses to install
if [ -x "$VENV/bin/schemathesis" ]; then PATH="$PATH:$VENV/bin"; fi
find_st() {
	local c v
	for c in schemathesis st; do
		if command -v "$c" >/dev/null 2>&1; then
			v=$(st_version "$c" || true)
			case "$v" in
			4.*) ST=$(command -v "$c"); return 0 ;;
			"") ;; # `st` may well be another program (a terminal)
			*) log "found $c $v, but this script needs schemathesis 4.x" ;;
			esac
		fi
	done
	return 1
}
if ! find_st; then
	PIN="schemathesis==$SCHEMATHESIS_VERSION"
	log "schemathesis 4.x not found: installing $PIN from PyPI (python3 -m pip install $PIN)"
	if python3 -m pip install --quiet --disable-pip-version-check "$PIN" ||
		python3 -m pip install --quiet --disable-pip-version-check --user "$PIN"; then
		# pip puts the command in the interpreter's scripts folder or the user's, maybe not on PATH.
		PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$(python3 -m site --user-base)/bin"
	else
		# A Python that refuses pip installs (PEP 668): a virtual environment under target/.
		log "pip refused; installing $PIN into $VENV instead"
		python3 -m venv "$VENV"
		"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PIN"
		PATH="$VENV/bin:$PATH"
	fi
	hash -r
	if ! find_st; then
		log "schemathesis was installed but cannot be found; is python3's scripts folder on PATH?"
		exit 2
	fi
fi
log "using $ST (schemathesis $(st_version "$ST"))"

# --- a server on a free loopback port, on temporary folders, with a fake yt-dlp ----------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/offlinetube-schemathesis.XXXXXX")
SERVER_PID=
cleanup() {
	local rc=$?
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The fake yt-dlp. `--version`: a version. Lookups (`-J`, as /api/info, /api/video/info,
# /api/search and /api/trending run it): canned metadata, a search playlist for `ytsearchN:`
# targets and a video with formats otherwise. Anything else (a download): a quick failure,
# reported the way yt-dlp reports one.
cat >"$TMP/yt-dlp" <<'FAKE'
#!/bin/sh
if [ "${1:-}" = "--version" ]; then
	echo "2099.01.01"
	exit 0
fi
json=no
target=
for a in "$@"; do
	target=$a
	[ "$a" = "-J" ] && json=yes
done
if [ "$json" = yes ]; then
	case "$target" in
	ytsearch*)
		cat <<'JSON'
{"_type": "playlist", "id": "q", "title": "q", "entries": [
 {"id": "aaaaaaaaaaa", "title": "First result", "url": "https://www.youtube.com/watch?v=aaaaaaaaaaa",
  "duration": 61.0, "channel": "Someone", "view_count": 12,
  "thumbnails": [{"url": "https://i.ytimg.com/vi/aaaaaaaaaaa/hqdefault.jpg"}]},
 {"id": "bbbbbbbbbbb", "title": "Second result", "url": "https://www.youtube.com/watch?v=bbbbbbbbbbb"}
]}
JSON
		;;
	*list*)
		cat <<'JSON'
{"_type": "playlist", "id": "PL1", "title": "A playlist", "entries": [
 {"id": "ddddddddddd", "title": "One", "url": "https://www.youtube.com/watch?v=ddddddddddd", "duration": 5},
 {"id": "eeeeeeeeeee", "title": "Two", "webpage_url": "https://www.youtube.com/watch?v=eeeeeeeeeee"}
]}
JSON
		;;
	*)
		cat <<'JSON'
{"id": "ccccccccccc", "title": "A video", "description": "Canned", "duration": 3723.4,
 "uploader": "Someone", "view_count": 1000, "webpage_url": "https://www.youtube.com/watch?v=ccccccccccc",
 "thumbnail": "https://i.ytimg.com/vi/ccccccccccc/hqdefault.jpg",
 "formats": [
  {"format_id": "140", "ext": "m4a", "vcodec": "none", "acodec": "mp4a.40.2", "filesize": 1000, "protocol": "https"},
  {"format_id": "137", "ext": "mp4", "vcodec": "avc1", "acodec": "none", "height": 1080, "width": 1920, "fps": 30},
  {"format_id": "18", "ext": "mp4", "vcodec": "avc1", "acodec": "mp4a", "height": 360, "width": 640, "filesize_approx": 5000},
  {"format_id": "sb0", "ext": "mhtml", "vcodec": "none", "acodec": "none"}
 ]}
JSON
		;;
	esac
	exit 0
fi
echo "ERROR: [generic] fake yt-dlp (schema fuzzing): no network here" >&2
exit 1
FAKE
chmod +x "$TMP/yt-dlp"

# Finished media for the file endpoints: at start the server adopts files named
# `<title>__<uuid>.<ext>` as completed tasks (here a video with a thumbnail, and a two-entry
# playlist). schemathesis.toml mixes their ids and names into the generated ones, and the
# document's links lead from GET /api/downloads to them.
mkdir -p "$TMP/data/downloads" "$TMP/data/thumbnails"
VIDEO_ID=6f1c1a52-9a7e-4d8b-8f0e-2f2b3f0d1e11
LIST_ID=0f8a2c64-1d2b-4c7e-9a55-3b1e2f4d5c6a
media() {
	printf '\000\000\000\040ftypisom'
	head -c "$1" /dev/zero | tr '\000' 'x'
}
media 5000 >"$TMP/data/downloads/Seeded clip__$VIDEO_ID.mp4"
media 300 >"$TMP/data/downloads/Seeded list__${LIST_ID}_1.mp4"
media 700 >"$TMP/data/downloads/Seeded list__${LIST_ID}_2.mp4"
printf '\377\330\377\340\000\020JFIF\000' >"$TMP/data/thumbnails/$VIDEO_ID.jpg"

# A developer's OFFLINETUBE_* settings (a token, other folders) must not leak in.
for v in $(compgen -e | grep '^OFFLINETUBE_' || true); do unset "$v"; done
RUST_LOG=${RUST_LOG:-warn} "$BIN" \
	--listen 127.0.0.1:0 \
	--data-dir "$TMP/data" \
	--yt-dlp "$TMP/yt-dlp" \
	--ffmpeg "$TMP/no-ffmpeg" \
	--min-free-mb 0 \
	--thumbnail-fallback-base http://127.0.0.1:9 \
	--discovery-timeout-secs 10 \
	--ytdlp-update-cmd /bin/true \
	>"$TMP/stdout" 2>"$TMP/stderr" &
SERVER_PID=$!

BASE=
for _ in $(seq 200); do
	BASE=$(sed -n 's/^offlinetube listening on \(http:\/\/[^ ]*\)$/\1/p' "$TMP/stdout")
	[ -n "$BASE" ] && break
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		log "the server exited before listening; its stderr:"
		cat "$TMP/stderr"
		exit 1
	fi
	sleep 0.1
done
if [ -z "$BASE" ]; then
	log "the server did not say where it listens within 20 s; its stderr:"
	cat "$TMP/stderr"
	exit 1
fi
log "server $BIN listening on $BASE (pid $SERVER_PID, data in $TMP/data)"

# --- the fuzzing run ------------------------------------------------------------------------
# /api/events is an endless stream: it is left out. Everything else the document lists is in.
ARGS=(
	run "$BASE/api/openapi.json"
	--url "$BASE"
	--checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance
	--exclude-path /api/events
	--max-examples "$MAX_EXAMPLES"
	--max-failures 50
	--request-timeout 20
	--generation-database none
	--generation-with-security-parameters false
	--no-color
)
if [ -n "${SCHEMATHESIS_SEED:-}" ]; then ARGS+=(--seed "$SCHEMATHESIS_SEED"); fi
ARGS+=("${@:2}")
log "running: schemathesis --config-file $HERE/schemathesis.toml ${ARGS[*]} (time limit ${TIME_LIMIT}s)"

# schemathesis.toml mixes the seeded ids and file names into generated data; hooks.py works
# around a schemathesis bug (see there).
set +e
(cd "$TMP" && SCHEMATHESIS_HOOKS="$HERE/hooks.py" timeout --kill-after=10 "$TIME_LIMIT" \
	"$ST" --config-file "$HERE/schemathesis.toml" "${ARGS[@]}")
RC=$?
set -e

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
	log "the server died during the run; its stderr:"
	cat "$TMP/stderr"
	RC=1
elif grep -q 'panicked' "$TMP/stderr"; then
	log "a handler panicked during the run; the server's stderr:"
	cat "$TMP/stderr"
	RC=1
fi
case "$RC" in
0) log "passed" ;;
124 | 137) log "schemathesis did not finish within ${TIME_LIMIT}s" ;;
*)
	log "FAILED (exit $RC); last lines of the server's log:"
	tail -n 40 "$TMP/stderr"
	;;
esac
exit "$RC"

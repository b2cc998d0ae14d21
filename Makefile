# offlinetube — `make run` serves on the real defaults, `make test` passes the tests.
# Both install what they need first (yt-dlp from PyPI, ffmpeg from Debian) when it is missing.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := target/release/offlinetube

.PHONY: run test deps deps-test lint build clean

run: deps build
	./$(BIN)

build:
	$(CARGO) build --release

test: deps deps-test deps-cross lint
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# yt-dlp downloads the videos; ffmpeg merges video+audio, extracts audio and converts odd
# thumbnails (the tests also make their media with it).
deps:
	@if command -v yt-dlp >/dev/null 2>&1; then \
		echo "deps: yt-dlp $$(yt-dlp --version) already installed"; \
	else \
		echo "deps: installing yt-dlp from PyPI (python3 -m pip install yt-dlp)"; \
		python3 -m pip install --quiet yt-dlp || python3 -m pip install --quiet --user yt-dlp; \
		hash -r; command -v yt-dlp >/dev/null 2>&1 || { \
			echo "deps: yt-dlp was installed but is not on PATH; add $$(python3 -m site --user-base)/bin to PATH"; exit 1; }; \
	fi
	@if command -v ffmpeg >/dev/null 2>&1; then \
		echo "deps: ffmpeg already installed"; \
	else \
		echo "deps: installing ffmpeg from Debian's packages (apt-get install ffmpeg)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq ffmpeg >/dev/null; \
	fi

# What only the tests need. The browser test (tests/browser.rs) drives the web page in the
# system's headless Chromium through playwright-core, which never downloads a browser of its own.
deps-test:
	@if [ -x /usr/bin/chromium ]; then \
		echo "deps: chromium already installed"; \
	else \
		echo "deps: installing chromium from Debian's packages (apt-get install chromium), for the browser test"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi
	@if [ -d tests/browser/node_modules ]; then \
		echo "deps: tests/browser/node_modules already installed"; \
	else \
		echo "deps: installing playwright-core for the browser test (npm ci --prefix tests/browser)"; \
		npm ci --prefix tests/browser --no-audit --no-fund; \
	fi

clean:
	$(CARGO) clean

# ---------------------------------------------------------------- release binaries and benchmarks
# `make release`: static binaries for a 64-bit Pi or NAS (aarch64, musl), a PC or NAS (x86_64,
# musl) and a 32-bit Pi OS (armv7, glibc with +crt-static), in target/dist/. `make static`: the
# one for this machine. `make bench`: offlinetube against nginx, written to BENCHMARKS.md.
# Linkers are set in .cargo/config.toml; `make deps-cross` installs them.

RELEASE_TARGETS := x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf
HOST_STATIC := $(shell uname -m | sed -e 's/^arm64$$/aarch64/')-unknown-linux-musl
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
DIST := target/dist

.PHONY: release static deps-cross deps-bench bench check-static

# Rust's targets through rustup; Debian's cross gcc (linkers, and C compilers for ring),
# musl-gcc (ring's C on x86_64 musl) and qemu-user-static (runs the aarch64 binary in make test).
deps-cross:
	@missing=""; for t in $(RELEASE_TARGETS); do \
		rustup target list --installed | grep -qx "$$t" || missing="$$missing $$t"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps-cross: installing Rust targets with rustup (rustup target add$$missing)"; \
		rustup target add $$missing; \
	else \
		echo "deps-cross: Rust targets already installed"; \
	fi
	@pkgs=""; for p in gcc-aarch64-linux-gnu:aarch64-linux-gnu-gcc gcc-arm-linux-gnueabihf:arm-linux-gnueabihf-gcc \
		musl-tools:musl-gcc qemu-user-static:qemu-aarch64-static file:file; do \
		command -v "$${p#*:}" >/dev/null 2>&1 || pkgs="$$pkgs $${p%%:*}"; \
	done; \
	if [ -n "$$pkgs" ]; then \
		echo "deps-cross: installing from Debian's packages (apt-get install$$pkgs)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$pkgs >/dev/null; \
	else \
		echo "deps-cross: cross compilers, musl-tools and qemu-user-static already installed"; \
	fi

release: deps-cross
	@set -e; mkdir -p $(DIST); for t in $(RELEASE_TARGETS); do \
		echo "release: building $$t"; \
		$(CARGO) build --release --locked --target $$t; \
		$(MAKE) --no-print-directory check-static BIN_PATH=target/$$t/release/offlinetube; \
		cp target/$$t/release/offlinetube $(DIST)/offlinetube-$(VERSION)-$$t; \
	done; \
	cd $(DIST) && sha256sum offlinetube-$(VERSION)-* > SHA256SUMS && ls -l offlinetube-$(VERSION)-*

static: deps-cross
	$(CARGO) build --release --locked --target $(HOST_STATIC)
	@$(MAKE) --no-print-directory check-static BIN_PATH=target/$(HOST_STATIC)/release/offlinetube

# Fails unless BIN_PATH is statically linked and stripped; prints its size against the targets
# (x86_64 2.5 MB, aarch64 2.2 MB).
check-static:
	@desc="$$(file -b $(BIN_PATH))"; size=$$(stat -c %s $(BIN_PATH)); \
	case "$$desc" in *"statically linked"*|*"static-pie linked"*) ;; \
		*) echo "check-static: $(BIN_PATH) is not statically linked: $$desc"; exit 1;; esac; \
	case "$$desc" in *", stripped"*) ;; \
		*) echo "check-static: $(BIN_PATH) is not stripped: $$desc"; exit 1;; esac; \
	case "$(BIN_PATH)" in *x86_64*) limit=2500000;; *aarch64*) limit=2200000;; *) limit=0;; esac; \
	note=""; [ "$$limit" -gt 0 ] && [ "$$size" -gt "$$limit" ] && note=" (over the $$limit-byte target)"; \
	echo "check-static: $(BIN_PATH): static, stripped, $$size bytes$$note"

# wrk and nginx from Debian's packages (nginx is the reference server; it is started by the
# benchmark on a loopback port and stopped after it, never as a service).
deps-bench:
	@pkgs=""; for p in wrk:wrk nginx:nginx; do \
		command -v "$${p#*:}" >/dev/null 2>&1 || [ -x "/usr/sbin/$${p#*:}" ] || pkgs="$$pkgs $${p%%:*}"; \
	done; \
	if [ -n "$$pkgs" ]; then \
		echo "deps-bench: installing from Debian's packages (apt-get install$$pkgs)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$pkgs >/dev/null; \
	else \
		echo "deps-bench: wrk and nginx already installed"; \
	fi

bench: deps deps-cross deps-bench
	$(CARGO) build --release
	$(CARGO) build --release --target x86_64-unknown-linux-musl
	PATH="$$PATH:/usr/sbin" python3 bench/bench.py

# Fuzzing (not part of `make test`): the Range parser, stream path resolution and the yt-dlp
# line parser under libFuzzer, FUZZ_SECONDS each. Needs the nightly toolchain; installs
# cargo-fuzz from crates.io when it is missing.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || { echo "fuzz: installing cargo-fuzz (cargo install cargo-fuzz)"; $(CARGO) install cargo-fuzz --locked; }
	@for t in range stream_path progress_line; do \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		(cd fuzz && $(CARGO) +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	done

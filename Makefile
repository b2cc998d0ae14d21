# offlinetube — `make run` serves on the real defaults, `make test` passes the tests.
# Both install what they need first (yt-dlp from PyPI, ffmpeg from Debian) when it is missing.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := target/release/offlinetube

.PHONY: run test deps lint build clean

run: deps build
	./$(BIN)

build:
	$(CARGO) build --release

test: deps lint
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
	@# The browser test (tests/browser.rs) drives the web page in the system's headless Chromium
	@# through playwright-core, which never downloads a browser of its own.
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

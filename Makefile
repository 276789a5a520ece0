# The two commands: `make demo` and `make test`. Both set up first and are idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: setup system-packages demo test test-fast clean-generated

setup: system-packages $(STAMP)

# Debian packages, only when something is missing (needs root, or sudo).
system-packages:
	@missing=""; \
	command -v tesseract >/dev/null || missing="$$missing tesseract-ocr tesseract-ocr-eng"; \
	tesseract --list-langs 2>/dev/null | grep -qx Latin || missing="$$missing tesseract-ocr-script-latn"; \
	command -v fc-match >/dev/null || missing="$$missing fontconfig"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing:$$missing"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# torch is installed first and pinned, so nothing after it can pull a CUDA build.
$(STAMP): pyproject.toml
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	touch $(STAMP)

demo: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/asset-pipeline validate
	HF_HUB_OFFLINE=1 $(VENV)/bin/asset-pipeline run --all
	HF_HUB_OFFLINE=1 $(VENV)/bin/asset-pipeline sql "SELECT campaign, status, count(*) AS deliverables FROM publications GROUP BY ALL ORDER BY ALL"

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# Only the fast tests (no slow end-to-end marker).
test-fast: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m "not slow"

clean-generated:
	rm -rf data/catalog.duckdb* data/published data/dagster data/tables data/objects data/cache data/.locks

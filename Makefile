# Waterline — the two commands of the README live here.
#   make demo   set up .venv and run the product with Shaanxi demo data (SQLite in var/)
#   make test   set up .venv plus the system packages the tests need, then run the whole suite
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed

.PHONY: demo test venv lint typecheck clean

$(STAMP): pyproject.toml constraints.txt web-vendor/package.json web-vendor/package-lock.json
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
	@command -v npm >/dev/null || { echo "需要 Node.js 与 npm（apt-get install nodejs npm）/ Node.js and npm are needed"; exit 1; }
	cd web-vendor && npm ci --no-audit --no-fund
	touch $(STAMP)

venv: $(STAMP)

# The demo answers SIP too (extension *43 echo test; agents register with their SIP password).
DEMO_SIP ?= 127.0.0.1:5060

demo: $(STAMP)
	$(VENV)/bin/waterline demo --sip $(DEMO_SIP)

test: $(STAMP)
	bash scripts/test-deps.sh
	bash scripts/run-tests.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

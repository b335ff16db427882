# Two commands matter: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON_SYS := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_APT := $(VENV)/.apt-done
STAMP_PIP := $(VENV)/.pip-done
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)

APT_PACKAGES := qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-rasterio \
	python3-pyqt5 python3-pytest python3-pytestqt python3-hypothesis python3-venv \
	python3-matplotlib python3-pil python3-tqdm python3-psutil python3-dask python3-distributed \
	python3-threadpoolctl python3-scipy pyqt5-dev-tools qttools5-dev-tools \
	xvfb xauth zip
# torch's own dependencies, pinned as cloud_fcn_plugin/deps.py pins them for users: unpinned,
# pip keeps whatever Debian has (python3-networkx 2.8.8 where python3-skimage is installed).
TORCH_DEPENDENCIES := filelock==4.3.2 fsspec==2022.11.0 jinja2==3.1.2 MarkupSafe==2.1.2 \
	mpmath==1.3.0 networkx==3.6.1 setuptools==84.2.1 sympy==1.14.0 typing-extensions==4.16.0
PIP_PACKAGES := torch==2.13.0 safetensors==0.4.5 ruff==0.6.9 pytest-timeout==2.3.1 \
	onnxruntime==1.32.0 onnx==1.23.2 ml_dtypes==0.5.4 $(TORCH_DEPENDENCIES)
# onnxruntime: optional for users (.onnx models), tested here; onnx writes test models'
# metadata and scripts/export_onnx.py's; ml_dtypes pinned so that onnx keeps Debian's numpy.

# PyQt6 in its own virtual environment, never imported by the plugin or QGIS 3: the tests
# resolve every Qt name the plugin writes against it, as QGIS 4 (Qt 6) would.
QT6_VENV := .venv-qt6
QT6_STAMP := $(QT6_VENV)/.pip-done
QT6_PACKAGES := PyQt6==6.8.1 PyQt6-Qt6==6.8.2 PyQt6-sip==13.13.0

# Translations: the .ts sources are kept in git, the .qm files QGIS loads are built here.
I18N_DIR := cloud_fcn_plugin/i18n
LANGUAGES := fr
TS_FILES := $(LANGUAGES:%=$(I18N_DIR)/cloud_fcn_%.ts)
QM_FILES := $(TS_FILES:.ts=.qm)

export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup demo test lint bench package install screenshot peers compare-qa qt6 i18n help clean

setup: $(STAMP_PIP)

# apt only runs when a package is missing, so `make setup` is quiet and fast the second time.
$(STAMP_APT): Makefile
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(APT_PACKAGES) 2>/dev/null \
		| awk '$$4 != "installed" {print $$1}'; \
		for p in $(APT_PACKAGES); do dpkg-query -W $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$(echo $$missing | tr '\n' ' ')"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@[ -x $(PY) ] || $(PYTHON_SYS) -m venv --system-site-packages $(VENV)
	@touch $@

$(STAMP_PIP): $(STAMP_APT) Makefile
	@echo "Installing Python packages into $(VENV): $(PIP_PACKAGES)"
	@$(PY) -m pip install -qq --disable-pip-version-check $(PIP_PACKAGES)
	@touch $@

demo: setup
	@mkdir -p demo_output
	$(PY) scripts/detect.py resources/sample/LC80130312015295LGN00_B2-B5_toa_120m.tif \
		-o demo_output/cloud_mask.tif --preview demo_output/preview.png --overwrite

test: setup $(QT6_STAMP) $(QM_FILES)
	$(PY) -m ruff check .
	xvfb-run -a -s "-screen 0 1280x1024x24" $(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .

bench: setup
	$(PY) scripts/benchmark.py --size 4096 --output bench_output

package: setup $(QM_FILES)
	$(PY) scripts/package.py --output dist

# pylupdate5 collects every tr() string of the plugin (the engine has none) into the .ts
# files; translate the new ones (Qt Linguist, or by hand), then `make i18n` again compiles.
i18n: setup
	pylupdate5 -noobsolete $$(find cloud_fcn_plugin -name '*.py' -not -path '*/engine/*' | sort) \
		-ts $(TS_FILES)
	@$(MAKE) --no-print-directory $(QM_FILES)

$(I18N_DIR)/%.qm: $(I18N_DIR)/%.ts | $(STAMP_APT)
	lrelease -silent $< -qm $@

# The Help button's page, made from the algorithm's help (processing/help_text.py).
help: setup
	$(PY) scripts/make_help.py

install: setup $(QM_FILES)
	$(PY) scripts/install_dev.py

screenshot: setup $(QM_FILES)
	$(PY) scripts/screenshot.py
	$(PY) scripts/screenshot.py --panel en
	$(PY) scripts/screenshot.py --panel fr
	$(PY) scripts/workflow_picture.py

# Public models scored on our cross-validation patches. They live in their own virtual
# environment (its own numpy and onnxruntime), never in .venv, the plugin or the tests.
PEERS_VENV := .venv-peers
PEERS_PY := $(PEERS_VENV)/bin/python
PEERS_PACKAGES := ukis-csmask[cpu]==1.0.0
PEERS_OUT ?= peers_output
# e.g. PEERS_ARGS="--folds-file runs/x/cv/folds.json": the folds of a train.py --folds run
PEERS_ARGS ?=

$(PEERS_VENV)/.pip-done: Makefile
	@[ -x $(PEERS_PY) ] || $(PYTHON_SYS) -m venv $(PEERS_VENV)
	@echo "Installing $(PEERS_PACKAGES) into $(PEERS_VENV)"
	@$(PEERS_PY) -m pip install -qq --disable-pip-version-check "$(PEERS_PACKAGES)"
	@touch $@

# The network against the product's QA band on every shared whole scene: the README
# table and docs/qa_comparison/*.png (COMPARE_QA_ARGS="--weights new.safetensors" to try others).
COMPARE_QA_ARGS ?=
compare-qa: setup
	$(PY) scripts/compare_qa.py --out docs/qa_comparison --readme README.md $(COMPARE_QA_ARGS)

peers: setup $(PEERS_VENV)/.pip-done
	OMP_NUM_THREADS=1 $(PY) scripts/compare_peers.py --peer-python $(PEERS_PY) \
		--out $(PEERS_OUT) $(PEERS_ARGS)

# The tests resolve the plugin's Qt names against this PyQt6 (tests/plugin/test_qt6_compat.py).
$(QT6_STAMP): Makefile
	@[ -x $(QT6_VENV)/bin/python ] || $(PYTHON_SYS) -m venv $(QT6_VENV)
	@echo "Installing $(QT6_PACKAGES) into $(QT6_VENV)"
	@$(QT6_VENV)/bin/python -m pip install -qq --disable-pip-version-check $(QT6_PACKAGES)
	@touch $@

qt6: setup $(QT6_STAMP)
	$(PY) -m pytest -q tests/plugin/test_qt6_compat.py

clean:
	rm -rf dist demo_output bench_output peers_output .pytest_cache .ruff_cache

# The two commands of the README, and the steps they are made of.
#   make demo   install, build, and run the seed's two-site IKE VPN in namespaces
#   make test   install, build, and run every test (unit and integration)
BUILD ?= build
PY    := /usr/bin/python3

.PHONY: all bootstrap build demo demo-stop test unit integration bench clean

all: build

bootstrap:
	@scripts/bootstrap.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: bootstrap $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	scripts/demo.sh start

demo-stop:
	scripts/demo.sh stop

unit: build
	meson test -C $(BUILD) --print-errorlogs

integration: build
	$(PY) -m pytest -v -p no:cacheprovider tests/integration

test: build
	meson test -C $(BUILD) --print-errorlogs
	$(PY) -m pytest -v -p no:cacheprovider tests/integration

bench: build
	$(PY) perf/run_bench.py

clean:
	rm -rf $(BUILD)

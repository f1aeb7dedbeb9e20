# The two commands of the README, and their parts.
.PHONY: demo test check bootstrap lint stop docs role-files lock matrix

demo: ## set up, generate the sample delivery, start the embedded store and mail server, run the import
	scripts/demo

test: ## the whole test suite (CI runs this)
	scripts/test

check: ## the fast lane for a contributor: unit tests, and the tests that are neither slow nor need root
	scripts/check

bootstrap:
	scripts/bootstrap

lock: ## resolve requirements.in and requirements/*.in into the hashed locks (requirements.txt, requirements/*.txt)
	scripts/lock

matrix: ## the ansible-core matrix alone (make test runs it): LANES="2.20 2.21" picks lanes
	scripts/bootstrap
	scripts/test-matrix $(LANES)

docs: ## run the fault suite and the browser tests, and copy the table and screenshots they write (var/docs/) over docs/
	scripts/bootstrap
	rm -rf var/docs
	.venv/bin/pytest -q -p no:warnings tests/faults tests/ui
	cp var/docs/faults.md docs/faults.md
	cp var/docs/screenshots/catalog.png var/docs/screenshots/delivery.png var/docs/screenshots/report.png docs/screenshots/

role-files: ## write the health_monitor role's derived files (settings docs, defaults, config template, mail library copy)
	scripts/bootstrap
	.venv/bin/python tools/health_monitor_files.py

stop: ## stop the demo's store and mail server
	.venv/bin/python tools/services.py stop

.PHONY: bench
# BENCH_ONLY=import or BENCH_ONLY=fleet runs one of the two alone.
BENCH_ONLY ?=
bench: ## the import beside the textbook pipeline (15-30 min), then the health_monitor role's rollout to 2 and 6 lab hosts (about 6 min); BENCH_ARGS=--quick: a smoke run of both (10 products; 2 hosts once)
	scripts/bootstrap
ifneq ($(BENCH_ONLY),fleet)
	.venv/bin/python benchmarks/bench_import.py $(BENCH_ARGS)
endif
ifneq ($(BENCH_ONLY),import)
	.venv/bin/python benchmarks/bench_fleet.py $(if $(findstring --quick,$(BENCH_ARGS)),--quick) $(FLEET_BENCH_ARGS)
endif

# The two commands of the README, and their parts.
.PHONY: demo test bootstrap lint stop

demo: ## set up, generate the sample delivery, start the embedded store and mail server, run the import
	scripts/demo

test: ## the whole test suite (CI runs this)
	scripts/test

bootstrap:
	scripts/bootstrap

stop: ## stop the demo's store and mail server
	.venv/bin/python tools/services.py stop

.PHONY: bench
bench: ## the speed benchmark, the import beside the textbook pipeline (15-30 min; BENCH_ARGS=--quick: 10 products)
	scripts/bootstrap
	.venv/bin/python benchmarks/bench_import.py $(BENCH_ARGS)

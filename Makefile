.PHONY: run test setup
# Set up everything and start the assistant on its embedded defaults.
run:
	bash scripts/setup.sh
	.venv/bin/daoban serve
# Set up the same way and run the whole test suite.
test:
	bash scripts/setup.sh --browser
	bash scripts/test.sh
setup:
	bash scripts/setup.sh --browser

.PHONY: run test setup
# Set up everything and start the assistant on its embedded defaults (the demo login and licences on, unless a
# DAOBAN_CONFIG file or DAOBAN_LICENCES__PROVIDER says otherwise).
run:
	bash scripts/setup.sh
	$(if $(DAOBAN_CONFIG)$(DAOBAN_LICENCES__PROVIDER),,DAOBAN_LICENCES__PROVIDER=demo) .venv/bin/daoban serve
# Set up the same way and run the whole test suite.
test:
	bash scripts/setup.sh --browser
	bash scripts/test.sh
setup:
	bash scripts/setup.sh --browser

# The two commands of the README. Both set up .venv first (idempotent).
.PHONY: run test test-fast chat

run:
	@scripts/bootstrap.sh
	@.venv/bin/medbot run $(ARGS)

test:
	@scripts/bootstrap.sh
	@scripts/test.sh $(ARGS)

# Not in the README: quick local iteration without the trained-model tests.
test-fast:
	@scripts/bootstrap.sh
	@scripts/test.sh -m "not integration" $(ARGS)

chat:
	@scripts/bootstrap.sh
	@.venv/bin/medbot chat $(ARGS)

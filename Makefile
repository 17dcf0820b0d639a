# Tickcast: the commands a user needs. `make help` lists them.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help install up live down status test test-unit bench topics clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## install uv, the Python environment, Kafka's jars, Redis, Chromium, the dashboard build
	@bash infra/install.sh all

up: ## run the whole stack locally, offline (local Kafka + Redis, replay/synthetic data)
	@bash infra/stack.sh up

live: ## run the whole stack against live Binance
	@bash infra/stack.sh up --live

down: ## stop every service, the broker and Redis
	@bash infra/stack.sh down

status: ## what is running
	@bash infra/stack.sh status

topics: ## create the topics (safe to repeat)
	@uv run python -m tickcast create-topics

test: install ## install what is needed, then run the whole test suite
	@uv run pytest

test-unit: ## only the tests that need no broker or Redis
	@uv run pytest tests/unit

bench: install ## run every benchmark against the real broker and Redis; writes bench/results.md
	@bash infra/install.sh bench
	@uv run python bench/run_all.py

clean: ## stop everything and delete the local data (TICKCAST_HOME, default .local/)
	@bash infra/stack.sh clean

"""News-alert bot: RSS/Atom feeds -> keyword rules -> deduplicated alerts on Slack, Discord, console.

Packages by role, each importing only what is listed below it (tests/test_layers.py checks):

    __main__.py, cli.py, runner.py, service.py   entry points and the long-running service
    app.py        the one composition root: builds the concrete pieces from config and environment
    commands/     the platform-neutral `/news` command core (may also use poll/ and net/ for feed checks)
    poll/         the poll cycle: fetch, parse, normalise, store, match, enqueue
    deliver/      the outbox dispatcher, crash recovery and the platform adapters
    ops/          health and metrics endpoints, operator notices
    net/          the inbound HTTP door and the outbound address guard
    store/        SQLite persistence: the only SQL
    config/       YAML files validated into typed settings
    core/         pure decisions: no I/O, no clock reads, no asyncio
    errors.py, logs.py   the exception tree and logging set-up, importable from anywhere
"""

__version__ = "0.1.0"

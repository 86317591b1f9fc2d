"""Delivery: the outbox dispatcher (dispatch.py), settling sends a crash interrupted (recovery.py),
and the platform adapters (adapters/), which only translate.

May import bot.core, bot.config, bot.store, bot.net (the Slack HTTP door), bot.errors and
bot.logs; never the poll cycle, operations or commands (adapters get a `CommandHandler`).
"""

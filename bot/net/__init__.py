"""The bot's network edges that are not a platform: inbound.py builds every HTTP server the bot
runs (Slack HTTP mode, /healthz, /metrics) so hostile input gets a 4xx; url_safety.py keeps feed
fetches away from private and metadata addresses.

May import bot.core, bot.config, bot.errors and bot.logs; never the store, the poll cycle,
delivery, operations or commands.
"""

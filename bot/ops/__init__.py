"""Running the bot: /healthz and /metrics (health.py, metrics.py) and the operator-notice job
(notices.py: reads the inputs, lets bot.core.notices decide, posts and records the changes).

May import bot.core, bot.config, bot.store, bot.net, bot.errors and bot.logs; never the poll
cycle, delivery or commands (it posts through bot.core.platform.AlertSender).
"""

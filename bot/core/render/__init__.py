"""Pure renderers: turn alerts and replies into each platform's message format. No I/O.

Discord's renderer is bot.deliver.adapters.discord_render: it builds the discord package's Embed
objects, and the core imports no third-party package.
"""

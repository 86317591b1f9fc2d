"""Platform adapters: translate between the core and Slack, Discord and the console.

discord_render.py builds Discord's embeds; it lives here rather than in bot.core.render because it
needs the discord package's Embed type. Adapters import like the rest of bot.deliver.
"""

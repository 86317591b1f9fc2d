"""The pure core: data in, data out. Rules, story grouping, dedup keys, links, normalising, routing,
freshness and feed back-off decisions, operator-notice decisions, renderers, and the
platform seam (`platform.AlertSender`, `platform.CommandHandler`).

No I/O, no clock reads (callers pass `now`), no asyncio, no database, no network. May import only
bot.core itself, bot.errors and the standard library's pure parts; never a third-party package.
Where a decision needs configuration it declares a small Protocol of its own (`routing.Route`,
`freshness.Backlog`) that bot.config's classes satisfy.
"""

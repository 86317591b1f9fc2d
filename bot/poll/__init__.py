"""The poll cycle: fetch feeds (fetch.py), parse and match them off the event loop (feed_parse.py,
parse_pool.py), store new items and enqueue alerts (pipeline.py, which reads top-down in
`Pipeline.run_cycle`). grouping.py is the `group` command's core over the same story index;
feed_check.py is the "fetch once and parse" check behind `feeds add` and `feeds import`.

May import bot.core, bot.config, bot.store, bot.net, bot.errors and bot.logs; never delivery,
operations or commands.
"""

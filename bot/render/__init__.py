"""Pure renderers: turn alerts and replies into each platform's message format. No I/O."""

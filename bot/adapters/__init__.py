"""Platform adapters: translate between the core and Slack, Discord and the console."""

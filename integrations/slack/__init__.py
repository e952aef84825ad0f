"""Slack: the Bolt app, its listeners, installations (OAuth, encrypted tokens) and Block Kit views."""

"""Workspaces: each organisation's root, and the lookups that keep every query inside one."""

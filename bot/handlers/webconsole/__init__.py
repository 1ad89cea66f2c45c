"""The staff console on the web (§11): sign-in links, sessions, pages, served by `carebot run`."""

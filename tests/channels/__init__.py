"""Channel tests: SMS and Telegram against a real `carebot run` and fakes on loopback."""

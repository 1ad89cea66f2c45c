"""Fakes of outside services (Twilio, the Telegram Bot API) on loopback, for tests and by hand."""

"""The Telegram side: the Dispatcher with one router per feature, and the runner."""

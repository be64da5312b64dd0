"""Delivery benchmark: one digest to each of 10,000 chats through a faulty fake Bot API."""

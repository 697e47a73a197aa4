"""senders."""

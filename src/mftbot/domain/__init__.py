"""Value types and state: events, order book, orders, positions."""

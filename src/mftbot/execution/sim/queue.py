"""Queue position of a resting limit order, estimated from the book and the public trades.

Our simulated order is not in the recorded book, so where it would stand in the price-time
queue of its level is estimated:

* **Placement.** ``ahead`` = the size resting at our price on our side when the order starts
  to rest (0 at a new level: we are first). Orders that join the level later queue behind us
  and never change ``ahead``.
* **Trades at our price.** A trade at our price whose aggressor is on the other side (a
  selling taker for our bid) consumes the queue front first: ``ahead`` shrinks by the trade
  size, and what the trade had left after ``ahead`` reached 0 fills us.
* **Trades through our price.** A trade at a worse price for its taker than ours (a sale
  below our bid) could only happen once every order at our price was filled, ours included:
  the whole remainder fills.
* **Cancellations.** When a book update shows the level shrank by more than the trades at our
  price since the previous update explain, the excess is cancellations. They are assumed to be
  spread evenly over the level, so the share in front of us is ``ahead / level size``::

      cancels = max(0, (size before − size after) − traded since the last update)
      ahead  -= cancels × ahead / size before

  and ``ahead`` never exceeds the level's current size (a level that vanished leaves us at the
  front). Trades and depth come on separate streams; when a depth update that already shows a
  trade arrives before the trade, that trade is counted as a cancel too and then again as a
  trade, which moves us forward a little early: the estimate errs optimistic by at most one
  trade per update. Set ``proportional_cancels=False`` to ignore cancellations (the most
  conservative choice: only trades move the queue).
* **Book crossing.** When the other side's best price reaches our price (an ask at or below
  our bid) the real bids at our price are gone, so we would have been matched: the venue fills
  us then (see :mod:`mftbot.execution.sim.venue`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mftbot.domain.enums import Side


@dataclass(slots=True)
class QueuePosition:
    """Where one resting order stands in its level's queue (see the module doc)."""

    price: float
    is_buy: bool
    ahead: float
    level_size: float
    proportional_cancels: bool = True
    traded_since_update: float = 0.0

    @classmethod
    def place(
        cls, price: float, is_buy: bool, level_size: float, *, proportional_cancels: bool = True
    ) -> QueuePosition:
        """Join the back of a level that holds ``level_size`` (0: a new level)."""
        if not (math.isfinite(level_size) and level_size >= 0):
            raise ValueError(f"level size must be finite and >= 0, got {level_size}")
        return cls(price, is_buy, level_size, level_size, proportional_cancels)

    def crossed_by(self, opposite_best: float | None) -> bool:
        """Whether the other side's best price reached ours (we would have been matched)."""
        if opposite_best is None:
            return False
        return opposite_best <= self.price if self.is_buy else opposite_best >= self.price

    def on_trade(self, price: float, size: float, aggressor: Side) -> float:
        """Apply a public trade; return how much of it reaches us (``inf``: a trade through
        our price fills everything)."""
        if (aggressor is Side.SELL) != self.is_buy:
            return 0.0  # a taker on our own side never trades with our level
        if price == self.price:
            self.traded_since_update += size
            ahead = self.ahead
            if size <= ahead:
                self.ahead = ahead - size
                return 0.0
            self.ahead = 0.0
            return size - ahead
        through = price < self.price if self.is_buy else price > self.price
        return math.inf if through else 0.0

    def on_level_update(self, new_size: float) -> None:
        """Apply a book update of our level (``new_size`` 0: the level is gone)."""
        before = self.level_size
        if self.proportional_cancels and before > 0.0:
            cancels = (before - new_size) - self.traded_since_update
            if cancels > 0.0:
                self.ahead -= min(cancels, before) * self.ahead / before
        if self.ahead > new_size:
            self.ahead = new_size
        self.ahead = max(self.ahead, 0.0)
        self.level_size = new_size
        self.traded_since_update = 0.0

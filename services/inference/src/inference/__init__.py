"""Inference: serves the champion model on the ``features`` stream.

Feature vectors in, ``Prediction`` messages out on ``predictions`` and in Redis
(latest, capped history, live pub/sub), with recent candles for charts and
rolling live scores per model and symbol. The champion is hot-swapped when the
registry's ``champion`` alias moves.
"""

from tickcast.quiet import silence_known_notices

silence_known_notices()

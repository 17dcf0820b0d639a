"""Paper trading: each served model's forecasts turned into a simulated long/flat position per symbol.

``signal`` (the expected edge and the position it asks for), ``book`` (the accounting of one
portfolio), ``trader`` (every book, fed candles and predictions in the order they became known),
``redis_store`` (books and equity curves in Redis), ``live`` (what the service calls per batch).
Simulated only, never advice: the stored documents and the API say so.
"""

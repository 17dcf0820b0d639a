"""The exchange's public data-dump files (``data.binance.vision`` layout), read in one place.

* :mod:`.timestamps` the one rule for epoch milliseconds vs microseconds
* :mod:`.archive`    a plain or zipped CSV file as bytes or rows
* :mod:`.trades`     trades and aggTrades files, row by row as ``Trade`` (small files, tests)
* :mod:`.dump_files` trades and aggTrades files found under a folder and read in column blocks (replay)
* :mod:`.klines`     kline files as candle frames

Nothing is imported here: :mod:`.dump_files` needs pyarrow (``tickcast[dump-files]``).
"""

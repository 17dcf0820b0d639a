"""Progress bars: one short line now and then when nobody watches a terminal."""

from __future__ import annotations

import io

from tickcast.progress import progress_bar


def test_off_a_terminal_a_bar_is_a_few_plain_lines():
    out = io.StringIO()
    with progress_bar(total=30, desc="fit model", unit="epoch", file=out, mininterval=0) as bar:
        for _ in range(30):
            bar.set_postfix(loss="0.8131", val_loss="0.6162")
            bar.update(1)
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[-1].startswith("fit model: 100%") and "30/30" in lines[-1]
    assert all(len(line) <= 100 for line in lines)


def test_off_a_terminal_redraws_are_spaced_out():
    out = io.StringIO()
    with progress_bar(total=100_000, desc="synthetic", unit="trades", file=out) as bar:
        for _ in range(1_000):
            bar.update(100)
    # The first draw and the last: the 30 s interval keeps everything in between out of the log.
    assert len(out.getvalue().splitlines()) == 2

"""How models are judged: metrics, baselines, the champion gate, comparisons, reports and plots."""

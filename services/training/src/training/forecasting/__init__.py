"""Distribution, volatility and p_up forecasters: fit, score against their baselines, gate, register."""

"""The models: Keras networks, tabular regressions, one trained elsewhere, and fitting any of them."""

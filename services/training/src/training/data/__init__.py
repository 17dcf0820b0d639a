"""Labelled datasets: where feature frames come from, how they are labelled and split."""

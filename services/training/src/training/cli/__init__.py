"""What the commands of ``python -m training`` share."""

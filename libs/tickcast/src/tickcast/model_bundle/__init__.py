"""A trained model as files (bundle, scaler), loaded to predict (servable), and as an MLflow pyfunc.

Imports neither the registry nor serving: both build on it.
"""

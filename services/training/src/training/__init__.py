"""Training: labelled datasets from the offline feature store, TensorFlow models measured
against naive baselines, an MLflow (or Hopsworks) registry, and a champion gate.

Importing this package is cheap: TensorFlow and MLflow are imported only by the
functions that train, register or load models.
"""

from tickcast.quiet import silence_known_notices

silence_known_notices()

"""Third-party start-up notices that say nothing to a user of the stack, silenced at their source.

Called first thing in a service package (its ``__init__``), before the library that prints the
notice is imported. Each silencing is as narrow as it can be: one environment default a user can
still override, or one warning matched by its text and the module that issues it.
"""

from __future__ import annotations

import os
import warnings


def silence_known_notices() -> None:
    # TensorFlow's C++ INFO and WARNING lines at import (CPU instruction sets, oneDNN, and absl's
    # "messages before InitializeLog" preamble): errors still show. TF_CPP_MIN_LOG_LEVEL=0 brings
    # them back.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Authlib announces, on import by a dependency, that its httpx integration will move;
    # nothing in the stack uses it. Its own module sets an "always" filter for its warnings when
    # imported, which would come before ours: so it is imported first.
    try:
        import authlib.deprecate  # noqa: F401
    except ImportError:
        pass
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", module=r"authlib(\..*)?")
    # MLflow asks for an input example when a model is saved without one; the stack gives the
    # signature explicitly, which is what the example would be used to infer.
    warnings.filterwarnings("ignore", message=r".*An input example was not provided", module=r"mlflow(\..*)?")

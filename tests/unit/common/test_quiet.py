"""Known third-party notices are silenced narrowly: the same text from elsewhere, or other text, still shows."""

from __future__ import annotations

import os
import warnings

import pytest

from tickcast.quiet import silence_known_notices


def shown(message: str, module: str, category: type[Warning] = UserWarning) -> bool:
    with warnings.catch_warnings(record=True) as caught:
        silence_known_notices()
        warnings.warn_explicit(message, category, filename=f"{module.replace('.', '/')}.py", lineno=1,
                               module=module)
    return bool(caught)


def test_the_known_notices_are_silenced_at_their_source(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    from authlib.deprecate import AuthlibDeprecationWarning

    assert not shown("The httpx module is deprecated; please use httpx2 instead.",
                     "authlib.integrations.httpx_client.assertion_client", AuthlibDeprecationWarning)
    assert not shown("\x1b[1;33mAn input example was not provided when logging the model.", "mlflow.pyfunc")
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"


def test_other_warnings_still_show(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    from authlib.deprecate import AuthlibDeprecationWarning

    assert shown("Something else is deprecated", "authlib.jose", AuthlibDeprecationWarning)
    assert shown("An input example was not provided", "some_other_library")
    assert shown("The signature could not be inferred", "mlflow.models")
    silence_known_notices()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"  # a user's choice wins

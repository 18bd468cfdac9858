"""Handler tests leave no state behind that would make another test's result depend on test order."""

from __future__ import annotations

import os


def test_the_app_fixture_leaves_the_environment_as_it_found_it(app, tiny_artifact):
    assert os.environ.get("MODEL_DIR") != str(tiny_artifact)
    assert app.get_classifier().manifest.name == "tiny-test"  # the model read at init stays loaded

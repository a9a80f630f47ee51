"""Settings for every test, doctests in the package included."""

import os

# Set before TensorFlow is first imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

"""The inference server (data plane): hosts one Azure ML v1 entry script over HTTP.

Imports nothing from the control plane; needs only the stdlib and the ``serving`` extra.
Run it with ``python -m modelport.serving --entry-script score.py``.
"""

from modelport.serving.batching import batch

__all__ = ["batch"]

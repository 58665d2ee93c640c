"""Compatibility shims so v1 entry scripts import unchanged.

``install()`` appends a finder to the END of ``sys.meta_path``: the real ``azureml-*`` or
``inference-schema`` packages win when installed; otherwise ``azureml.contrib.services.aml_request``,
``azureml.contrib.services.aml_response``, ``azureml.core.model`` and ``inference_schema.*``
resolve to modelport's implementations in this package.
"""

from modelport.compat.finder import ALIASES, install

__all__ = ["ALIASES", "install"]

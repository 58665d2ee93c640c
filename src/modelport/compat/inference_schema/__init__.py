"""A stand-in for the ``inference-schema`` package, used when it is not installed.

Same import paths (``inference_schema.schema_decorators``, ``inference_schema.parameter_types.*``),
same decorators, parameter types, conversions, shape checks and swagger fragments (reference spec
1.6), stdlib only; numpy and pandas are imported only by their own parameter types.
"""

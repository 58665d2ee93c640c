"""Names shared with the real package."""

INPUT_SCHEMA_ATTR = "input_schema"
OUTPUT_SCHEMA_ATTR = "output_schema"
ALL_SUPPORTED_VERSIONS = ["2.0", "3.0", "3.1"]
DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %z"
TIME_FORMAT = "%H:%M:%S.%f %z"
NUMPY_FORMAT = "numpy.ndarray"
PANDAS_FORMAT = "pandas.DataFrame:{}"

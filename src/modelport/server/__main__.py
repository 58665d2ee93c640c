"""``python -m modelport.server --home DIR --host 127.0.0.1 --port N``."""

import sys

from modelport.server.main import main

sys.exit(main())

"""``python -m labs.cleanup``: delete every workshop resource on the workshop's target."""

import sys

from labs.cleanup.core import main

sys.exit(main())

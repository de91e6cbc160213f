"""PDF progress reports (COPIL, quartier, partner, annual): context, rendering, archive."""

import logging

# WeasyPrint logs every layout step at INFO (some at import time): keep the logs readable.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

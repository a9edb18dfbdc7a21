"""Run the HTTP gateway: ``python scripts/serve.py`` (settings from ``PROVENANCE_*``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.main import serve

if __name__ == "__main__":
    serve()

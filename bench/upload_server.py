"""`facetrail api` for the upload bench, with the decode memory budget it is given (0: unbounded, the baseline).

python -m bench.upload_server CONFIG PORT BUDGET_BYTES
"""

from __future__ import annotations

import sys

import uvicorn

from facetrail.api import images
from facetrail.api.app import create_app
from facetrail.config import load_config


def main(config_path: str, port: int, budget: int) -> None:
    if budget > 0:
        images.DECODE_BUDGET_BYTES = budget
    else:  # the baseline: every upload decodes at once, as before the budget
        images.DecodeBudget.sized_from_memory = classmethod(lambda cls, _pixels: cls(2**62))  # type: ignore[method-assign]
    uvicorn.run(create_app(load_config(config_path), live_alerts=False), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))

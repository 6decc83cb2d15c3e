"""`python -m raftnode --id ID --listen HOST:PORT --peers ID=HOST:PORT,... --data-dir DIR`."""

from __future__ import annotations

import sys

from raftnode.config import parse_args
from raftnode.server import main

if __name__ == "__main__":
    sys.exit(main(parse_args()))

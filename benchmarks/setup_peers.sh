#!/usr/bin/env bash
# Create (or update) benchmarks/.venv-peers: mftbot with its runtime lock plus the peer
# backtesters of benchmarks/bench_backtest.py (backtesting.py, vectorbt), all in one
# interpreter. The peers never enter the project's own environment (.venv).
#
#   bash benchmarks/setup_peers.sh            # create or update
#   bash benchmarks/setup_peers.sh --fresh    # delete and recreate
#   PYTHON=/path/to/python3.11 bash benchmarks/setup_peers.sh
#
# Then: benchmarks/.venv-peers/bin/python benchmarks/bench_backtest.py
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/benchmarks/.venv-peers"
python="${PYTHON:-python3}"

case "${1:-}" in
    "") ;;
    --fresh) rm -rf "$venv" ;;
    *) echo "usage: $0 [--fresh]" >&2; exit 2 ;;
esac

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: $python is not Python >= 3.11 (set PYTHON=...)" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)

# One resolve over both files: a peer that needed another numpy / numba / pandas than the
# lock pins would fail here instead of silently replacing it.
"${pip[@]}" install -r "$root/requirements/runtime.lock" -r "$root/benchmarks/peers-requirements.txt"
"${pip[@]}" install --no-deps -e "$root"
"${pip[@]}" check

"$venv/bin/python" - <<'EOF'
import backtesting
import numba
import numpy
import pandas
import vectorbt

import mftbot.backtest.api  # noqa: F401

print(
    f"benchmarks/.venv-peers ready: numpy {numpy.__version__}, numba {numba.__version__}, "
    f"pandas {pandas.__version__}, backtesting {backtesting.__version__}, "
    f"vectorbt {vectorbt.__version__}"
)
EOF

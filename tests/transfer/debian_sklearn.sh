#!/usr/bin/env bash
# Runs a command with Debian 12's scikit-learn (python3-sklearn 1.2.1) importable, for sklearn_reference.py.
# `apt-get install python3-sklearn` cannot be used beside this project's libboost1.81-dev: python3-scipy
# depends on python3-pythran, which depends on libboost-dev (1.74), which conflicts with 1.81. The Python
# code needs neither pythran nor Boost at run time, so the Debian packages are unpacked (dpkg -x) into a
# private folder instead of installed. Nothing here runs in the test suite: its reference numbers are
# committed (tests/data/digits/fit_reference.json).
#   tests/transfer/debian_sklearn.sh /usr/bin/python3 tests/transfer/sklearn_reference.py
set -euo pipefail
DIR=${VISBONE_SKLEARN_DIR:-/tmp/visbone-debian-sklearn}
if [ ! -d "$DIR/root/usr/lib/python3/dist-packages/sklearn" ]; then
  mkdir -p "$DIR" && cd "$DIR"
  apt-get download python3-sklearn python3-sklearn-lib python3-scipy python3-joblib python3-threadpoolctl \
    python3-decorator liblbfgsb0
  for d in *.deb; do dpkg -x "$d" root; done
  cd - > /dev/null
fi
export PYTHONPATH="$DIR/root/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$DIR/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$@"

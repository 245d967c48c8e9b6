"""`python -m mlagents_fast`: the same as `mlagents-learn`."""

import sys

from mlagents_fast.learn import main

sys.exit(main())

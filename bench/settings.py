"""Settings of the benchmarks: the product settings plus a bench-only URLconf (``bench/urls.py``).

The bare endpoint of ``bench/signing.py`` lives only here, never in the product URLs.
"""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

"""A container health check: ``python3 -m assistant.probe URL`` exits 0 when URL answers 2xx.

Standard library only, so a probe every few seconds costs a bare interpreter start, not the
app's imports. Each argument is one word on purpose: podman-compose rewrites a health check's
``CMD`` list into one shell string and breaks arguments holding spaces or quotes (``python3 -c
"import urllib ..."`` failed that way), so ``compose.yaml`` names this module instead.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_S = 3.0


def main(argv: list[str]) -> int:
    """0 when every URL in ``argv`` answers with a 2xx status, 1 otherwise (and why, on stderr)."""
    if not argv:
        print("usage: python3 -m assistant.probe URL [URL ...]", file=sys.stderr)
        return 2
    for url in argv:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                if not 200 <= response.status < 300:
                    print(f"{url}: HTTP {response.status}", file=sys.stderr)
                    return 1
        except (urllib.error.URLError, OSError, ValueError) as exc:
            print(f"{url}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

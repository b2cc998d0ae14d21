"""Schemathesis hooks for tests/schemathesis/run.sh (loaded through SCHEMATHESIS_HOOKS).

Works around a bug of schemathesis 4.32.5: after each scenario it scans 2xx JSON bodies for
same-origin URLs to infer links, and `urllib.parse.urlsplit` raises ValueError on strings such
as "http://[x" ("Invalid IPv6 URL") or hosts that change under NFKC. A task echoes the URL it
was given, and the server rightly accepts such URLs, so a fuzzed URL could abort the whole run
with an internal error. A string that cannot be parsed is simply not a link.
"""

try:
    from schemathesis.engine import observations as _observations
except ImportError:  # another schemathesis version: nothing to patch
    _observations = None

if _observations is not None and hasattr(_observations, "_same_origin_path"):
    _same_origin_path = _observations._same_origin_path

    def _tolerant_same_origin_path(value, origin):
        try:
            return _same_origin_path(value, origin)
        except ValueError:
            return None

    _observations._same_origin_path = _tolerant_same_origin_path

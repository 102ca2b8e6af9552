"""Downloads a source distribution from PyPI's simple index and checks its SHA-256.

Used for sdists that `pip download` cannot fetch because it must first build their
metadata (basicsr 1.4.2's setup.py pulls torch and CUDA packages for that). Same
registry, same file pip would get, checked against the hash the index publishes.

    python3 tools/models/fetch_sdist.py basicsr 1.4.2 DEST_DIR
"""
import hashlib
import os
import re
import sys
import urllib.request

name, version, dest = sys.argv[1], sys.argv[2], sys.argv[3]
index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
html = urllib.request.urlopen(f"{index}/{name}/").read().decode()
filename = f"{name}-{version}.tar.gz"
match = re.search(r'href="([^"]*/' + re.escape(filename) + r'[^"]*)"', html)
if not match:
    sys.exit(f"fetch_sdist: {filename} not found in {index}/{name}/")
url, _, fragment = match.group(1).partition("#")
data = urllib.request.urlopen(url).read()
expected = fragment.split("sha256=")[-1] if "sha256=" in fragment else None
if expected and hashlib.sha256(data).hexdigest() != expected:
    sys.exit(f"fetch_sdist: SHA-256 mismatch for {filename}")
os.makedirs(dest, exist_ok=True)
with open(os.path.join(dest, filename), "wb") as f:
    f.write(data)

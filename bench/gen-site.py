#!/usr/bin/env python3
"""gen-site.py — writes a git fast-import stream for the browsing benchmarks:
one commit on main, the same bytes (and so the same commit id) on every run.

    blob-1k.txt        exactly 1,024 bytes of text   (blob by SHA, 1 KiB)
    blob-64k.txt       exactly 65,536 bytes of text  (blob by SHA, 64 KiB)
    wide/              320 entries: 300 files and 20 directories (tree listing)
    README             a line saying what this is

Usage: gen-site.py | git fast-import --quiet
"""
import random
import sys

WORDS = ("plue forge tree blob commit cache stream worker arena buffer route "
         "header token scope event queue runner sandbox agent model").split()


def text(rng, size):
    """Lines of words, cut to exactly size bytes, ending in a newline."""
    out = []
    n = 0
    while n < size:
        ln = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 12))) + "\n"
        out.append(ln)
        n += len(ln)
    s = "".join(out)[: size - 1] + "\n"
    assert len(s.encode()) == size
    return s


def data(out, payload):
    raw = payload.encode()
    out.write(b"data %d\n" % len(raw))
    out.write(raw)
    out.write(b"\n")


def main():
    rng = random.Random(7)
    out = sys.stdout.buffer
    out.write(b"feature done\ncommit refs/heads/main\n")
    who = "Bench Author <bench@example.com> 1700000000 +0000\n"
    out.write(("author " + who + "committer " + who).encode())
    data(out, "browsing benchmark fixtures\n")

    def put(path, payload):
        out.write(b"M 100644 inline %s\n" % path.encode())
        data(out, payload)

    put("README", "Fixtures for plue's browsing benchmarks (bench/run.sh).\n")
    put("blob-1k.txt", text(rng, 1024))
    put("blob-64k.txt", text(rng, 65536))
    for i in range(300):
        put("wide/file-%03d.txt" % i, text(rng, rng.randrange(64, 4096)))
    for i in range(20):
        put("wide/dir-%02d/index.txt" % i, text(rng, 256))
    out.write(b"\ndone\n")


if __name__ == "__main__":
    main()

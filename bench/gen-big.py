#!/usr/bin/env python3
"""gen-big.py — writes a git fast-import stream for the clone benchmark: a
repository with a long history and 110k+ objects, the same bytes on every run.

Shape: one initial commit of 9,600 source-like files (80 modules x 120 files
under src/), then COMMITS commits that each edit 12 files spread over 3
modules. Every edit inserts a line naming its commit, so every blob and tree
is new and the object count is exact:

    initial   9,600 blobs + 80 module trees + src + root + commit =  9,683
    each      12 blobs + 3 module trees + src + root + commit      =     18
    5,600 commits -> 9,683 + 100,800                               = 110,483

Usage: gen-big.py [COMMITS] | git fast-import --quiet   (default 5600)
"""
import random
import sys

MODULES = 80
FILES = 120
EDITS = 12          # files per commit
MODS_PER_COMMIT = 3  # modules per commit (EDITS / MODS_PER_COMMIT files each)
EPOCH = 1700000000  # first commit time; each commit is 10 minutes later

WORDS = ("alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega "
         "buffer arena cursor index parse emit flush merge split commit tree "
         "blob object packet header stream worker queue event token scope").split()


def line(rng, tag):
    a, b, c = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
    return "\t%s_%s(%s, %d); /* %s %s */\n" % (a, b, tag, rng.randrange(100000), c, a)


def initial_file(rng, m, f):
    head = ["/* src/mod%02d/file%03d.c */\n" % (m, f), "#include \"mod%02d.h\"\n\n" % m,
            "int mod%02d_fn%03d(void)\n{\n" % (m, f)]
    body = [line(rng, "x%d" % i) for i in range(rng.randrange(20, 60))]
    return head + body + ["\treturn 0;\n}\n"]


def data(out, payload):
    raw = payload.encode()
    out.write(b"data %d\n" % len(raw))
    out.write(raw)
    out.write(b"\n")


def main():
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 5600
    rng = random.Random(20240101)
    out = sys.stdout.buffer
    out.write(b"feature done\n")
    files = {}
    when = EPOCH

    def header(msg):
        nonlocal when
        out.write(b"commit refs/heads/main\n")
        who = "Bench Author <bench@example.com> %d +0000\n" % when
        out.write(("author " + who + "committer " + who).encode())
        data(out, msg)
        when += 600

    header("initial import\n")
    for m in range(MODULES):
        for f in range(FILES):
            path = "src/mod%02d/file%03d.c" % (m, f)
            files[path] = initial_file(rng, m, f)
            out.write(b"M 100644 inline %s\n" % path.encode())
            data(out, "".join(files[path]))
    out.write(b"\n")

    per_mod = EDITS // MODS_PER_COMMIT
    for n in range(1, commits + 1):
        mods = rng.sample(range(MODULES), MODS_PER_COMMIT)
        header("change %d: touch modules %s\n" % (n, ", ".join("mod%02d" % m for m in mods)))
        for m in mods:
            for f in rng.sample(range(FILES), per_mod):
                path = "src/mod%02d/file%03d.c" % (m, f)
                body = files[path]
                at = rng.randrange(4, len(body) - 2)
                if rng.random() < 0.5 and len(body) > 12:
                    body[at] = line(rng, "c%d" % n)  # replace a line
                else:
                    body.insert(at, line(rng, "c%d" % n))  # add a line
                out.write(b"M 100644 inline %s\n" % path.encode())
                data(out, "".join(body))
        out.write(b"\n")
    out.write(b"done\n")


if __name__ == "__main__":
    main()

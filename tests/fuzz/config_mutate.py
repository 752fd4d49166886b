#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The config mutator: random mutants of the shipped guiloopd.ini, each checked
with `guiloopd --config MUTANT --check-config`.

Every mutant must exit 0 (a valid file: the effective configuration on
stdout) or 78 with exactly one line on stderr, `MUTANT:LINE: reason` -- never
another code, a crash, a hang, or a message without its line.  A fixed seed
and number of mutants make a run repeatable.

    tests/fuzz/config_mutate.py --guiloopd build/daemon/guiloopd --mutants 2000 --seed 1
"""
import argparse
import collections
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parents[2]
SHIPPED = SOURCE_DIR / "conf" / "guiloopd.ini"

KEYS = {
    "daemon": ["toolkit", "tk_guest", "instance", "plugin_dir", "allow_uids", "shutdown_grace"],
    "python": ["startup", "path", "switch_interval", "matplotlib"],
    "execution": ["timeout", "queue_limit", "max_output", "capture_fd", "keep_results"],
}
VALUES = ["", "0", "1", "-1", "true", "false", "yes", "no", "on", "off", "TRUE", "gtk", "qt",
          "wx", "tk", "gtk4", "qt6", "nope", "1e9", "1e999", "nan", "inf", "-0", "0.0001",
          "18446744073709551615", "18446744073709551616", "4294967296", "99999999999999999999",
          "0x10", "010", " 5 ", "5;comment", "5 # comment", "a_b", "1abc", "é", "1,2,3",
          "0,65534", ",", "1,,2", "/tmp", "relative/path", "\\", '"quoted"', "'x'", "=", "[x]"]


def mutate(rng, text):
    """One random mutant (bytes) of text (str): 1-4 edits of many kinds."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(12)
        i = rng.randrange(len(lines)) if lines else 0
        if op == 0 and lines:  # a key set to a random value
            sec = rng.choice(list(KEYS))
            lines.insert(i, f"{rng.choice(KEYS[sec])} = {rng.choice(VALUES)}")
        elif op == 1:  # a section, known or not
            lines.insert(i, rng.choice(["[daemon]", "[python]", "[execution]", "[Daemon]",
                                        "[nope]", "[", "[]", "[daemon", "[ daemon ]"]))
        elif op == 2 and lines:
            del lines[i]
        elif op == 3 and lines:  # a line twice (duplicate key)
            lines.insert(i, lines[i])
        elif op == 4 and len(lines) > 1:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 5 and lines:  # a character deleted, inserted or replaced
            s = lines[i]
            k = rng.randint(0, len(s))
            c = rng.choice("=[]#;: \t\r\x00\x7fé\\\"'ab19")
            lines[i] = rng.choice([s[:k] + c + s[k:], s[:k] + s[k + 1:], s[:k] + c + s[k + 1:]])
        elif op == 6:  # a long line
            lines.insert(i, rng.choice(["toolkit = ", "# ", "x", "instance = a"])
                         + "x" * rng.choice([200, 4000, 70000]))
        elif op == 7:  # an unknown key
            lines.insert(i, f"{rng.choice(['tookit', 'Toolkit', 'x', '', ' ', 'a b'])} = 1")
        elif op == 8 and lines:  # a value uncommented
            lines[i] = lines[i].lstrip("#; ")
        elif op == 9:  # no '=' at all
            lines.insert(i, rng.choice(["toolkit", "just words", "=", "= value", "key =="]))
        elif op == 10 and lines:  # truncated
            lines = lines[:i]
        else:  # continuation lines, BOM, CRLF
            lines.insert(i, rng.choice(["  indented = 1", "\ufeff[daemon]", "toolkit = gtk\r",
                                        "\tcontinued"]))
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if rng.random() < 0.05:  # invalid UTF-8 somewhere
        k = rng.randint(0, len(data))
        data = data[:k] + bytes([rng.choice([0xff, 0xc3, 0x80, 0xed])]) + data[k:]
    return data


def run(guiloopd, env, tmp, seed=1, mutants=1000, timeout=10):
    rng = random.Random(seed)
    base = SHIPPED.read_text()
    counts = collections.Counter()
    bad = []
    path = Path(tmp) / "mutant.ini"
    for n in range(mutants):
        data = mutate(rng, base)
        path.write_bytes(data)
        try:
            p = subprocess.run([str(guiloopd), "--config", str(path), "--check-config"],
                               env=env, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            bad.append({"mutant": n, "why": "hung", "file": data[:2000].decode("latin-1")})
            continue
        err = p.stderr.decode("utf-8", "backslashreplace")
        lines = err.splitlines()
        counts[f"exit_{p.returncode}"] += 1
        if p.returncode == 0:
            continue
        if (p.returncode == 78 and len(lines) == 1
                and re.match(rf"^{re.escape(str(path))}:\d+: \S", lines[0])):
            counts["reason " + re.sub(r"'.*", "'…'", lines[0].split(": ", 1)[1])[:48]] += 1
            continue
        bad.append({"mutant": n, "exit": p.returncode, "stderr": err[:500],
                    "file": data[:2000].decode("latin-1")})
    result = {"mutants": mutants, "exit_0": counts.pop("exit_0", 0),
              "exit_78": counts.pop("exit_78", 0), "bad": bad}
    result["other"] = dict(counts.most_common(12))
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--guiloopd", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mutants", type=int, default=1000)
    a = ap.parse_args()
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    with tempfile.TemporaryDirectory() as tmp:
        r = run(a.guiloopd, env, tmp, a.seed, a.mutants)
    print(json.dumps(r, indent=1))
    return 0 if not r["bad"] else 1


if __name__ == "__main__":
    sys.exit(main())

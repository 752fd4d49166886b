#!/usr/bin/python3
"""Turn a text file into a C header holding it as one string constant.

usage: embed.py NAME INPUT OUTPUT
"""
import sys

name, src, dst = sys.argv[1:4]
with open(src, encoding="utf-8") as f:
    text = f.read()
lines = [f"/* generated from {src.rsplit('/', 1)[-1]} by embed.py; do not edit */",
         "#pragma once", f"static const char {name}[] ="]
for line in text.splitlines(keepends=True):
    escaped = line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    lines.append(f'        "{escaped}"')
lines[-1] += ";"
if not text:
    lines.append('        "";')
with open(dst, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")

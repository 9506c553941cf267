#!/usr/bin/env python3
"""Fold `perf script` output into stacks and draw a flame graph (SVG), no dependencies.

    perf record -e cpu-clock -F 499 -g -p <pid> -o perf.data -- sleep 20
    perf script -i perf.data | loadtest/flame.py loadtest/target/flame-<name>

writes <out>.folded (one "frame;frame;frame count" line per stack, inferno/FlameGraph's
input format), <out>.svg, and prints the 40 functions with the most samples on their own
(self) and anywhere on the stack (total).
"""
import collections
import html
import re
import sys


def fold(lines):
    stacks = collections.Counter()
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                stacks[";".join(reversed(frames))] += 1
            frames = []
            continue
        if not line.startswith((" ", "\t")):
            frames = []  # the sample's header line: comm pid time event
            continue
        parts = line.strip().split(" ", 1)
        name = parts[1] if len(parts) > 1 else parts[0]
        name = re.sub(r"\+0x[0-9a-f]+", "", name)
        name = re.sub(r" \(.*\)$", "", name)
        name = re.sub(r"::h[0-9a-f]{16}$", "", name)
        frames.append(name.replace(";", ":"))
    if frames:
        stacks[";".join(reversed(frames))] += 1
    return stacks


def svg(stacks, path, width=1600, row=16):
    root = {"n": 0, "c": {}}
    for stack, count in stacks.items():
        node = root
        node["n"] += count
        for frame in stack.split(";"):
            node = node["c"].setdefault(frame, {"n": 0, "c": {}})
            node["n"] += count
    total = max(root["n"], 1)
    out = []
    depth_max = [0]

    def walk(node, x, depth):
        for name, child in sorted(node["c"].items()):
            w = child["n"] / total * width
            if w >= 0.3:
                depth_max[0] = max(depth_max[0], depth)
                hue = 20 + (hash(name) % 40)
                label = html.escape(name)
                short = label[: int(w / 7)] if w > 20 else ""
                out.append(
                    f'<g><title>{label} ({child["n"]} samples, {child["n"] * 100 / total:.1f}%)</title>'
                    f'<rect x="{x:.1f}" y="{{Y{depth}}}" width="{w:.1f}" height="{row - 1}" fill="hsl({hue},90%,60%)"/>'
                    f'<text x="{x + 2:.1f}" y="{{T{depth}}}" font-size="11">{short}</text></g>'
                )
                walk(child, x, depth + 1)
            x += w

    walk(root, 0.0, 0)
    height = (depth_max[0] + 2) * row
    body = "\n".join(out)
    for d in range(depth_max[0] + 1):
        y = height - (d + 1) * row
        body = body.replace(f"{{Y{d}}}", str(y)).replace(f"{{T{d}}}", str(y + row - 4))
    with open(path, "w") as f:
        f.write(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace">\n'
            f"{body}\n</svg>\n"
        )


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "flame"
    stacks = fold(sys.stdin)
    with open(out + ".folded", "w") as f:
        for stack, count in stacks.most_common():
            f.write(f"{stack} {count}\n")
    svg(stacks, out + ".svg")
    total = sum(stacks.values())
    own = collections.Counter()
    anywhere = collections.Counter()
    for stack, count in stacks.items():
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
    print(f"{total} samples")
    print("self %  function")
    for name, n in own.most_common(40):
        print(f"{n * 100 / total:6.1f}  {name[:150]}")
    print("total %  function")
    for name, n in anywhere.most_common(60):
        print(f"{n * 100 / total:6.1f}  {name[:150]}")


if __name__ == "__main__":
    main()

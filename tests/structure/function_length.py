#!/usr/bin/env python3
"""Lists C++ functions longer than a limit (default 80 lines, signature to closing brace).

    function_length.py [--max N] DIR_OR_FILE...   exit 1 and one line per offender, 0 when none

A small brace scanner, not a compiler: comments, string and character literals are blanked first; a '{' opens
a function body when its scope is a namespace, a class or the file, and the text before it (back to the last
';', '{' or '}') is a declarator: it has a parameter list and is not an initialiser (`= {`), a class, enum or
namespace head. Bodies of lambdas and local classes count towards the function that holds them.
"""
import argparse
import os
import re
import sys

EXTENSIONS = (".h", ".hh", ".hpp", ".cc", ".cpp", ".cxx")


def blank_comments_and_literals(text):
    """The text with comments, string and char literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(c)  # digit separator: 1'000'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        elif c == "#" and (i == 0 or text[i - 1] == "\n" or text[:i].rsplit("\n", 1)[-1].strip() == ""):
            # preprocessor line (with continuations): not code for this scan
            j = i
            while True:
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


HEAD_KEYWORDS = re.compile(r"\b(namespace|class|struct|union|enum)\b")


def function_name(head):
    """The declarator's name, e.g. `ProbeLoop::run_once` or `operator<<`: the identifier before the first '('
    that is outside template arguments (`std::function<void(int)> make()` is `make`)."""
    m = re.search(r"((?:[A-Za-z_~][A-Za-z0-9_]*::)*operator\s*(?:\(\)|[^\s(]+))\s*\(", head)
    if m:
        return m.group(1)
    angle = 0
    for i, ch in enumerate(head):
        if ch == "<":
            angle += 1
        elif ch == ">" and angle > 0:
            angle -= 1
        elif ch == "(" and angle == 0:
            m = re.search(r"((?:[A-Za-z_~][A-Za-z0-9_]*::)*~?[A-Za-z_][A-Za-z0-9_]*)\s*$", head[:i])
            if m:
                return m.group(1)
    return " ".join(head.split())[:60]


def classify(head):
    """'function', 'scope' (namespace/class/struct/enum/extern) or 'other' for the text before a '{'."""
    h = " ".join(head.split())
    if not h:
        return "other"
    if re.match(r'^extern\b', h) and "(" not in h:
        return "scope"
    if HEAD_KEYWORDS.search(h) and "(" not in h.split("{")[0].split(":")[0]:
        return "scope"
    if "(" not in h:
        return "other"
    # an initialiser: `= {` or `= [...](...) {` (a lambda stored in a variable)
    depth = 0
    for i, ch in enumerate(h):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "=" and depth == 0:
            prev = h[max(0, i - 9):i]
            nxt = h[i + 1:i + 2]
            if "operator" in prev or nxt == "=" or h[i - 1:i] in "=!<>":
                continue
            # `= default` / `= delete` do not open a body; anything else is an initialiser
            return "other"
    if re.match(r"^(if|for|while|switch|catch|do|else|return)\b", h):
        return "other"
    return "function"


def functions(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    code = blank_comments_and_literals(text)
    line_of = []
    line = 1
    for ch in code:
        line_of.append(line)
        if ch == "\n":
            line += 1
    stack = []  # (kind, start_line, name)
    last_end = 0  # index just after the last ';', '{' or '}'
    for i, ch in enumerate(code):
        if ch == "{":
            enclosing = stack[-1][0] if stack else "scope"
            head = code[last_end:i]
            if enclosing == "scope":
                kind = classify(head)
                if kind == "function":
                    offset = len(head) - len(head.lstrip())
                    # an access specifier or a label ends with ':' before the declarator
                    start = last_end + offset
                    stack.append(("function", line_of[start], function_name(head)))
                else:
                    stack.append((kind, line_of[i], ""))
            else:
                stack.append(("inner", line_of[i], ""))
            last_end = i + 1
        elif ch == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind == "function":
                    yield name, start, line_of[i]
            last_end = i + 1
        elif ch == ";":
            last_end = i + 1
        elif ch == ":" and stack and stack[-1][0] == "scope":
            # `public:` / `private:` / `protected:` end a class member run
            before = code[last_end:i].strip()
            if before in ("public", "private", "protected"):
                last_end = i + 1


def sources(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("build", "node_modules"))
            for f in sorted(files):
                if f.endswith(EXTENSIONS):
                    yield os.path.join(root, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=80)
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    offenders = []
    for path in sources(a.paths):
        for name, start, end in functions(path):
            length = end - start + 1
            if length > a.max:
                offenders.append((path, start, name, length))
    for path, start, name, length in offenders:
        print(f"{path}:{start}: {name} is {length} lines (limit {a.max})")
    if offenders:
        print(f"function_length: {len(offenders)} function(s) over {a.max} lines")
        return 1
    print(f"function_length: no function over {a.max} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Dead-link check of the repository's Markdown: README.md, docs/*.md and every README.md below the tree.

Checked, outside fenced code blocks:
  - relative Markdown links [text](path), [text](path#anchor), [text](#anchor) and reference definitions
    [id]: path: the file (or folder) must exist, relative to the page; an anchor must be a heading of the
    target page (GitHub's slugs: lower case, punctuation dropped, spaces to hyphens, -1, -2 ... for repeats)
    or an explicit <a name/id>;
  - repository paths in inline code (`service/judge/verdict.h`, `kubectl apply -k manifests/base`) and file
    names with an extension in prose (docs/faults.md): relative to the repository root, they must exist.
And the README's budget: at most README_MAX_LINES lines, and a link to every docs/*.md page.

Usage: check_links.py [--root DIR]   (default: the repository holding this script)
Exit 0 when all is well; else 1, each problem as file:line: message.
"""

import argparse
import os
import re
import sys
import unicodedata

README_MAX_LINES = 250
# Top-level folders whose paths are checked when they appear in inline code or prose.
REPO_DIRS = ("service", "probes", "scripts", "tests", "manifests", "docs", "dashboards")
SKIP_DIRS = {".git", "build", "build-asan", "node_modules", ".cache"}

FENCE = re.compile(r"^\s{0,3}(```|~~~)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)
# [text](target) and ![alt](target); the target ends at the first space (an optional "title" follows).
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
PATH_TOKEN = re.compile(r"(?<![\w./<>-])((?:%s)/[\w.+/-]*[\w/+])" % "|".join(REPO_DIRS))
PROSE_FILE = re.compile(r"(?<![\w./<>-])((?:%s)/[\w.+/-]*\.[A-Za-z]{1,5})(?![\w/])" % "|".join(REPO_DIRS))
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def markdown_files(root):
    """README.md, docs/*.md and every other README.md in the tree, as paths relative to root."""
    found = []
    if os.path.isfile(os.path.join(root, "README.md")):
        found.append("README.md")
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        found += sorted("docs/" + f for f in os.listdir(docs) if f.endswith(".md"))
    for d in REPO_DIRS:
        if d == "docs":
            continue
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            dirnames[:] = sorted(x for x in dirnames if x not in SKIP_DIRS)
            if "README.md" in filenames:
                found.append(os.path.relpath(os.path.join(dirpath, "README.md"), root))
    return found


def prose_lines(text):
    """(line number, line) for every line outside fenced code blocks."""
    out, fence = [], None
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is None:
            out.append((n, line))
    return out


def slug(heading_text):
    """GitHub's anchor for a heading: the rendered text, lower case, punctuation other than - and _ dropped,
    each space a hyphen."""
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading_text)  # links -> their text
    t = re.sub(r"<[^>]+>", "", t)  # inline HTML
    t = t.replace("`", "").lower()
    kept = []
    for ch in t:
        cat = unicodedata.category(ch)
        if ch in "-_" or ch == " " or cat[0] in ("L", "N") or cat == "Mn":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def anchors(text):
    seen, out = {}, set()
    for _, line in prose_lines(text):
        m = HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            out.add(base if n == 0 else "%s-%d" % (base, n))
            seen[base] = n + 1
        for a in HTML_ANCHOR.findall(line):
            out.add(a)
    return out


def without_code_spans(line):
    return CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)


class Checker:
    def __init__(self, root):
        self.root = root
        self.problems = []
        self._anchors = {}

    def problem(self, page, line, message):
        self.problems.append("%s:%d: %s" % (page, line, message))

    def page_anchors(self, path):
        if path not in self._anchors:
            with open(path, encoding="utf-8") as f:
                self._anchors[path] = anchors(f.read())
        return self._anchors[path]

    def check_link(self, page, line, target):
        """A Markdown link target of `page`; returns the resolved file (relative to root) or None."""
        if not target or SCHEME.match(target) or target.startswith("//"):
            return None
        path, _, anchor = target.partition("#")
        if path.startswith("/"):
            self.problem(page, line, "absolute link %s (write it relative to the page)" % target)
            return None
        full = os.path.normpath(os.path.join(self.root, os.path.dirname(page), path)) if path else \
            os.path.join(self.root, page)
        if not os.path.exists(full):
            self.problem(page, line, "dead link %s: no such file or folder" % target)
            return None
        if anchor and os.path.isfile(full) and full.endswith(".md"):
            if anchor not in self.page_anchors(full):
                self.problem(page, line, "dead link %s: no heading with anchor #%s in %s" %
                             (target, anchor, os.path.relpath(full, self.root)))
        return os.path.relpath(full, self.root)

    def check_repo_path(self, page, line, token, where):
        token = token.rstrip(".,;:")
        if any(c in token for c in "*<>{}$"):
            return  # a pattern or a placeholder, not a path
        path = token.split("#", 1)[0]
        if not os.path.exists(os.path.join(self.root, path)):
            self.problem(page, line, "%s names %s, which does not exist" % (where, path))

    def check_page(self, page):
        """Checks one page; returns the set of files (relative to root) it links to."""
        with open(os.path.join(self.root, page), encoding="utf-8") as f:
            text = f.read()
        linked = set()
        for n, line in prose_lines(text):
            outside = without_code_spans(line)
            targets = INLINE_LINK.findall(outside)
            m = REF_DEF.match(outside)
            if m:
                targets.append(m.group(1))
            for t in targets:
                resolved = self.check_link(page, n, t)
                if resolved:
                    linked.add(resolved)
            for m in CODE_SPAN.finditer(line):
                for token in PATH_TOKEN.findall(m.group(2)):
                    self.check_repo_path(page, n, token, "inline code")
            prose = INLINE_LINK.sub(" ", outside)
            for token in PROSE_FILE.findall(prose):
                self.check_repo_path(page, n, token, "text")
        return linked

    def check_readme(self, linked):
        path = os.path.join(self.root, "README.md")
        if not os.path.isfile(path):
            self.problem("README.md", 0, "missing")
            return
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        if len(lines) > README_MAX_LINES:
            self.problem("README.md", len(lines), "%d lines, more than the budget of %d: move detail to docs/" %
                         (len(lines), README_MAX_LINES))
        docs = os.path.join(self.root, "docs")
        pages = sorted(f for f in os.listdir(docs) if f.endswith(".md")) if os.path.isdir(docs) else []
        for p in pages:
            if "docs/" + p not in linked:
                self.problem("README.md", 0, "does not link docs/%s (the README indexes every docs/ page)" % p)

    def run(self):
        readme_links = set()
        for page in markdown_files(self.root):
            links = self.check_page(page)
            if page == "README.md":
                readme_links = links
        self.check_readme(readme_links)
        return self.problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    args = ap.parse_args()
    problems = Checker(os.path.abspath(args.root)).run()
    for p in problems:
        print(p)
    if problems:
        print("%d problem%s in the Markdown links and paths" % (len(problems), "" if len(problems) == 1 else "s"))
        return 1
    print("links and paths: all good")
    return 0


if __name__ == "__main__":
    sys.exit(main())

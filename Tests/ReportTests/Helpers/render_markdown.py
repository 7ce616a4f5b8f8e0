"""Renders a Markdown file with markdown-it-py (CommonMark + GFM tables) and prints the HTML."""
import sys

from markdown_it import MarkdownIt

with open(sys.argv[1], encoding="utf-8") as handle:
    text = handle.read()
sys.stdout.write(MarkdownIt("commonmark").enable("table").render(text))

"""hpsearch.htmlpage: the style and script are package files, inlined in each page and
allowed by their hashes, and nothing else."""

import base64
import hashlib
import re

import pandas as pd

from hpsearch import htmlpage


def sha256(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_page_inlines_its_files_and_allows_only_them():
    css, script = htmlpage.asset("page.css"), htmlpage.asset("sortable.js")
    assert "table.sortable" in css and "sortTable" in script
    text = htmlpage.page("a <title>", htmlpage.note("x"), nav=[("a", "A")])
    assert f"<style>{css}</style>" in text and f"<script>{script}</script>" in text
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    policy = policy.replace("&#x27;", "'")
    assert f"style-src {sha256(css)};" in policy and f"script-src {sha256(script)};" in policy
    assert "default-src 'none'" in policy and "a &lt;title&gt;" in text


def test_tables_escape_every_cell():
    frame = pd.DataFrame({"<b>": ["<script>x</script>", 1.5], "n": [1, None]})
    table = htmlpage.html_table(frame, sorted_by=("n", "descending"))
    assert "<script>" not in table and "&lt;script&gt;" in table and "&lt;b&gt;" in table
    assert 'aria-sort="descending"' in table
    # numbers sort by their full value; a missing one is empty (it sorts last)
    assert '<td class="num" data-v="1.5">1.5</td>' in table and '<td class="num" data-v=""></td>' in table

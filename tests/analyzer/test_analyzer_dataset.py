import pytest

from apps.analyzer.dataset import load_split, resolve_data_dir


def test_eval_split_is_ids_divisible_by_five_and_disjoint_from_training(data_dir):
    splits = {name: load_split(data_dir, name) for name in ("fit", "validation", "eval")}
    ids = {name: {t.id for t in tweets} for name, tweets in splits.items()}
    assert all(i % 5 == 0 for i in ids["eval"]) and len(ids["eval"]) == 1569
    assert not any(i % 5 == 0 for i in ids["fit"] | ids["validation"])
    assert not ids["fit"] & ids["validation"]
    assert len(ids["fit"]) + len(ids["validation"]) == 7613 - 1569


def test_missing_data_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="labeled.csv"):
        resolve_data_dir(tmp_path / "nowhere")

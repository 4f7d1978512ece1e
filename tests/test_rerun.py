"""Students re-run cells in odd orders: stale tables are named, with the cells to re-run (a real kernel)."""
import pytest

from kernel import CellError, LabKernel

SETTINGS = 'MAX_TWEETS = {n}\nMODEL_SOURCE = "offline"\nWANDB_MODE = "disabled"\n'


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    k = LabKernel(tmp_path_factory.mktemp("rerun"))
    k.run_cells("DATA_PATH = None")
    k.run(SETTINGS.format(n=120))
    k.run_cells("import lab4_helpers as lab", "tweets, dropped = lab.load_tweets", "tweets = lab.add_slice_metadata",
                "def example_question_with_negation", "models = lab.load_models", "df_eval = lab.build_eval_table")
    yield k
    k.close()


def test_step2_rerun_with_another_sample_then_step5_says_rerun_step4(kernel):
    kernel.run(SETTINGS.format(n=60))
    kernel.run_cells("tweets, dropped = lab.load_tweets", "tweets = lab.add_slice_metadata")
    with pytest.raises(CellError) as err:
        kernel.run_cells("df_eval = lab.build_eval_table")
    assert err.value.ename == "StaleInputError"
    assert "120 tweets" in err.value.evalue and "60 other" in err.value.evalue
    assert "re-run Step 4 (lab.run_models)" in err.value.evalue
    # doing what it says fixes it, and n is the new one
    kernel.run_cells("models = lab.load_models", "df_eval = lab.build_eval_table")
    assert kernel.run("len(df_eval)").strip() == "60"


def test_column_added_after_step4_names_the_cells_to_rerun(kernel):
    kernel.run('tweets["has_digit"] = tweets["text"].str.contains(r"\\d")\n'
               '@lab.add_slice(slices)\ndef with_digit(df):\n    "Tweets with a digit."\n    return df.has_digit\n')
    with pytest.raises(CellError) as err:
        kernel.run_cells("slice_metrics = lab.slice_metrics")
    assert err.value.ename == "MissingColumnError"
    assert "'with_digit' uses column 'has_digit'" in err.value.evalue
    assert "re-run Steps 4-5" in err.value.evalue
    assert len(err.value.evalue) < 600  # a hint, not a list of every column
    kernel.run_cells("models = lab.load_models", "df_eval = lab.build_eval_table", "slice_metrics = lab.slice_metrics")

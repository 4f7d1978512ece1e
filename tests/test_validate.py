"""The one column checker: suggestions name only keyword arguments the called function really takes."""
import inspect
import re

import pandas as pd
import pytest

import lab4_helpers as lab


def _suggested_options(message):
    return re.findall(r"pass (\w+)=", message)


@pytest.mark.parametrize("call, function", [
    (lambda: lab.build_eval_table(pd.DataFrame({"text": ["a"], "label": ["neutral"], "model": ["baseline"],
                                                "prediction": ["neutral"]})), lab.build_eval_table),
    (lambda: lab.add_slice_metadata(pd.DataFrame({"tweet": ["a"]})), lab.add_slice_metadata),
    (lambda: lab.run_models(pd.DataFrame({"tweet": ["a"]}), {}), lab.run_models),
])
def test_suggestions_are_real_options(call, function):
    with pytest.raises(lab.MissingColumnError) as err:
        call()
    taken = set(inspect.signature(function).parameters)
    assert set(_suggested_options(str(err.value))) <= taken, str(err.value)
    assert "rename" in str(err.value)


def test_load_tweets_suggests_its_real_options(write_csv):
    with pytest.raises(lab.MissingColumnError, match=r"rename 'tweet' to 'text' or pass text_column='tweet'"):
        lab.load_tweets(write_csv("tweet,label\nhi,positive\n"), verbose=False)


def test_eval_table_says_which_step_rebuilds_it():
    with pytest.raises(lab.MissingColumnError, match=r"missing column 'pred'.*lab.run_models \(Step 4\)"):
        lab.build_eval_table(pd.DataFrame({"text": ["a"], "label": ["neutral"], "model": ["baseline"]}))

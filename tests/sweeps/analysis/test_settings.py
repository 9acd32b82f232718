"""Analysis settings changed from the command line (``python -m sweeps.report --set``)."""

from __future__ import annotations

import pytest

from sweeps.analysis.settings import AnalysisSettings, apply_overrides


def test_overrides_change_the_logged_settings_and_keep_the_rest():
    logged = {"n_permutations": 2000, "alpha": 0.01, "aso": {"enabled": True, "n_bootstrap": 50}}
    changed = apply_overrides(logged, ["n_permutations=auto", "aso.enabled=false"])
    settings = AnalysisSettings.from_config(changed)
    assert settings.n_permutations == "auto" and settings.alpha == 0.01
    assert settings.aso.enabled is False and settings.aso.n_bootstrap == 50
    assert logged["aso"]["enabled"] is True  # the logged config is not modified


@pytest.mark.parametrize(
    "override", ["n_permutations", "nope=1", "aso=false", "aso.nope=1", "aso.enabled=fals", "x.alpha=1"]
)
def test_a_bad_override_is_one_error_naming_it(override):
    with pytest.raises(ValueError, match="--set"):
        apply_overrides({}, [override])

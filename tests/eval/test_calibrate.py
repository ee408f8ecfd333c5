"""Agreement statistics used to report the verifier's calibration."""

from __future__ import annotations

import pytest

from eval.calibrate import agreement


def test_kappa_is_one_for_perfect_agreement_and_zero_for_chance():
    assert agreement([True, False, True, False], [True, False, True, False]).kappa == 1.0
    # always answering "supported" on a balanced set agrees half the time, by chance only
    assert agreement([True, False, True, False], [True, True, True, True]).kappa == pytest.approx(
        0.0
    )


def test_agreement_by_hand():
    labels = [True, True, True, False, False, False, False, True]
    preds = [True, True, False, False, False, True, False, True]
    a = agreement(labels, preds)
    # po = 6/8; p(yes) = 4/8 * 4/8 = .25; p(no) = .25; pe = .5; kappa = (.75-.5)/.5 = .5
    assert a.accuracy == 0.75 and a.kappa == pytest.approx(0.5)
    assert a.precision == 0.75 and a.recall == 0.75

"""Rich display (issue 17): a result shows its system, batch shape, time grid, dtype, status counts and
parameters, as text (``__repr__``) and in Jupyter (``_repr_html_``), instead of a wall of arrays;
a sweep's Dataset carries its status counts in a readable attribute."""

import json

import numpy as np

import ssl_odes

# 6 x 2 trajectories of 201 points: an array dump would run to tens of thousands of characters.
P0 = np.linspace(-0.5, 1.5, 6)


def _result():
    # p0 < 0 with s0 = 0 and tau0 = 1: tau -> infinity in finite time (002 Eq 13, s = 0, p < 0), so
    # the status counts hold more than "ok".
    return ssl_odes.simulate_byol_modes(P0[:, None], np.array([0.0, 0.3]), tau0=1.0, eta=0.01, t1=30.0, num_points=201,
                                       max_steps=2000)


def test_trajectory_repr_and_html_show_the_summary_not_the_arrays():
    res = _result()
    counts = res.status_counts()
    assert sum(counts.values()) == 12 and set(counts) - {"ok"}, counts  # some trajectory failed
    text, html = repr(res), res._repr_html_()
    for shown in (text, html):
        assert "byol_modes" in shown  # the system
        assert "(6, 2)" in shown  # the batch shape
        assert "201 points, t = 0 .. 30" in shown  # the time grid
        assert "float64" in shown  # the dtype (tests run in float64)
        for name, count in counts.items():  # the status counts
            assert name in shown and str(count) in shown
        assert "eta=0.01" in shown and "p0=[-0.5 .. 1.5] shape (6, 1)" in shown  # parameters, batched ones as a range
        assert "tsit5" in shown  # the settings
        # No array dump: a summary of a dozen lines, whatever the size of the result.
        assert len(shown) < 1500 and "array(" not in shown and "[[" not in shown
    assert html.startswith("<div>") and "<table>" in html and "<th" in html


def test_sweep_dataset_carries_its_status_counts_in_a_readable_attribute():
    ds = ssl_odes.sweep(ssl_odes.simulate_byol_modes, {"p0": [-0.5, 0.5], "s0": [0.0, 0.3]}, tau0=1.0, eta=0.01,
                        t1=30.0, max_steps=2000, progress=False)
    counts = json.loads(ds.attrs["status_counts"])
    # Counted independently of the attribute, from the status variable and its flag meanings.
    meanings = ds["status"].attrs["flag_meanings"].split()
    values = list(ds["status"].attrs["flag_values"])
    expected = {}
    for code in np.asarray(ds["status"].values).ravel():
        name = meanings[values.index(int(code))]
        expected[name] = expected.get(name, 0) + 1
    assert counts == expected and sum(counts.values()) == 4 and set(counts) - {"ok"}
    assert "status_counts" in repr(ds) and "status_counts" in ds._repr_html_()

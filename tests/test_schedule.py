from repro.schedule import evaluation_steps


def test_every_and_log_points():
    assert evaluation_steps(100, every=25) == [0, 25, 50, 75, 100]
    steps = evaluation_steps(1000, log_points=4)
    assert steps == [0, 1, 10, 100, 1000]
    assert evaluation_steps(7) == [0, 7]

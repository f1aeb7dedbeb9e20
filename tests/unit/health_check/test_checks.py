"""Each check on its own, with psutil's figures and the resolver injected."""

import socket

import pytest

from health_check_support import FakeProbe

DEFAULT_SUBJECTS = {
    "cpu": "Error - CPU usage is over 80%",
    "disk /": "Error - Available disk space is less than 20%",
    "memory": "Error - Available memory is less than 500MB",
    "localhost": "Error - localhost cannot be resolved to 127.0.0.1",
}


def results_by_name(hc, settings, probe):
    return {result.name: result for result in hc.run_checks(hc.planned_checks(settings), probe)}


def failing(hc, settings, probe):
    return sorted(name for name, result in results_by_name(hc, settings, probe).items() if result.failed)


def test_a_healthy_host_passes_every_check(hc, settings, probe):
    assert failing(hc, settings, probe) == []


def test_defaults_give_the_contracts_subjects_exactly(hc, settings):
    problems = {name: problem for name, problem, _measure in hc.planned_checks(settings)}
    assert {name: "Error - " + problem for name, problem in problems.items()} == DEFAULT_SUBJECTS


def test_subjects_name_the_configured_thresholds(hc, make_settings):
    settings = make_settings(cpu_percent_max=90.5, disk_free_percent_min=10, memory_available_mb_min=100,
                             disk_mounts=["/", "/var"])
    problems = [problem for _name, problem, _measure in hc.planned_checks(settings)]
    assert problems == ["CPU usage is over 90.5%", "Available disk space is less than 10%",
                        "Available disk space is less than 10% on /var", "Available memory is less than 100MB",
                        "localhost cannot be resolved to 127.0.0.1"]


@pytest.mark.parametrize("usage, fails", [(79.9, False), (80.0, False), (80.1, True), (100.0, True)])
def test_cpu_fails_over_the_maximum(hc, settings, usage, fails):
    assert failing(hc, settings, FakeProbe(cpu=usage)) == (["cpu"] if fails else [])


def test_cpu_is_measured_over_the_configured_interval_not_the_first_call(hc, make_settings, probe):
    results_by_name(hc, make_settings(cpu_interval_seconds=2.5), probe)
    assert probe.cpu_intervals == [2.5]


def test_cpu_is_measured_over_a_real_interval_by_default(hc):
    assert hc.SETTINGS["cpu_interval_seconds"][1] > 0


@pytest.mark.parametrize("free, fails", [(500, False), (200, False), (199, True), (0, True)])
def test_disk_fails_when_the_free_share_is_below_the_minimum(hc, settings, free, fails):
    assert failing(hc, settings, FakeProbe(disks={"/": (1000, free)})) == (["disk /"] if fails else [])


def test_every_configured_mount_is_checked_on_its_own(hc, make_settings):
    probe = FakeProbe(disks={"/": (1000, 900), "/srv": (1000, 50)})
    results = results_by_name(hc, make_settings(disk_mounts=["/", "/srv"]), probe)
    assert (results["disk /"].failed, results["disk /srv"].failed) == (False, True)
    assert results["disk /srv"].reading == "5.0% free"


@pytest.mark.parametrize("available, fails", [(4096, False), (500, False), (499, True)])
def test_memory_reads_available_not_free(hc, settings, available, fails):
    assert failing(hc, settings, FakeProbe(memory_mb=available)) == (["memory"] if fails else [])


@pytest.mark.parametrize("answer, reading", [
    ("127.0.1.1", "resolves to 127.0.1.1"),
    (socket.gaierror(-2, "Name or service not known"), "lookup failed: [Errno -2] Name or service not known"),
])
def test_localhost_is_unhealthy_when_it_does_not_resolve_to_127_0_0_1(hc, settings, answer, reading):
    result = results_by_name(hc, settings, FakeProbe(localhost=answer))["localhost"]
    assert (result.failed, result.reading) == (True, reading)


def test_one_failing_check_never_hides_another(hc, settings):
    probe = FakeProbe(cpu=99, disks={"/": (1000, 10)}, memory_mb=10, localhost=socket.gaierror(-2, "no"))
    assert failing(hc, settings, probe) == ["cpu", "disk /", "localhost", "memory"]


def test_a_check_that_cannot_measure_fails_without_stopping_the_others(hc, make_settings):
    results = results_by_name(hc, make_settings(disk_mounts=["/", "/missing"]), FakeProbe())
    assert results["disk /missing"].failed and results["disk /missing"].reading.startswith("cannot be measured")
    assert not results["disk /"].failed and not results["memory"].failed


def test_the_real_probe_reads_this_machine(hc, make_settings):
    results = results_by_name(hc, make_settings(cpu_interval_seconds=0.1), hc.SystemProbe())
    assert set(results) == {"cpu", "disk /", "memory", "localhost"}
    assert results["localhost"].reading == "resolves to 127.0.0.1"

"""The WeChat bench's options and the shape of its results (no timing is checked here)."""

from __future__ import annotations

import argparse

import pytest

from bench.wechat_bench import configurations, finish, table_row, worker_counts


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=worker_counts)
    parser.add_argument("--nginx", action="store_true")
    return parser.parse_args(list(argv))


def test_one_configuration_per_worker_count_then_the_two_instances_behind_nginx() -> None:
    assert configurations(parse("--workers", "1,2", "--nginx")) == [
        {"workers": 1, "instances": 1}, {"workers": 2, "instances": 1},
        {"workers": 1, "instances": 2}]
    assert configurations(parse("--nginx")) == [{"workers": 1, "instances": 2}]


def test_without_the_options_the_bench_keeps_the_embedded_set_up() -> None:
    assert configurations(parse()) == []


@pytest.mark.parametrize("bad", ["", "0", "1,x", "2,-1", "1,,2"])
def test_a_bad_worker_list_is_refused_in_both_languages(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as error:
        worker_counts(bad)
    assert "正整数" in str(error.value) and "positive" in str(error.value)


def run(channel: str, requests: int, seconds: float, p99: int, duplicates: int = 0) -> dict:
    result = {"channel": channel, "requests": requests, "errors": 0, "seconds": seconds,
              "p50_ms": p99 // 2, "p99_ms": p99, "duplicates": duplicates,
              "turns_sent": requests + 2, "senders": {f"{channel}:x": requests + 2}}
    if channel == "wechat":
        result.update(http_p99_ms=p99, http_max_ms=p99 + 1)
    return result


def test_each_configuration_keeps_todays_keys_with_its_workers_and_cpu_per_turn() -> None:
    args = argparse.Namespace(users=10, messages=5, rounds=1)
    results = [run("rest", 50, 5.0, 900), run("wechat", 50, 10.0, 1200, duplicates=1)]
    summary = finish({"workers": 2, "instances": 1}, results, 10.4, args)
    assert summary["rest_rps"] == 10.0 and summary["wechat_rps"] == 5.0
    assert summary["wechat_over_rest"] == 0.5
    assert summary["wechat_p99_ms"] == 1200 and summary["rest_p99_ms"] == 900
    assert summary["wechat_http_max_ms"] == 1201
    assert summary["workers"] == 2 and summary["instances"] == 1
    assert summary["turns"] == 104 and summary["cpu_ms_per_turn"] == 100.0
    assert summary["duplicates"] == 1 and summary["errors"] == 0
    assert all("senders" not in r for r in results)  # per-sender counts stay out of the file
    assert table_row({**summary, "tracker_duplicates": 0}).startswith("| 2 workers | 10.0 |")

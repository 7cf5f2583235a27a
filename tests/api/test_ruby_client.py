"""examples/rails/: the Ruby client against a live service and a down one, and every Rails file
parses (needs `ruby`, which `make test` installs)."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import AUTH, make_settings, running_server
from tests.data import World, client_world

RAILS = Path(__file__).resolve().parents[2] / "examples" / "rails"
CLIENT = RAILS / "lib" / "recommendation_client.rb"
SCRIPT = """
require ARGV[0]
client = RecommendationClient.new(base_url: ARGV[1], username: ARGV[2], password: ARGV[3])
out = {}
out["profile"] = client.sync_user_profile(ARGV[4], gender: "female", age_group: "25-34", locale: "en")
out["popular"] = client.get_popular_items(user_params: { gender: "female", age: "25-34" },
                                          pagination: { page: 1, limit: 3 })
out["personalized"] = client.get_personalized_recommendations(user_id: ARGV[5], pagination: { limit: 3 })
out["facets"] = client.get_facets
out["popular_filtered"] = client.get_popular_items(filters: { categories: ["BOOKS", "nope"] },
                                                   exclude: [ARGV[7]], max_per_category: 2,
                                                   pagination: { limit: 2 })
out["similar"] = client.get_similar_items(present_id: ARGV[7], user_id: ARGV[5], pagination: { limit: 2 })
begin
  client.get_similar_items(present_id: ARGV[6])
rescue RecommendationClient::Error => e
  out["no_such_present"] = e.status
end
dismissed = out["similar"]["items"][0]
out["dismissed"] = client.dismiss_present(user_id: ARGV[5], present_id: dismissed)
out["after_dismissal"] = client.get_similar_items(present_id: ARGV[7], user_id: ARGV[5])["items"]
out["undone"] = client.undo_dismissal(user_id: ARGV[5], present_id: dismissed)
out["after_undo"] = client.get_similar_items(present_id: ARGV[7], user_id: ARGV[5])["items"]
out["patched"] = client.patch_user_profile(ARGV[4], locale: nil, geo_id: 7)
out["fetched"] = client.get_user_profile(ARGV[4], request_id: "rails-req-1")
port = lambda do |c|
  kept = Thread.current[c.instance_variable_get(:@connection_key)]
  kept.instance_variable_get(:@socket).io.local_address.ip_port
end
out["ports"] = [port.call(client)]
begin
  client.sync_user_profile(ARGV[4], gender: "robot", geo_id: -1, request_id: "rails-req-2")
rescue RecommendationClient::Error => e
  out["error"] = { "status" => e.status, "detail" => e.detail, "request_id" => e.request_id,
                   "errors" => e.errors }
end
out["ports"] << port.call(client)
begin
  client.get_user_profile(ARGV[6])
rescue RecommendationClient::Error => e
  out["missing"] = { "class" => e.class.name, "status" => e.status }
end
threads = 4.times.map { Thread.new { client.get_popular_items(pagination: { limit: 1 })["items"] } }
out["threads"] = threads.map(&:value)
out["erased"] = client.erase_user_profile(ARGV[5])
puts JSON.generate(out)
"""


def test_the_ruby_client_talks_to_the_live_service(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (make test installs the Debian package ruby)")
    main, recs = databases
    presents, fan = client_world(World(main, recs))
    newcomer = uuid.uuid4()
    with running_server(make_settings(redis_url)) as (base_url, _):
        done = subprocess.run(
            [ruby, "-e", SCRIPT, str(CLIENT), base_url, AUTH[0], AUTH[1], str(newcomer), str(fan),
             str(uuid.uuid4()), str(presents[0])],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    out = json.loads(done.stdout)
    assert out["profile"]["demographics"]["gender"] == "f" and out["profile"]["user_id"] == str(newcomer)
    assert out["popular"]["items"] == [str(present) for present in presents[:3]]
    assert out["popular"]["pagination"]["limit"] == 3 and out["popular"]["cache_hit"] is False
    assert out["personalized"]["items"] and not set(out["personalized"]["items"]) & set(
        map(str, presents[:4])
    )
    assert out["similar"]["algorithm_used"] == "similar" and len(out["similar"]["items"]) == 2
    assert not set(out["similar"]["items"]) & set(map(str, presents[:4]))  # the fan took those
    assert out["no_such_present"] == 404
    assert out["facets"]["categories"] == [{"name": "books", "presents": 6}]
    filtered = out["popular_filtered"]
    assert filtered["items"] == [str(presents[1]), str(presents[2])]  # presents[0] excluded
    assert [warning["value"] for warning in filtered["warnings"]] == ["nope"]
    dismissed = out["similar"]["items"][0]
    assert out["dismissed"]["present_id"] == dismissed and out["dismissed"]["kind"] == "dismiss"
    assert dismissed not in out["after_dismissal"] and dismissed in out["after_undo"]
    assert out["undone"] == {}
    assert out["error"]["status"] == 422 and "gender" in out["error"]["detail"]
    assert out["error"]["request_id"] == "rails-req-2"  # forwarded as X-Request-ID
    assert {error["field"] for error in out["error"]["errors"]} == {"gender", "geo_id"}
    patched = out["patched"]["demographics"]
    assert (patched["gender"], patched["age_group"], patched["locale"], patched["geo_id"]) == (
        "f",
        "25-34",
        None,
        7,
    )
    assert out["fetched"] == out["patched"]
    assert out["ports"][0] == out["ports"][1]  # one kept connection for every call of the thread
    assert out["missing"] == {"class": "RecommendationClient::Error", "status": 404}
    assert out["threads"] == [[str(presents[0])]] * 4
    stored = recs.execute(
        "SELECT d.gender, d.age_group FROM recs.user_demographics d JOIN recs.users u USING (user_key)"
        " WHERE u.user_id = %s",
        (newcomer,),
    ).fetchone()
    assert stored == ("f", "25-34")  # the PATCH kept what it did not name
    assert out["erased"] == {}  # 204, no body
    assert recs.execute("SELECT count(*) FROM recs.users WHERE user_id = %s", (fan,)).fetchone() == (0,)


DOWN_SCRIPT = """
require ARGV[0]
client = RecommendationClient.new(base_url: ARGV[1], username: "rails", password: "x" * 16, open_timeout: 1)
begin
  client.get_popular_items
rescue RecommendationClient::Error => e
  puts JSON.generate({ "class" => e.class.name, "status" => e.status, "message" => e.message })
end
"""


def test_a_down_service_is_one_error_class_for_rails(free_tcp_port: int) -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (make test installs the Debian package ruby)")
    done = subprocess.run(
        [ruby, "-e", DOWN_SCRIPT, str(CLIENT), f"http://127.0.0.1:{free_tcp_port}"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    out = json.loads(done.stdout)
    assert out["class"] == "RecommendationClient::Unavailable" and out["status"] is None
    assert "ECONNREFUSED" in out["message"] or "refused" in out["message"].lower()


def test_a_service_that_never_answers_is_unavailable_after_the_read_timeout() -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (make test installs the Debian package ruby)")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    script = DOWN_SCRIPT.replace("open_timeout: 1)", "open_timeout: 1, read_timeout: 0.5)")
    try:
        done = subprocess.run(
            [ruby, "-e", script, str(CLIENT), f"http://127.0.0.1:{silent.getsockname()[1]}"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
    finally:
        silent.close()
    out = json.loads(done.stdout)
    assert out["class"] == "RecommendationClient::Unavailable" and out["status"] is None
    assert "ReadTimeout" in out["message"]


class _ProxyErrorPage(http.server.BaseHTTPRequestHandler):
    """What a proxy in front of a down service answers: an HTML 502."""

    def do_POST(self) -> None:
        body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


def test_a_proxys_html_error_page_is_an_error_not_a_parse_failure() -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (make test installs the Debian package ruby)")
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ProxyErrorPage)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [ruby, "-e", DOWN_SCRIPT, str(CLIENT), f"http://127.0.0.1:{proxy.server_address[1]}"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
    finally:
        proxy.shutdown()
    out = json.loads(done.stdout)
    assert out["class"] == "RecommendationClient::Error" and out["status"] == 502
    assert "502 Bad Gateway" in out["message"]


def test_every_rails_example_parses() -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (make test installs the Debian package ruby)")
    files = sorted(RAILS.rglob("*.rb"))
    assert len(files) >= 6
    for path in files:
        done = subprocess.run([ruby, "-c", str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, (path, done.stderr)

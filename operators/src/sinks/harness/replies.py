# What every harness file maflow writes shares: the prompt a model is shown,
# the reading of its reply as maflow reads it (crate::language::answers), and
# the judging of open answers with maflow's rubrics. harness-export puts this
# text into each file at the line `# <maflow: replies>`, so that every file
# stands alone in the harness that loads it.

LETTERS = ["A", "B", "C", "D", "E", "F", "G"]
TASKS = ["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "MADU", "MARE"]
CLOSED = {"CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR"}
OPEN = {"MADU", "MARE"}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "prompts.json"), encoding="utf-8") as f:
    PROMPTS = json.load(f)


def prompt_text(doc):
    """The responder's instruction for the item's task, the question and the lettered options."""
    text = PROMPTS["respond"][doc["task"]] + "\n\n" + doc["question"]
    for letter, option in zip(LETTERS, doc["options"]):
        text += f"\n{letter}. {option}"
    return text


def _alnum(c):
    return c.isalnum()


def parse_option(reply, options):
    letters = LETTERS[: min(len(options), len(LETTERS))]
    clean = "".join(c if _alnum(c) else " " for c in reply)
    for word in clean.split():
        if word in letters:
            return word
    lower = reply.lower()
    hits = [(i, o) for i, o in enumerate(options) if o.lower() in lower]
    hits.sort(key=lambda h: -len(h[1]))
    if not hits:
        return None
    best = hits[0]
    if all(o.lower() in best[1].lower() for _, o in hits[1:]):
        return letters[best[0]]
    return None


def parse_yes_no(reply):
    for word in re.split(r"[^\w]|_", reply.lower()):
        if word in ("yes", "no"):
            return word
    return None


def parse_label_line(reply):
    for line in reversed(reply.splitlines()):
        if "|" not in line:
            continue
        left, right = line.split("|", 1)
        if "]" not in left or "]" not in right:
            continue
        level = left.split("]", 1)[1].strip().strip('*"')
        action = right.split("]", 1)[1].strip().strip('*".')
        if level and action:
            return level, action
    return None


def parse(doc, reply):
    """The answer maflow reads from a reply: a letter, yes/no, the label pair, or the text."""
    task = doc["task"]
    if task in ("CMAR", "FMAR"):
        return parse_option(reply, doc["options"])
    if task == "MADU":
        return reply.strip()
    if task == "MARE":
        return parse_label_line(reply)
    return parse_yes_no(reply)


def closed_accuracy(doc, reply):
    """100 when the reply reads as the item's answer, else 0."""
    return 100.0 if parse(doc, reply) == doc["answer"] else 0.0


def judge_configured():
    return bool(os.environ.get("MAFLOW_JUDGE_BASE_URL") and os.environ.get("MAFLOW_JUDGE_MODEL"))


def _first_json_object(reply):
    start = reply.find("{")
    if start < 0:
        raise ValueError("the judge's reply holds no JSON object")
    value, _ = json.JSONDecoder().raw_decode(reply[start:])
    if not isinstance(value, dict):
        raise ValueError("the judge's JSON is not an object")
    return value


def judge(doc, answer):
    """L1..L3 of an open answer, from the endpoint with maflow's rubric."""
    base = os.environ.get("MAFLOW_JUDGE_BASE_URL")
    model = os.environ.get("MAFLOW_JUDGE_MODEL")
    if not base or not model:
        raise RuntimeError(
            f"{doc['id']}: {doc['task']} is judged by an LLM: set MAFLOW_JUDGE_BASE_URL and MAFLOW_JUDGE_MODEL "
            "(and MAFLOW_JUDGE_API_KEY), or score the closed tasks only"
        )
    prompt = PROMPTS["judge"][doc["task"]]
    for key, value in (("question", doc["question"]), ("reference", doc["reference"]), ("answer", answer)):
        prompt = prompt.replace("{{" + key + "}}", value)
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": 0,
            "response_format": {"type": "json_object"}}
    request = urllib.request.Request(base.rstrip("/") + "/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    if os.environ.get("MAFLOW_JUDGE_API_KEY"):
        request.add_header("Authorization", "Bearer " + os.environ["MAFLOW_JUDGE_API_KEY"])
    with urllib.request.urlopen(request, timeout=120) as response:
        reply = json.load(response)["choices"][0]["message"]["content"]
    scores = _first_json_object(reply)
    out = {}
    for k in (1, 2, 3):
        v = scores.get(f"L{k}_score")
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 5:
            raise ValueError(f"{doc['id']}: the judge's L{k}_score is not an integer 0 to 5: {reply[:200]}")
        out[f"L{k}"] = float(v)
    return out

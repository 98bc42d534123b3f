"""Prompts and scoring of a maflow benchmark in lmms-eval.

Replies are parsed as maflow parses them: an option letter (a lone capital
letter naming an option, else the text of exactly one option), the first
yes or no, or the MARE label line. Closed tasks score accuracy in percent;
MADU and MARE are judged L1..L3 (0..5) by an OpenAI-compatible endpoint
with maflow's rubrics (``MAFLOW_JUDGE_BASE_URL``, ``MAFLOW_JUDGE_MODEL``,
``MAFLOW_JUDGE_API_KEY``). Written by maflow's ``harness-export``.
"""

import json
import os
import re
import urllib.request

# <maflow: replies>


def doc_to_visual(doc):
    return [doc["video"]]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return prompt_text(doc)


def process_results(doc, results):
    reply = results[0] if results else ""
    if doc["task"] in CLOSED:
        return {"accuracy": closed_accuracy(doc, reply)}
    return judge(doc, reply.strip())

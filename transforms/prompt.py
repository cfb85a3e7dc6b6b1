"""The IDP prompt and caption parsing: pure functions, no model needed."""
from __future__ import annotations

import hashlib

DEFAULT_PROMPT = (
    "The first image was taken before an action and the second image after it. "
    "What action turned the first image into the second? "
    "Answer with a short imperative phrase, such as 'open the drawer'.")


def prompt_id(prompt: str) -> str:
    """A short id that is stable across runs and machines, for caption provenance."""
    return "p" + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:8]


def build_messages(prompt: str) -> list[dict]:
    """One user turn: the before image, then the after image, then the question."""
    return [{
        "role": "user",
        "content": [
            {"type": "image"},  # before
            {"type": "image"},  # after
            {"type": "text", "text": prompt},
        ],
    }]


def render_prompt(processor, prompt: str) -> str:
    """The prompt as model text, with one image placeholder per image, ready for generation."""
    if getattr(processor, "chat_template", None):
        return processor.apply_chat_template(
            build_messages(prompt), add_generation_prompt=True, tokenize=False)
    image_token = getattr(processor, "image_token", None)
    if not image_token:
        # Without a placeholder the processor cannot tell where the images go; guessing one
        # would silently caption without images.
        raise ValueError(
            f"{type(processor).__name__} has neither a chat template nor an image_token")
    return f"{image_token}\n{image_token}\n{prompt}\n"


def parse_action(text: str) -> str:
    """The action phrase from a model's raw answer: first line, no quotes, no final period."""
    lines = text.strip().splitlines()
    action = lines[0].strip() if lines else ""
    # Control characters (a NUL from a byte-level tokenizer, say) break one-line text readers.
    action = "".join(char for char in action if char.isprintable())
    # Models write both '"open the drawer."' and '"open the drawer".': unwrap either way.
    for _ in range(2):
        if action.endswith("."):
            action = action[:-1].rstrip()
        if len(action) >= 2 and action[0] == action[-1] and action[0] in "\"'`":
            action = action[1:-1].strip()
    return action

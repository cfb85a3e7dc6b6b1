"""The IDP prompt and caption parsing: pure functions, no model needed."""
from __future__ import annotations

import hashlib
from typing import Optional

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


# The documented prompt format of families whose processors have no chat template. `{image}`
# is the processor's image placeholder (the before image's, then the after image's), `{prompt}`
# the instruction.
DOCUMENTED_TEMPLATES = {
    # big_vision's PaliGemma format, "<image><image><bos>PROMPT\n": the processor itself puts
    # <bos> after the last image and the newline after the prompt.
    "PaliGemmaProcessor": "{image}{image}{prompt}",
    # Chameleon's documented multi-image prompts place "<image>" where each image goes in the
    # text; the processor appends the separator token that opens the answer.
    "ChameleonProcessor": "{image}{image}{prompt}",
}


def check_template(template: str) -> None:
    """A --prompt-template has the two images and the prompt, each placeholder as many times."""
    counts = (template.count("{image}"), template.count("{prompt}"))
    if counts != (2, 1):
        raise ValueError(
            "a prompt template needs '{image}' twice (before, then after) and '{prompt}' once, "
            f"got {counts[0]} and {counts[1]} in {template!r}")


def render_prompt(processor, prompt: str, template: Optional[str] = None) -> str:
    """The prompt as model text, with one image placeholder per image, ready for generation:
    `template` where given, else the processor's chat template, else the family's documented
    format."""
    image_token = getattr(processor, "image_token", None)
    if template is None and getattr(processor, "chat_template", None):
        return processor.apply_chat_template(
            build_messages(prompt), add_generation_prompt=True, tokenize=False)
    template = template or DOCUMENTED_TEMPLATES.get(type(processor).__name__)
    if template is None:
        # A guessed format would caption, but not as the model was trained to answer.
        raise ValueError(
            f"{type(processor).__name__} has no chat template and no documented prompt format "
            "known here: give one with --prompt-template, e.g. '{image}{image}{prompt}' "
            f"('{{image}}' stands for its image token {image_token!r})")
    check_template(template)
    if not image_token:
        # Without a placeholder the processor cannot tell where the images go; guessing one
        # would silently caption without images.
        raise ValueError(f"{type(processor).__name__} has no image_token to place the images")
    return template.replace("{image}", image_token).replace("{prompt}", prompt)


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
